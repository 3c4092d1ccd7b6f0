#!lua
-- transfer: the agent hands the patient on, with a note, to another queue (the
-- patient keeps their ticket and band: their priority) or straight to another
-- available agent (offered to them at once).
-- ARGV: prefix, aid, target_kind ("queue"|"agent"), target, note, language,
--       offer_timeout_ms
-- Returns {pid, queue, call_id, ...offer}.
-- Race closed: the target agent changing state while we transfer; availability
-- is checked and the offer made in the same step, or nothing changes.
local aid, kind, target, note, lang = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local timeout = tonumber(ARGV[7])
local now = now_ms()
local akey = ka(aid)
if not hget(akey, 'state') then return fail('unknown_agent') end
if hget(akey, 'state') ~= 'in_call' then return fail('no_call') end
if kind == 'agent' then
  if target == aid then return fail('same_agent') end
  if not hget(ka(target), 'state') then return fail('unknown_agent') end
  if hget(ka(target), 'state') ~= 'available' then return fail('not_available') end
end
local pid = hget(akey, 'patient')
local precord = kp(pid)
local from_q = hget(precord, 'queue')
local _, cid = end_call(aid, now, 'requeue', 'wrap_up', 'transferred')
local q = from_q
if kind == 'queue' then q = target end
redis.call('HINCRBY', precord, 'transfers', 1)
redis.call('HSET', precord, 'queue', q, 'language', lang, 'handoff_note', note,
           'handoff_from', aid, 'state', queued_state(precord), 'state_since', now,
           'call', '')
local score = tonumber(hget(precord, 'score'))
enqueue(pid, q, lang, score)
emit(now, 'transferred', {'patient', pid, 'agent', aid, 'from_queue', from_q, 'queue', q,
                          'to', kind, 'target', target, 'call', cid or ''})
local result = {pid, q, cid or ''}
if kind == 'agent' then
  local offer = make_offer(target, pid, q, now, timeout, 'transfer')
  for _, v in ipairs(offer) do result[#result + 1] = v end
end
return result
