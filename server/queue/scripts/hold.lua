#!lua
-- hold / resume: the agent puts the patient back in the waiting room for a
-- moment (the patient stays with this agent; nobody else is offered them) and
-- takes them back. ARGV: prefix, aid, action ("hold" or "resume")
-- Returns {pid, call_id}.
-- Race closed: hold racing the patient hanging up; the state check and the
-- change are one step.
local aid, action = ARGV[2], ARGV[3]
local now = now_ms()
local akey = ka(aid)
if not hget(akey, 'state') then return fail('unknown_agent') end
if hget(akey, 'state') ~= 'in_call' then return fail('no_call') end
local pid = hget(akey, 'patient')
local pstate = hget(kp(pid), 'state')
local want_from, want_to = 'in_call', 'on_hold'
if action == 'resume' then want_from, want_to = 'on_hold', 'in_call' end
if pstate ~= want_from then return fail('wrong_state') end
set_patient_state(pid, want_to, now)
local cid = hget(akey, 'call')
emit(now, action == 'hold' and 'held' or 'resumed',
     {'patient', pid, 'agent', aid, 'call', cid, 'queue', hget(kp(pid), 'queue')})
return {pid, cid}
