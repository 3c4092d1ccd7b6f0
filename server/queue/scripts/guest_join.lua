#!lua
-- guest_join: a guest with a link to one call joins it (or rejoins: a reload, a
-- reconnect). The link is single use: the first guest id to join holds it.
-- ARGV: prefix, call_id, guest id, jti, party, first name, language, max guests,
--       link ttl seconds
-- Returns {handle, seq, created (1/0)}; refuses call_over, link_used, call_full.
local cid, gid, jti = ARGV[2], ARGV[3], ARGV[4]
local ttl = tonumber(ARGV[9])
local now = now_ms()
local ckey = kc(cid)
if redis.call('EXISTS', ckey) == 0 or hget(ckey, 'ended_at') then return fail('call_over') end
local owner = redis.call('GET', kinvite(jti))
if owner and owner ~= gid then return fail('link_used') end
local handle, seq, created = join_party(kguests(cid), gid, 'g', tonumber(ARGV[8]), {
  guest = gid, jti = jti, party = ARGV[5], name = ARGV[6], language = ARGV[7],
}, now)
if not handle then return fail(seq) end
if not owner then
  redis.call('SET', kinvite(jti), gid, 'EX', ttl)
  if redis.call('EXISTS', ktoken(jti)) == 1 then
    redis.call('HSET', ktoken(jti), 'used_at', math.floor(now / 1000))
  end
end
return {handle, seq, created}
