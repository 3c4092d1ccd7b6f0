#!lua
-- release_callbacks: scheduled call-backs whose slot has started go back into
-- their queue with their original score (ticket and band), to be offered to
-- the next agent as call-back tasks.
-- ARGV: prefix, limit
-- Returns the queues that changed.
-- Race closed: every process's ticker runs this; ZRANGEBYSCORE and ZREM happen
-- in one script, so each call-back is released once.
local limit = tonumber(ARGV[2])
local now = now_ms()
local due = redis.call('ZRANGEBYSCORE', K_CBSCHED, '-inf', now, 'LIMIT', 0, limit)
local changed = {}
for _, pid in ipairs(due) do
  redis.call('ZREM', K_CBSCHED, pid)
  local precord = kp(pid)
  if hget(precord, 'state') == 'callback_pending' then
    local q = hget(precord, 'queue')
    enqueue(pid, q, hget(precord, 'language'), tonumber(hget(precord, 'score')))
    emit(now, 'callback_due', {'patient', pid, 'queue', q})
    changed[#changed + 1] = q
  end
end
return changed
