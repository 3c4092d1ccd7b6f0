#!lua
-- guest_leave: a guest leaves a call, or the agent removes them.
-- ARGV: prefix, call_id, handle
-- Returns the guest's record (JSON; '' when the handle is no guest of the call).
local cid, handle = ARGV[2], ARGV[3]
local gkey = kguests(cid)
local raw = hget(gkey, 'h:' .. handle)
if not raw then return '' end
local guest = cjson.decode(raw)
redis.call('HDEL', gkey, 'h:' .. handle, 'p:' .. guest.guest)
redis.call('HINCRBY', gkey, 'count', -1)
return raw
