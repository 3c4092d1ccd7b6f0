#!lua
-- survey: the patient rates their last call (1-5) with an optional comment.
-- ARGV: prefix, pid, rating, comment
-- Returns {call_id}. A second rating of the same call replaces the first.
local pid, rating, comment = ARGV[2], tonumber(ARGV[3]), ARGV[4]
local now = now_ms()
local precord = kp(pid)
local state = hget(precord, 'state')
if not state then return fail('unknown_patient') end
local cid = hget(precord, 'last_call') or ''
if cid == '' then return fail('no_call') end
local ckey = kc(cid)
local q = hget(ckey, 'queue') or hget(precord, 'queue')
local old = tonumber(hget(ckey, 'rating') or '0')
redis.call('HSET', ckey, 'rating', rating, 'comment', comment, 'rated_at', now)
if old > 0 then
  redis.call('HINCRBY', kstats(q), 'csat_sum', rating - old)
else
  redis.call('HINCRBY', kstats(q), 'csat_sum', rating)
  redis.call('HINCRBY', kstats(q), 'csat_count', 1)
end
emit(now, 'rated', {'patient', pid, 'call', cid, 'queue', q, 'rating', rating})
return {cid}
