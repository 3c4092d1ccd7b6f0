#!lua
-- party_rejoined: the patient's or the agent's page took the call again (a reload, a
-- reconnect) while it has guests: a new sequence number, so the guests' connections to
-- that page start afresh, the page making the offers.
-- ARGV: prefix, call_id, handle (patient or agent)
-- Returns {seq} (0 when the call has no guests: nothing to redo).
local gkey = kguests(ARGV[2])
if tonumber(hget(gkey, 'count') or '0') <= 0 then return {0} end
local seq = 1 + redis.call('HINCRBY', gkey, 'seq', 1)
redis.call('HSET', gkey, 'seq:' .. ARGV[3], seq)
return {seq}
