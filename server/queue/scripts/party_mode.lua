#!lua
-- party_mode: a supervisor switches between monitor, whisper and barge. The connections
-- stay (same seq): only what each page sends and shows changes.
-- ARGV: prefix, call_id, handle, mode
-- Returns 1, or 0 when the handle is no party of the call.
local gkey = kguests(ARGV[2])
local raw = hget(gkey, 'h:' .. ARGV[3])
if not raw then return 0 end
local party = cjson.decode(raw)
party.mode = ARGV[4]
redis.call('HSET', gkey, 'h:' .. ARGV[3], cjson.encode(party))
return 1
