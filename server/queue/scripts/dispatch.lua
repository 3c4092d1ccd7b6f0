#!lua
-- dispatch: pair available agents of a queue with waiting patients, longest
-- idle agent first, until one side runs out (at most ARGV[4] offers).
-- ARGV: prefix, queue, offer_timeout_ms, max_offers
-- Returns a flat list of offers, 6 fields each (see offer_next).
-- Race closed: the ticker of every process may run this at once; each offer is
-- made inside one script, so nobody is offered twice.
local q = ARGV[2]
local timeout = tonumber(ARGV[3])
local limit = tonumber(ARGV[4])
local now = now_ms()
local out = {}
local made = 0
local agents = redis.call('ZRANGE', kavail(q), 0, limit - 1)
for _, aid in ipairs(agents) do
  if made >= limit or redis.call('ZCARD', kq(q)) == 0 then break end
  local offer = offer_next_for(aid, now, timeout)
  if offer then
    for _, v in ipairs(offer) do out[#out + 1] = v end
    made = made + 1
  end
end
return out
