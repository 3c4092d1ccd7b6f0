-- callback: a waiting patient asks to be called back instead of waiting on the
-- page ("request"), or changes their mind ("cancel"). They keep their place
-- either way; a call-back patient has no presence lease (they may leave).
-- ARGV: prefix, pid, action, mode ("phone"|"page"), phone, grace_ms
-- Returns {state}.
local pid, action, mode, phone = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local grace = tonumber(ARGV[6])
local now = now_ms()
local precord = kp(pid)
local state = hget(precord, 'state')
if not state then return fail('unknown_patient') end
if action == 'request' then
  if state ~= 'waiting' then return fail('wrong_state') end
  redis.call('HSET', precord, 'state', 'callback_pending', 'state_since', now,
             'callback_mode', mode, 'callback_phone', phone)
  redis.call('ZREM', K_LEASES, 'p:' .. pid)
  emit(now, 'callback_requested', {'patient', pid, 'queue', hget(precord, 'queue'),
                                   'mode', mode})
  return {'callback_pending'}
end
if state ~= 'callback_pending' then return fail('wrong_state') end
redis.call('HSET', precord, 'state', 'waiting', 'state_since', now, 'callback_mode', '',
           'callback_phone', '')
redis.call('ZADD', K_LEASES, now + grace, 'p:' .. pid)
emit(now, 'callback_cancelled', {'patient', pid, 'queue', hget(precord, 'queue')})
return {'waiting'}
