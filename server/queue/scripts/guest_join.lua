#!lua
-- guest_join: a guest with a link to one call joins it (or rejoins: a reload, a
-- reconnect). The link is single use: the first guest id to join holds it.
-- ARGV: prefix, call_id, guest id, jti, party, first name, language, max guests,
--       link ttl seconds
-- Returns {handle, seq, created (1/0)}; refuses call_over, link_used, call_full.
local cid, gid, jti = ARGV[2], ARGV[3], ARGV[4]
local party, name, language = ARGV[5], ARGV[6], ARGV[7]
local max_guests = tonumber(ARGV[8])
local ttl = tonumber(ARGV[9])
local now = now_ms()
local ckey = kc(cid)
if redis.call('EXISTS', ckey) == 0 or hget(ckey, 'ended_at') then return fail('call_over') end
local owner = redis.call('GET', kinvite(jti))
if owner and owner ~= gid then return fail('link_used') end
local gkey = kguests(cid)
local handle = hget(gkey, 'p:' .. gid)
local created = 0
if not handle then
  if tonumber(hget(gkey, 'count') or '0') >= max_guests then return fail('call_full') end
  handle = 'g' .. redis.call('HINCRBY', gkey, 'next', 1)
  redis.call('HSET', gkey, 'p:' .. gid, handle)
  redis.call('HINCRBY', gkey, 'count', 1)
  created = 1
end
if not owner then
  redis.call('SET', kinvite(jti), gid, 'EX', ttl)
  if redis.call('EXISTS', ktoken(jti)) == 1 then
    redis.call('HSET', ktoken(jti), 'used_at', math.floor(now / 1000))
  end
end
-- Every join takes a new sequence number: of two parties, the later one makes the
-- WebRTC offers (the patient is 0 and the agent 1).
local seq = 1 + redis.call('HINCRBY', gkey, 'seq', 1)
-- A rejoin keeps the time the guest joined: the chat they are shown starts there.
local joined_at = now
local earlier = hget(gkey, 'h:' .. handle)
if earlier then joined_at = cjson.decode(earlier).joined_at or now end
redis.call('HSET', gkey, 'h:' .. handle, cjson.encode({
  guest = gid, jti = jti, party = party, name = name, language = language,
  seq = seq, joined_at = joined_at,
}))
redis.call('EXPIRE', gkey, RECORD_TTL)
return {handle, seq, created}
