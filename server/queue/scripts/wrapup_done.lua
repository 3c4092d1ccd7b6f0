#!lua
-- wrapup_done: the agent records the outcome and becomes available (or away).
-- ARGV: prefix, aid, outcome, next_state, offer_timeout_ms
-- Returns {call_id, ...offer} (an offer when the agent became available).
-- Race closed: wrap-up submitted twice (two tabs): the second finds the agent
-- no longer in wrap_up and is refused.
local aid, outcome, next_state = ARGV[2], ARGV[3], ARGV[4]
local timeout = tonumber(ARGV[5])
local now = now_ms()
local akey = ka(aid)
local state = hget(akey, 'state')
if not state then return fail('unknown_agent') end
if state ~= 'wrap_up' then return fail('not_in_wrap_up') end
local cid = hget(akey, 'last_call') or ''
local since = tonumber(hget(akey, 'state_since') or now)
local pid = ''
if cid ~= '' then
  local ckey = kc(cid)
  pid = hget(ckey, 'patient') or ''
  redis.call('HSET', ckey, 'outcome', outcome, 'wrapup_ms', now - since)
  record_handle_time(hget(ckey, 'queue') or '', 'awt_ms', now - since)
end
set_agent_state(aid, next_state, now, next_state == 'away' and 'after_wrap_up' or '')
-- The patient too, so that the recorder files the outcome with the patient's visit.
emit(now, 'wrapup', {'agent', aid, 'call', cid, 'patient', pid, 'outcome', outcome,
                     'wrapup_ms', now - since})
local result = {cid}
if next_state == 'available' then
  local offer = offer_next_for(aid, now, timeout)
  if offer then
    for _, v in ipairs(offer) do result[#result + 1] = v end
  end
end
return result
