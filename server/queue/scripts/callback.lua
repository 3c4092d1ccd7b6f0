#!lua
-- callback: a waiting patient asks to be called back instead of waiting on the
-- page ("request"), books a time slot for it ("schedule"), or changes their
-- mind ("cancel"). A call-back patient has no presence lease (they may leave
-- the page). With "request" they keep their place; with "schedule" they leave
-- the queue until the slot starts, then come back with their original ticket
-- (release_callbacks.lua).
-- ARGV: prefix, pid, action, mode ("phone"|"page"), phone, grace_ms, slot_ms
-- Returns {state}.
local pid, action, mode, phone = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local grace = tonumber(ARGV[6])
local now = now_ms()
local precord = kp(pid)
local state = hget(precord, 'state')
if not state then return fail('unknown_patient') end
if action == 'request' or action == 'schedule' then
  if state ~= 'waiting' and not (action == 'schedule' and state == 'callback_pending') then
    return fail('wrong_state')
  end
  local slot = tonumber(ARGV[7]) or 0
  if action == 'schedule' and slot <= now then return fail('slot_passed') end
  redis.call('HSET', precord, 'state', 'callback_pending', 'state_since', now,
             'callback_mode', mode, 'callback_phone', phone, 'callback_slot', slot)
  redis.call('ZREM', K_LEASES, 'p:' .. pid)
  local q = hget(precord, 'queue')
  if action == 'schedule' then
    dequeue(pid, q, hget(precord, 'language'))
    redis.call('ZADD', K_CBSCHED, slot, pid)
  end
  emit(now, 'callback_requested', {'patient', pid, 'queue', q, 'mode', mode,
                                   'slot', slot})
  return {'callback_pending'}
end
if state ~= 'callback_pending' then return fail('wrong_state') end
if redis.call('ZREM', K_CBSCHED, pid) == 1 then
  enqueue(pid, hget(precord, 'queue'), hget(precord, 'language'),
          tonumber(hget(precord, 'score')))
end
redis.call('HSET', precord, 'state', 'waiting', 'state_since', now, 'callback_mode', '',
           'callback_phone', '', 'callback_slot', 0)
redis.call('ZADD', K_LEASES, now + grace, 'p:' .. pid)
emit(now, 'callback_cancelled', {'patient', pid, 'queue', hget(precord, 'queue')})
return {'waiting'}
