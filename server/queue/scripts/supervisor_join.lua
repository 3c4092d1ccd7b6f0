#!lua
-- supervisor_join: a supervisor joins a call in progress (or joins it again: a reload,
-- a reconnect, another mode). Counts as one of the call's two extra parties.
-- ARGV: prefix, call_id, supervisor id, first name, mode, max extra parties
-- Returns {handle, seq, created (1/0)}; refuses call_over, call_full.
local cid, sid, name, mode = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local max_parties = tonumber(ARGV[6])
local now = now_ms()
local ckey = kc(cid)
if redis.call('EXISTS', ckey) == 0 or hget(ckey, 'ended_at') then return fail('call_over') end
local gkey = kguests(cid)
local handle = hget(gkey, 'p:' .. sid)
local created = 0
if not handle then
  if tonumber(hget(gkey, 'count') or '0') >= max_parties then return fail('call_full') end
  handle = 's' .. redis.call('HINCRBY', gkey, 'next', 1)
  redis.call('HSET', gkey, 'p:' .. sid, handle)
  redis.call('HINCRBY', gkey, 'count', 1)
  created = 1
end
local seq = 1 + redis.call('HINCRBY', gkey, 'seq', 1)
local joined_at = now
local earlier = hget(gkey, 'h:' .. handle)
if earlier then joined_at = cjson.decode(earlier).joined_at or now end
redis.call('HSET', gkey, 'h:' .. handle, cjson.encode({
  guest = sid, jti = '', party = 'supervisor', name = name, language = '', mode = mode,
  seq = seq, joined_at = joined_at,
}))
redis.call('EXPIRE', gkey, RECORD_TTL)
return {handle, seq, created}
