#!lua
-- reap_leases: presence leases past their deadline (a socket gone for longer
-- than the grace period, or a process that died) are settled.
--   patient waiting / offered        -> abandoned (an offer is withdrawn)
--   patient in a call / on hold      -> call ends, patient abandoned
--   agent idle (available/away/wrap) -> offline
--   agent offered                    -> offer returns, patient keeps the place
--   agent in a call                  -> patient back in the returning band
--                                       with their original ticket
-- ARGV: prefix, limit
-- Returns a flat list of {member, queue, what, call, other} entries: ``call`` and
-- ``other`` (the other party) are set when a call ended.
-- Race closed: several processes reaping at once; each lease is removed and
-- settled inside one script, so it is settled exactly once.
local limit = tonumber(ARGV[2])
local now = now_ms()
local due = redis.call('ZRANGEBYSCORE', K_LEASES, '-inf', now, 'LIMIT', 0, limit)
local out = {}
local function report(member, q, what, call, other)
  out[#out + 1] = member
  out[#out + 1] = q or ''
  out[#out + 1] = what
  out[#out + 1] = call or ''
  out[#out + 1] = other or ''
end
for _, member in ipairs(due) do
  redis.call('ZREM', K_LEASES, member)
  local id = string.sub(member, 3)
  if string.sub(member, 1, 2) == 'p:' then
    local precord = kp(id)
    local state = hget(precord, 'state')
    local q = hget(precord, 'queue')
    if state == 'waiting' then
      dequeue(id, q, hget(precord, 'language'))
      set_patient_state(id, 'abandoned', now)
      stat_incr(q, 'abandoned')
      emit(now, 'abandoned', {'patient', id, 'queue', q, 'reason', 'lease_lapsed'})
      report(member, q, 'abandoned')
    elseif state == 'offered' then
      local agent = hget(precord, 'agent')
      redis.call('ZREM', K_OFFERS, agent)
      redis.call('HDEL', ka(agent), 'offer_patient', 'offer_token', 'offer_deadline',
                 'offer_kind')
      set_agent_state(agent, 'available', now, '')
      set_patient_state(id, 'abandoned', now)
      redis.call('HSET', precord, 'agent', '')
      stat_incr(q, 'abandoned')
      emit(now, 'abandoned', {'patient', id, 'queue', q, 'reason', 'lease_lapsed',
                              'agent', agent})
      report(member, q, 'abandoned', '', agent)
    elseif state == 'in_call' or state == 'on_hold' then
      local agent = hget(precord, 'agent')
      local _, cid = end_call(agent, now, 'abandoned', 'wrap_up', 'patient_lost')
      stat_incr(q, 'dropped')
      emit(now, 'abandoned', {'patient', id, 'queue', q, 'reason', 'lost_in_call',
                              'agent', agent})
      report(member, q, 'abandoned', cid, agent)
    end
  else
    local akey = ka(id)
    local state = hget(akey, 'state')
    if state == 'offered' then
      local q = withdraw_offer(id, now, 'offline', 'lease_lapsed', 'offer_withdrawn',
                               'agent_lost')
      report(member, q, 'offline')
    elseif state == 'in_call' then
      local pid = hget(akey, 'patient')
      local q, cid = end_call(id, now, 'requeue', 'offline', 'agent_lost')
      if pid then q = requeue_returning(pid, now, 'agent_lost') end
      report(member, q, 'offline', cid, pid)
    elseif state and state ~= 'offline' then
      set_agent_state(id, 'offline', now, 'lease_lapsed')
      emit(now, 'agent_status', {'agent', id, 'status', 'offline', 'reason', 'lease_lapsed',
                                 'from', state})
      report(member, '', 'offline')
    end
  end
end
return out
