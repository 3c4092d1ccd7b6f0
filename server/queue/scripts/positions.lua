#!lua flags=no-writes
-- positions: where each patient stands, in one round trip (read only).
-- ARGV: prefix, then pids
-- Returns per pid: {state, queue, position (1-based, 0 if not queued),
--                   waiting_in_queue, staffed, available, ticket,
--                   callback_mode, returning, callback_slot, waited_ms, shown}
-- (each queue's average handling times are read by desk_now.lua, for the estimate)
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

for i = 2, #ARGV do
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
    info = {redis.call('ZCARD', kq(q)), redis.call('SCARD', kstaffed(q)),
            redis.call('ZCARD', kavail(q))}
    seen[q] = info
  end
  info = info or {0, 0, 0}
  out[#out + 1] = {state, q, position, info[1], info[2], info[3],
                   hget(precord, 'ticket') or '', hget(precord, 'callback_mode') or '',
                   hget(precord, 'returning') or '0',
                   hget(precord, 'callback_slot') or '0',
                   tostring(math.max(0, now - tonumber(hget(precord, 'joined_at') or now))),
                   shown(precord)}
end
return out
