#!lua
-- agent_signin: create or refresh an agent's record from their token.
-- ARGV: prefix, aid, name, queues (comma list), languages (comma list),
--       idle_lease_ms, busy_lease_ms (offered, in a call or wrap-up)
-- Returns {state}.
-- Race closed: a sign-in from a second tab while the first changes status;
-- the queue membership sets are rewritten in the same step as the record.
local aid, name, queues, languages = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local idle_lease, busy_lease = tonumber(ARGV[6]), tonumber(ARGV[7])
local now = now_ms()
local akey = ka(aid)
local state = hget(akey, 'state')
local old_queues = split(hget(akey, 'queues'))
for _, q in ipairs(old_queues) do
  redis.call('ZREM', kavail(q), aid)
  redis.call('SREM', kstaffed(q), aid)
end
redis.call('HSET', akey, 'name', name, 'queues', queues, 'languages', languages,
           'idle_lease_ms', idle_lease)
redis.call('SADD', K_AGENTS, aid)
if not state or state == 'offline' then
  -- Signing in makes an agent "away" until they choose to be available.
  set_agent_state(aid, 'away', now, 'signed_in')
  emit(now, 'agent_signed_in', {'agent', aid})
  state = 'away'
else
  set_agent_state(aid, state, now, hget(akey, 'reason') or '')
end
local lease = idle_lease
if state == 'offered' or state == 'in_call' or state == 'wrap_up' then lease = busy_lease end
redis.call('ZADD', K_LEASES, now + lease, 'a:' .. aid)
return {state}
