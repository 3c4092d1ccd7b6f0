#!lua
-- renew_leases: the process holding these sockets says they are still here.
-- ARGV: prefix, patient_lease_ms, agent_idle_lease_ms, agent_call_lease_ms,
--       then members ("p:<pid>" or "a:<aid>")
-- Returns the members that had no lease any more (reaped: the socket should
-- learn its new state).
-- Race closed: renewing a lease the reaper has just taken. XX only updates a
-- lease that still exists, so a reaped patient is never brought back silently.
local plen, aidle, acall = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local now = now_ms()
local gone = {}
for i = 5, #ARGV do
  local member = ARGV[i]
  local deadline = now + plen
  if string.sub(member, 1, 2) == 'a:' then
    local state = hget(ka(string.sub(member, 3)), 'state')
    if state == 'in_call' or state == 'offered' or state == 'wrap_up' then
      deadline = now + acall
    else
      deadline = now + aidle
    end
  end
  if redis.call('ZADD', K_LEASES, 'XX', 'CH', deadline, member) == 0 then
    if not redis.call('ZSCORE', K_LEASES, member) then gone[#gone + 1] = member end
  end
end
return gone
