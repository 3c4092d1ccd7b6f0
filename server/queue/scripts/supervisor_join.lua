#!lua
-- supervisor_join: a supervisor joins a call in progress (or joins it again: a reload,
-- a reconnect, another mode). Counts as one of the call's two extra parties.
-- ARGV: prefix, call_id, supervisor id, first name, mode, max extra parties
-- Returns {handle, seq, created (1/0)}; refuses call_over, call_full.
local cid, sid = ARGV[2], ARGV[3]
local ckey = kc(cid)
if redis.call('EXISTS', ckey) == 0 or hget(ckey, 'ended_at') then return fail('call_over') end
local handle, seq, created = join_party(kguests(cid), sid, 's', tonumber(ARGV[6]), {
  guest = sid, jti = '', party = 'supervisor', name = ARGV[4], language = '', mode = ARGV[5],
}, now_ms())
if not handle then return fail(seq) end
return {handle, seq, created}
