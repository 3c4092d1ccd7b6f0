#!lua
-- decline: an agent turns an offer down. The patient keeps their exact place;
-- the agent goes away (reason "declined") so the next agent gets the offer.
-- ARGV: prefix, aid, token, reason
-- Returns {queue}.
-- Race closed: decline racing the offer's expiry or a second click: only the
-- current token of an open offer is accepted.
local aid, token, reason = ARGV[2], ARGV[3], ARGV[4]
local now = now_ms()
local akey = ka(aid)
local state = hget(akey, 'state')
if not state then return fail('unknown_agent') end
if state ~= 'offered' or hget(akey, 'offer_token') ~= token then
  return fail('stale_offer')
end
local q = withdraw_offer(aid, now, 'away', 'declined', 'declined', reason)
return {q or ''}
