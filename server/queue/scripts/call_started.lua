#!lua
-- call_started: media flows (first frame or connected); records setup time once.
-- ARGV: prefix, call_id
-- Returns {setup_ms} (0 when already recorded).
local cid = ARGV[2]
local now = now_ms()
local ckey = kc(cid)
local accepted = hget(ckey, 'accepted_at')
if not accepted then return fail('unknown_call') end
if hget(ckey, 'started_at') or hget(ckey, 'ended_at') then return {0} end
local setup = now - tonumber(accepted)
redis.call('HSET', ckey, 'started_at', now, 'setup_ms', setup)
-- Call setup time histogram per queue (cumulative buckets, as Prometheus wants).
local q = hget(ckey, 'queue') or ''
if q ~= '' then
  local stats = kstats(q)
  for _, le in ipairs({250, 500, 1000, 2000, 5000, 10000, 30000}) do
    if setup <= le then redis.call('HINCRBY', stats, 'setup_le_' .. le, 1) end
  end
  redis.call('HINCRBY', stats, 'setup_count', 1)
  redis.call('HINCRBY', stats, 'setup_ms_sum', setup)
end
emit(now, 'call_started', {'call', cid, 'patient', hget(ckey, 'patient'), 'agent',
                           hget(ckey, 'agent'), 'queue', hget(ckey, 'queue'), 'setup_ms', setup})
return {setup}
