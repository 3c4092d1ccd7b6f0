#!lua
-- accept: an agent accepts their offer; the call begins.
-- ARGV: prefix, aid, token, call_id, lease_ms, targets ("queue=ms,queue=ms": the
--       service-level target of each queue, from settings)
-- Returns {call_id, pid, queue, wait_ms, kind}.
-- Race closed: a double click, or an accept arriving after the offer expired
-- and the patient went to another agent. Only the current fencing token of an
-- unexpired offer is accepted; anything else is refused without any change.
local aid, token, cid = ARGV[2], ARGV[3], ARGV[4]
local lease = tonumber(ARGV[5])
local targets = {}
for _, item in ipairs(split(ARGV[6])) do
  local name, ms = string.match(item, '^([^=]+)=(%d+)$')
  if name then targets[name] = tonumber(ms) end
end
local now = now_ms()
local akey = ka(aid)
local state = hget(akey, 'state')
if not state then return fail('unknown_agent') end
if state ~= 'offered' or hget(akey, 'offer_token') ~= token then
  return fail('stale_offer')
end
-- The same boundary as expire_offers: at the deadline the offer has expired.
if now >= tonumber(hget(akey, 'offer_deadline')) then return fail('offer_expired') end
local pid = hget(akey, 'offer_patient')
local kind = hget(akey, 'offer_kind') or 'call'
local precord = kp(pid)
if hget(precord, 'state') ~= 'offered' or hget(precord, 'agent') ~= aid then
  return fail('stale_offer')
end
local q = hget(precord, 'queue')
local wait = now - tonumber(hget(precord, 'joined_at'))
redis.call('ZREM', K_OFFERS, aid)
redis.call('HDEL', akey, 'offer_patient', 'offer_token', 'offer_deadline', 'offer_kind')
redis.call('HSET', akey, 'patient', pid, 'call', cid)
set_agent_state(aid, 'in_call', now, '')
redis.call('HSET', precord, 'call', cid, 'offer_token', '', 'answered_at', now)
set_patient_state(pid, 'in_call', now)
redis.call('HSET', kc(cid), 'patient', pid, 'agent', aid, 'queue', q, 'kind', kind,
           'accepted_at', now, 'wait_ms', wait, 'ticket', hget(precord, 'ticket'))
redis.call('EXPIRE', kc(cid), RECORD_TTL)
redis.call('ZADD', K_LEASES, now + lease, 'a:' .. aid)
if hget(precord, 'returning') ~= '1' and (hget(precord, 'transfers') or '0') == '0' then
  -- Service level counts first answers only: wait from joining to this accept.
  stat_incr(q, 'answered')
  redis.call('HINCRBY', kstats(q), 'wait_ms_total', wait)
  if wait <= (targets[q] or 0) then stat_incr(q, 'answered_in_target') end
end
emit(now, 'accepted', {'patient', pid, 'agent', aid, 'queue', q, 'call', cid, 'kind', kind,
                       'wait_ms', wait, 'token', token})
return {cid, pid, q, tostring(wait), kind}
