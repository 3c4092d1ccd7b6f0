#!lua
-- join: a patient enters a queue, or finds the place they already have.
-- ARGV: prefix, pid, queue, language, priority, grace_ms, name, reason, needs
-- Returns {created, state, ticket, queue}.
-- Race closed: two joins of one patient (a double click, a reconnect racing a
-- retry) both see the same record inside one script, so only one ticket is
-- ever drawn; joining again returns the existing place.
local pid, q, lang, priority = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local grace = tonumber(ARGV[6])
local now = now_ms()
local precord = kp(pid)
local state = hget(precord, 'state')
if state and ACTIVE[state] then
  -- A call-back patient never holds a lease (they may close the page).
  local leased = state == 'waiting' or state == 'offered' or state == 'in_call' or
                 state == 'on_hold'
  if leased and (hget(precord, 'callback_mode') or '') == '' then
    redis.call('ZADD', K_LEASES, now + grace, 'p:' .. pid)
  end
  return {0, state, hget(precord, 'ticket'), hget(precord, 'queue')}
end
local ticket = redis.call('INCR', K_SEQ)
local band = 2
if priority == 'urgent' then band = 0 end
local score = band * BAND + ticket
redis.call('DEL', precord)
redis.call('HSET', precord, 'state', 'waiting', 'state_since', now, 'queue', q,
           'language', lang, 'priority', priority, 'band', band, 'ticket', ticket,
           'score', score, 'joined_at', now, 'name', ARGV[7], 'reason', ARGV[8],
           'needs', ARGV[9], 'agent', '', 'call', '', 'returning', '0')
enqueue(pid, q, lang, score)
redis.call('ZADD', K_LEASES, now + grace, 'p:' .. pid)
stat_incr(q, 'joined')
emit(now, 'joined', {'patient', pid, 'queue', q, 'ticket', ticket, 'band', band,
                     'language', lang})
return {1, 'waiting', ticket, q}
