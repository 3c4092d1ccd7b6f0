#!lua flags=no-writes
-- places: one queue's patients in offer order, each with their state, in one round trip
-- (read only). The waiting room's quick push of new places reads it (server/ws/positions.py):
-- a patient's place is their index + 1, as positions.lua's ZRANK + 1.
-- ARGV: prefix, queue. Returns {pid, state, pid, state, ...}.
local out = {}
for _, pid in ipairs(redis.call('ZRANGE', kq(ARGV[2]), 0, -1)) do
  out[#out + 1] = pid
  out[#out + 1] = hget(kp(pid), 'state') or ''
end
return out
