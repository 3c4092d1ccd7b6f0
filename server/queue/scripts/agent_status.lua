#!lua
-- agent_status: an agent chooses available, away (with a reason) or offline.
-- ARGV: prefix, aid, status, reason, offer_timeout_ms
-- Returns {previous_state, queue_of_withdrawn_offer, offer...} where offer is
-- the next patient offered when the agent became available.
-- Race closed: "away" clicked while an offer arrives. The offer is withdrawn in
-- the same step (the patient keeps their place) instead of being lost.
local aid, status, reason = ARGV[2], ARGV[3], ARGV[4]
local timeout = tonumber(ARGV[5])
local now = now_ms()
local akey = ka(aid)
local state = hget(akey, 'state')
if not state then return fail('unknown_agent') end
if state == 'in_call' then return fail('in_call') end
-- An offline agent has no lease: they sign in again first (agent_signin).
if state == 'offline' and status ~= 'offline' then return fail('signed_out') end
if state == 'wrap_up' and status == 'available' then return fail('wrap_up_pending') end
if state == 'offered' and status == 'available' then return {state, ''} end
local requeued = ''
if state == 'offered' then
  requeued = withdraw_offer(aid, now, status, reason, 'offer_withdrawn', 'agent_' .. status) or ''
else
  set_agent_state(aid, status, now, reason)
end
if status == 'offline' then
  redis.call('ZREM', K_LEASES, 'a:' .. aid)
end
emit(now, 'agent_status', {'agent', aid, 'status', status, 'reason', reason, 'from', state})
local result = {state, requeued}
if status == 'available' then
  local offer = offer_next_for(aid, now, timeout)
  if offer then
    for _, v in ipairs(offer) do result[#result + 1] = v end
  end
end
return result
