#!lua
-- offer_next: offer the best waiting patient to one available agent.
-- ARGV: prefix, aid, offer_timeout_ms
-- Returns {} (nothing to offer) or {aid, pid, token, deadline_ms, kind, queue}.
-- Race closed: two agents taking the same patient. Picking the head and
-- removing it from the queue happen in one script, so a patient is offered to
-- at most one agent; the fencing token makes a late accept of an old offer fail.
local aid = ARGV[2]
local timeout = tonumber(ARGV[3])
local now = now_ms()
local state = hget(ka(aid), 'state')
if not state then return fail('unknown_agent') end
if state ~= 'available' then return fail('not_available') end
return offer_next_for(aid, now, timeout) or {}
