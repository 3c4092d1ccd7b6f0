#!lua
-- emergency: a waiting patient told the desk something that sounds like an emergency
-- (the assistant's emergency words, or their reason for calling). Staff must learn of
-- it: the patient record is flagged (the words, kept for the offer and the context
-- panel) and, where the desk escalates, a queued patient moves to the urgent band
-- (band 0) keeping their ticket, so they are next after earlier urgent patients.
-- ARGV: prefix, pid, words (comma-separated), escalate ("1" or "0")
-- Returns {flagged_now, band, state, queue}; flagged_now is 1 the first time only
-- (one audit event per patient visit, however often they repeat it).
-- Race closed: the flag and the move are one step with the state check, so a patient
-- offered to an agent at the same moment is either moved before the offer (and offered
-- as urgent) or flagged on the offer already made (their record's score changes, so a
-- declined or expired offer puts them back in band 0).
local pid, words, escalate = ARGV[2], ARGV[3], ARGV[4] == '1'
local now = now_ms()
local precord = kp(pid)
local state = hget(precord, 'state')
if not state or not ACTIVE[state] then return fail('not_queued') end
local q = hget(precord, 'queue')
local before = hget(precord, 'emergency') or ''
local merged = before
for _, word in ipairs(split(words)) do
  if not string.find(',' .. merged .. ',', ',' .. word .. ',', 1, true) then
    if merged == '' then merged = word else merged = merged .. ',' .. word end
  end
end
if #merged > 200 then merged = string.sub(merged, 1, 200) end
redis.call('HSET', precord, 'emergency', merged)
local band = tonumber(hget(precord, 'band') or '2')
if escalate and band > 0 then
  band = 0
  local ticket = tonumber(hget(precord, 'ticket'))
  local score = band * BAND + ticket
  redis.call('HSET', precord, 'band', band, 'score', score)
  if QUEUED[state] then enqueue(pid, q, hget(precord, 'language'), score) end
end
local first = before == ''
if first then
  -- The words stay on the record (health information: not in the stream).
  emit(now, 'emergency', {'patient', pid, 'queue', q, 'state', state, 'band', band,
                          'escalated', escalate and '1' or '0'})
end
return {first and 1 or 0, band, state, q}
