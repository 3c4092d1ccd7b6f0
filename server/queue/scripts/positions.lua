#!lua flags=no-writes
-- positions: where each patient stands, in one round trip (read only).
-- ARGV: prefix, queues (comma list of every queue of the desk), then pids
-- Returns per pid: {state, queue, position (1-based, 0 if not queued),
--                   waiting_in_queue, staffed, available, aht_ms, awt_ms, ticket,
--                   callback_mode, returning, callback_slot, waited_ms, shown}
-- shown: what the patient was last told (estimate_shown.lua), as
-- "known:low:high:why:staffed:place", empty when nothing yet.
-- waited_ms: since the patient joined (by Redis time), for the waiting room's clock.
-- The wait estimate comes from desk_now.lua and server/queue/forecast.py.
local now = now_ms()
local out = {}

local function shown(precord)
  local est = hget(precord, 'est')
  if not est then return '' end
  return table.concat({est, hget(precord, 'est_why') or '', hget(precord, 'est_staffed') or '0',
                       hget(precord, 'est_place') or '0'}, ':')
end
local seen = {}

for i = 3, #ARGV do
  local pid = ARGV[i]
  local precord = kp(pid)
  local state = hget(precord, 'state') or ''
  local q = hget(precord, 'queue') or ''
  local position = 0
  if QUEUED[state] then
    local rank = redis.call('ZRANK', kq(q), pid)
    if rank then position = rank + 1 end
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
                   hget(precord, 'returning') or '0',
                   hget(precord, 'callback_slot') or '0',
                   tostring(math.max(0, now - tonumber(hget(precord, 'joined_at') or now))),
                   shown(precord)}
end
return out
