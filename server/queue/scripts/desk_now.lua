#!lua flags=no-writes
-- desk_now: what the wait forecast starts from, in one round trip (read only).
-- ARGV: prefix, queues (comma list of every queue of the desk), then optionally the
-- patients whose wait is wanted: then each queue is read only up to the last of them
-- (nobody behind a patient changes when they are answered), so one patient near the
-- head of a long queue costs only the patients ahead.
-- Returns {queue rows, agent rows}:
--   queue row: {name, aht_ms, awt_ms, {pid, score, pid, score, ...}} (offer order)
--   agent row: {queues (comma list), state, ms in that state} for working agents
-- server/queue/forecast.py replays the dispatch from it.
local queues = split(ARGV[2])
local now = now_ms()
local last = '+inf'
if #ARGV > 2 then
  local most = nil
  for i = 3, #ARGV do
    local precord = kp(ARGV[i])
    local score = tonumber(hget(precord, 'score') or '')
    if score and QUEUED[hget(precord, 'state') or ''] and (not most or score > most) then
      most = score
    end
  end
  last = most and string.format('%.17g', most) or '-inf'
end
local rows = {}
for _, q in ipairs(queues) do
  local stats = kstats(q)
  local members = {}
  if last ~= '-inf' then
    members = redis.call('ZRANGEBYSCORE', kq(q), '-inf', last, 'WITHSCORES')
  end
  rows[#rows + 1] = {q, hget(stats, 'aht_ms') or '0', hget(stats, 'awt_ms') or '0', members}
end
local staffed = {}
for _, q in ipairs(queues) do staffed[#staffed + 1] = kstaffed(q) end
local agents = {}
for _, aid in ipairs(#staffed > 0 and redis.call('SUNION', unpack(staffed)) or {}) do
  local record = redis.call('HMGET', ka(aid), 'state', 'state_since', 'queues')
  if record[1] and WORKING[record[1]] then
    agents[#agents + 1] = {record[3] or '', record[1],
                           tostring(math.max(0, now - tonumber(record[2] or now)))}
  end
end
return {rows, agents}
