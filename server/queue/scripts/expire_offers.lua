#!lua
-- expire_offers: offers past their deadline go back. The patient keeps their
-- exact place; the agent goes away (reason "missed_offer").
-- ARGV: prefix, limit
-- Returns a flat list of {aid, queue} pairs.
-- Race closed: every process's ticker runs this at once; the ZRANGEBYSCORE and
-- the withdrawal happen in one script, and an accept that comes first removes
-- the offer, so an offer is either accepted or expired, never both.
local limit = tonumber(ARGV[2])
local now = now_ms()
local due = redis.call('ZRANGEBYSCORE', K_OFFERS, '-inf', now, 'LIMIT', 0, limit)
local out = {}
for _, aid in ipairs(due) do
  redis.call('HINCRBY', ka(aid), 'missed_offers', 1)
  local q = withdraw_offer(aid, now, 'away', 'missed_offer', 'offer_expired', 'timeout')
  if q then stat_incr(q, 'offers_expired') end
  out[#out + 1] = aid
  out[#out + 1] = q or ''
end
return out
