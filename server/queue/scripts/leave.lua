#!lua
-- leave: a patient leaves, from whatever state they are in (reason 'revoked': their
-- token was revoked, and a call in progress ends with that reason).
-- ARGV: prefix, pid, reason
-- Returns {previous_state, queue, agent, call}.
-- Race closed: leaving while an agent accepts. Both are scripts; whichever runs
-- first wins and the other sees the new state (accept then fails on the state
-- check, or leave ends the call that accept created).
local pid, reason = ARGV[2], ARGV[3]
local now = now_ms()
local precord = kp(pid)
local state = hget(precord, 'state')
if not state then return fail('unknown_patient') end
local q = hget(precord, 'queue')
local agent = hget(precord, 'agent') or ''
local call = hget(precord, 'call') or ''
if QUEUED[state] then
  dequeue(pid, q, hget(precord, 'language'))
  set_patient_state(pid, 'left', now)
  redis.call('ZREM', K_CBSCHED, pid)
  stat_incr(q, 'left')
  if reason == 'self_help' then stat_incr(q, 'self_help') end
  emit(now, 'left', {'patient', pid, 'queue', q, 'reason', reason, 'from', state})
elseif state == 'offered' then
  -- The agent's offer is withdrawn; the agent is free for the next patient.
  redis.call('ZREM', K_OFFERS, agent)
  redis.call('HDEL', ka(agent), 'offer_patient', 'offer_token', 'offer_deadline', 'offer_kind')
  set_agent_state(agent, 'available', now, '')
  set_patient_state(pid, 'left', now)
  redis.call('HSET', precord, 'agent', '')
  stat_incr(q, 'left')
  emit(now, 'left', {'patient', pid, 'queue', q, 'reason', reason, 'from', state,
                     'agent', agent})
elseif state == 'in_call' or state == 'on_hold' then
  -- The patient hung up: the call ends normally and the agent goes to wrap-up.
  local ended = 'patient_ended'
  if reason == 'revoked' then ended = 'revoked' end
  local _, _, _, handle = end_call(agent, now, 'done', 'wrap_up', ended)
  record_handle_time(q, 'aht_ms', handle)
else
  return {state, q, '', ''}
end
return {state, q, agent, call}
