#!lua flags=no-writes
-- positions: where each patient stands, in one round trip (read only).
-- ARGV: prefix, queues (comma list of every queue of the desk), then pids
-- Returns per pid: {state, queue, position (1-based, 0 if not queued),
--                   waiting_in_queue, staffed, available, aht_ms, awt_ms, ticket,
--                   callback_mode, returning, ahead_shared, callback_slot, waited_ms}
-- waited_ms: since the patient joined (by Redis time), for the waiting room's clock.
-- ahead_shared: patients of OTHER queues ahead of this one (lower score) who will
-- be served by agents this queue shares, weighted by the share of those queues'
-- agents who also serve this one. Tickets are desk-wide, so an agent serving two
-- queues takes the earlier patient of either: the estimate must count them.
local queues = split(ARGV[2])
local now = now_ms()
local out = {}
local seen = {}
local overlap = {}

-- Share of queue b's staffed agents who also staff queue a (0 when b is unstaffed).
local function shared(a, b)
  local key = a .. '|' .. b
  if overlap[key] == nil then
    local others = redis.call('SCARD', kstaffed(b))
    if others == 0 then
      overlap[key] = 0
    else
      overlap[key] = #redis.call('SINTER', kstaffed(a), kstaffed(b)) / others
    end
  end
  return overlap[key]
end

for i = 3, #ARGV do
  local pid = ARGV[i]
  local precord = kp(pid)
  local state = hget(precord, 'state') or ''
  local q = hget(precord, 'queue') or ''
  local position = 0
  local ahead_shared = 0
  if QUEUED[state] then
    local rank = redis.call('ZRANK', kq(q), pid)
    if rank then position = rank + 1 end
    local score = hget(precord, 'score')
    for _, other in ipairs(queues) do
      if other ~= q and score then
        local share = shared(q, other)
        if share > 0 then
          ahead_shared = ahead_shared + share * redis.call('ZCOUNT', kq(other), '-inf', '(' .. score)
        end
      end
    end
  end
  local info = seen[q]
  if not info and q ~= '' then
    local stats = kstats(q)
    info = {redis.call('ZCARD', kq(q)), redis.call('SCARD', kstaffed(q)),
            redis.call('ZCARD', kavail(q)), hget(stats, 'aht_ms') or '0',
            hget(stats, 'awt_ms') or '0'}
    seen[q] = info
  end
  info = info or {0, 0, 0, '0', '0'}
  out[#out + 1] = {state, q, position, info[1], info[2], info[3], info[4], info[5],
                   hget(precord, 'ticket') or '', hget(precord, 'callback_mode') or '',
                   hget(precord, 'returning') or '0', tostring(ahead_shared),
                   hget(precord, 'callback_slot') or '0',
                   tostring(math.max(0, now - tonumber(hget(precord, 'joined_at') or now)))}
end
return out
