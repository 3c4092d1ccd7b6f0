#!lua
-- finish: the agent ends the call; the patient is done, the agent wraps up.
-- ARGV: prefix, aid, reason
-- Returns {call_id, pid, queue, handle_ms}.
-- Race closed: both parties hanging up at once. Whoever's script runs second
-- finds no call (agent no longer in_call) and gets no_call, changing nothing.
local aid, reason = ARGV[2], ARGV[3]
local now = now_ms()
local akey = ka(aid)
local state = hget(akey, 'state')
if not state then return fail('unknown_agent') end
if state ~= 'in_call' then return fail('no_call') end
local q, cid, pid, handle = end_call(aid, now, 'done', 'wrap_up', reason)
record_handle_time(q, 'aht_ms', handle)
if q ~= '' then stat_incr(q, 'completed') end
return {cid or '', pid or '', q, tostring(handle)}
