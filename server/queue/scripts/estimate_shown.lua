#!lua
-- estimate_shown: what a waiting patient is told about their wait, kept on their
-- record and, when it changes, as an "estimate" event (the first is the visit's
-- estimate at join, the accuracy figures: server/records/visits.py).
-- ARGV: prefix, pid, known (1/0), low_min, high_min, expected_s, why (why it went up;
-- when not known, the reason: nobody_staffed, not_measured, beyond_range), staffed, place
-- Returns {1} when it changed (and was recorded), {0} when it was already shown.
-- Race closed: two processes pushing the same change. The compare and the write are
-- one script, so only the first records it.
local pid = ARGV[2]
local shown = table.concat({ARGV[3], ARGV[4], ARGV[5]}, ':')
local precord = kp(pid)
local state = hget(precord, 'state')
if not state or not QUEUED[state] then return {0} end
if hget(precord, 'est') == shown then return {0} end
local now = now_ms()
redis.call('HSET', precord, 'est', shown, 'est_why', ARGV[7], 'est_staffed', ARGV[8],
           'est_place', ARGV[9])
emit(now, 'estimate', {'patient', pid, 'queue', hget(precord, 'queue') or '',
                       'known', ARGV[3], 'low_min', ARGV[4], 'high_min', ARGV[5],
                       'expected_s', ARGV[6], 'why', ARGV[7]})
return {1}
