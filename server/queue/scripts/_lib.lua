-- Shared helpers, prepended to every queue script by server/queue/scripts.py.
--
-- KEYS are the desk's fixed keys (server/queue/scripts.py DECLARED: seq, offers,
-- leases, events, agents, cbsched, clock:skew); Redis Cluster routes the script by
-- them. The keys of one patient, agent, call or queue depend on the data (the head
-- of a queue is found inside the script), so they are built from ARGV[1], the
-- desk's prefix "vd:{desk}:": they carry the same hash tag, hence the same slot.
-- Each script starts with a `#!lua` shebang, so Redis refuses any key outside
-- that slot (no allow-cross-slot-keys flag): the Cluster test run proves it. The
-- names mirror server/keys.py (a test checks that they agree).
--
-- Times are milliseconds from Redis TIME plus the desk's clock skew (absent in
-- production; tests move time forward with it): app clocks never matter.
--
-- Every script checks everything first and writes after, so a refused call
-- (stale token, wrong state) leaves no partial state behind.

local unpack = unpack or table.unpack
local P = ARGV[1]
local BAND = 1099511627776 -- 2^40: score = band * BAND + ticket

local K_SEQ = KEYS[1]
local K_OFFERS = KEYS[2]
local K_LEASES = KEYS[3]
local K_EVENTS = KEYS[4]
local K_AGENTS = KEYS[5]
local K_CBSCHED = KEYS[6]
local K_SKEW = KEYS[7]
if K_SEQ ~= P .. 'seq' or K_SKEW ~= P .. 'clock:skew' then
  return redis.error_reply('ERR the declared keys are not this desk\'s')
end

local function kp(pid) return P .. 'p:' .. pid end
local function ka(aid) return P .. 'a:' .. aid end
local function kc(cid) return P .. 'c:' .. cid end
local function kguests(cid) return P .. 'c:' .. cid .. ':guests' end
local function kinvite(jti) return P .. 'invite:' .. jti end
local function ktoken(jti) return P .. 'token:' .. jti end
local function kq(q) return P .. 'q:' .. q end
local function kql(q, lang) return P .. 'ql:' .. q .. ':' .. lang end
local function kstaffed(q) return P .. 'staffed:' .. q end
local function kavail(q) return P .. 'avail:' .. q end
local function kstats(q) return P .. 'stats:' .. q end

local RECORD_TTL = 7 * 24 * 3600

local function now_ms()
  local t = redis.call('TIME')
  local skew = tonumber(redis.call('GET', K_SKEW) or '0') or 0
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + skew
end

local function fail(code)
  return redis.error_reply('VD ' .. code)
end

local function split(s)
  local out = {}
  if not s or s == '' then return out end
  for item in string.gmatch(s, '[^,]+') do out[#out + 1] = item end
  return out
end

local function hget(key, field)
  local v = redis.call('HGET', key, field)
  if v == false then return nil end
  return v
end

-- One event per transition, in the same script as the transition itself. No cap: the
-- recorder (server/records/recorder.py) trims the stream, behind what it has recorded.
local function emit(now, kind, fields)
  local args = {'XADD', K_EVENTS, '*', 'type', kind, 'at', now}
  for i = 1, #fields do args[#args + 1] = fields[i] end
  redis.call(unpack(args))
end

local ACTIVE = {waiting = true, offered = true, in_call = true, on_hold = true,
                callback_pending = true}
local QUEUED = {waiting = true, callback_pending = true}

local function enqueue(pid, q, lang, score)
  redis.call('ZADD', kq(q), score, pid)
  redis.call('ZADD', kql(q, lang), score, pid)
end

local function dequeue(pid, q, lang)
  redis.call('ZREM', kq(q), pid)
  redis.call('ZREM', kql(q, lang), pid)
end

local function stat_incr(q, field, by)
  redis.call('HINCRBY', kstats(q), field, by or 1)
end

-- Agent state, keeping the per-queue "available" and "staffed" sets in step.
-- staffed = agents working the queue now (available, offered, in call, wrap-up).
local WORKING = {available = true, offered = true, in_call = true, wrap_up = true}

local function set_agent_state(aid, state, now, reason)
  local key = ka(aid)
  redis.call('HSET', key, 'state', state, 'state_since', now, 'reason', reason or '')
  if state == 'available' or state == 'away' then
    -- Back to an idle state: the longer lease of a call or wrap-up ends here, so an
    -- agent who closes the console right after wrap-up is signed out after the idle
    -- grace period, not the call's (and is not offered patients meanwhile).
    local idle = tonumber(hget(key, 'idle_lease_ms') or '')
    if idle then
      redis.call('ZADD', K_LEASES, 'XX', 'LT', now + idle, 'a:' .. aid)
    end
  end
  for _, q in ipairs(split(hget(key, 'queues'))) do
    if state == 'available' then
      redis.call('ZADD', kavail(q), now, aid)
    else
      redis.call('ZREM', kavail(q), aid)
    end
    if WORKING[state] then
      redis.call('SADD', kstaffed(q), aid)
    else
      redis.call('SREM', kstaffed(q), aid)
    end
  end
end

-- The state a patient returns to the queue in: a call-back patient stays a
-- call-back (no lease: they may have closed the page), anyone else waits.
local function queued_state(precord)
  if (hget(precord, 'callback_mode') or '') ~= '' then return 'callback_pending' end
  return 'waiting'
end

local function set_patient_state(pid, state, now)
  redis.call('HSET', kp(pid), 'state', state, 'state_since', now)
  if not ACTIVE[state] then
    redis.call('ZREM', K_LEASES, 'p:' .. pid)
    redis.call('EXPIRE', kp(pid), RECORD_TTL)
  end
end

-- The best patient for an agent: lowest score over the (queue, language) sets
-- the agent serves; patients at the head of a served queue who are passed over
-- (their language is not the agent's) are reported so the skip is an event.
local function best_patient(aid)
  local akey = ka(aid)
  local queues = split(hget(akey, 'queues'))
  local langs = split(hget(akey, 'languages'))
  local best_pid, best_score, best_q = nil, nil, nil
  for _, q in ipairs(queues) do
    for _, lang in ipairs(langs) do
      local head = redis.call('ZRANGE', kql(q, lang), 0, 0, 'WITHSCORES')
      if head[1] then
        local score = tonumber(head[2])
        if best_score == nil or score < best_score then
          best_pid, best_score, best_q = head[1], score, q
        end
      end
    end
  end
  local skipped = {}
  if best_pid then
    for _, q in ipairs(queues) do
      local head = redis.call('ZRANGE', kq(q), 0, 0, 'WITHSCORES')
      if head[1] and head[1] ~= best_pid and tonumber(head[2]) < best_score then
        skipped[#skipped + 1] = {head[1], q}
      end
    end
  end
  return best_pid, best_q, skipped
end

-- Offer a patient to an available agent, with a fencing token and a deadline.
local function make_offer(aid, pid, q, now, timeout_ms, kind)
  local akey = ka(aid)
  local token = redis.call('INCR', K_SEQ)
  local deadline = now + timeout_ms
  local precord = kp(pid)
  dequeue(pid, hget(precord, 'queue'), hget(precord, 'language'))
  redis.call('HSET', precord, 'state', 'offered', 'state_since', now, 'agent', aid,
             'offer_token', token)
  redis.call('HSET', akey, 'offer_patient', pid, 'offer_token', token,
             'offer_deadline', deadline, 'offer_kind', kind)
  set_agent_state(aid, 'offered', now, '')
  redis.call('ZADD', K_OFFERS, deadline, aid)
  emit(now, 'offered', {'patient', pid, 'agent', aid, 'queue', q, 'token', token, 'kind', kind,
                        'ticket', hget(precord, 'ticket')})
  return {aid, pid, tostring(token), tostring(deadline), kind, q}
end

local function offer_next_for(aid, now, timeout_ms)
  if hget(ka(aid), 'state') ~= 'available' then return nil end
  local pid, q, skipped = best_patient(aid)
  if not pid then return nil end
  for _, s in ipairs(skipped) do
    emit(now, 'skipped', {'patient', s[1], 'agent', aid, 'queue', s[2],
                          'reason', 'language_not_served'})
  end
  local kind = 'call'
  if hget(kp(pid), 'state') == 'callback_pending' then kind = 'callback' end
  return make_offer(aid, pid, q, now, timeout_ms, kind)
end

-- Take an open offer back from an agent: the patient returns with exactly the
-- score they had (their place), the agent moves to agent_state.
local function withdraw_offer(aid, now, agent_state, agent_reason, event, reason)
  local akey = ka(aid)
  local pid = hget(akey, 'offer_patient')
  local kind = hget(akey, 'offer_kind')
  redis.call('ZREM', K_OFFERS, aid)
  redis.call('HDEL', akey, 'offer_patient', 'offer_token', 'offer_deadline', 'offer_kind')
  set_agent_state(aid, agent_state, now, agent_reason)
  if not pid then return nil end
  local precord = kp(pid)
  if hget(precord, 'state') ~= 'offered' or hget(precord, 'agent') ~= aid then return nil end
  local q = hget(precord, 'queue')
  local back = queued_state(precord)
  enqueue(pid, q, hget(precord, 'language'), tonumber(hget(precord, 'score')))
  redis.call('HSET', precord, 'state', back, 'state_since', now, 'agent', '', 'offer_token', '')
  emit(now, event, {'patient', pid, 'agent', aid, 'queue', q, 'reason', reason,
                    'ticket', hget(precord, 'ticket')})
  return q
end

-- End the call an agent is in. The patient goes to patient_state; the agent to
-- agent_state (normally wrap-up). Returns queue, call id, patient id, handle ms.
local function end_call(aid, now, patient_state, agent_state, reason)
  local akey = ka(aid)
  local pid = hget(akey, 'patient')
  local cid = hget(akey, 'call')
  local q = ''
  local handle = 0
  if cid then
    local ckey = kc(cid)
    q = hget(ckey, 'queue') or ''
    local accepted = tonumber(hget(ckey, 'accepted_at') or now)
    handle = now - accepted
    redis.call('HSET', ckey, 'ended_at', now, 'end_reason', reason, 'handle_ms', handle)
    redis.call('EXPIRE', ckey, RECORD_TTL)
  end
  if pid and patient_state then
    local precord = kp(pid)
    redis.call('HSET', precord, 'agent', '', 'last_call', cid or '')
    if patient_state ~= 'requeue' then
      set_patient_state(pid, patient_state, now)
      redis.call('HSET', precord, 'call', '')
    end
  end
  redis.call('HDEL', akey, 'patient', 'call')
  redis.call('HSET', akey, 'last_call', cid or '')
  set_agent_state(aid, agent_state, now, reason)
  if cid then
    emit(now, 'call_ended', {'patient', pid or '', 'agent', aid, 'queue', q, 'call', cid,
                             'reason', reason, 'handle_ms', handle})
  end
  return q, cid, pid, handle
end

-- Moving average of handle time per queue, for the wait estimate. Alpha 0.1:
-- bench/queue.py --simulate found a faster average (0.2) chases runs of long
-- calls and overestimates the next waits.
local function record_handle_time(q, field, ms)
  if q == '' or ms <= 0 then return end
  local key = kstats(q)
  local old = tonumber(hget(key, field) or '0')
  local new = ms
  if old > 0 then new = math.floor(old * 0.9 + ms * 0.1) end
  redis.call('HSET', key, field, new)
end

-- A patient whose call was lost (agent gone) goes back to the returning band
-- (band 1) with their original ticket; urgent patients stay urgent (band 0); a
-- call-back patient is still a call-back.
local function requeue_returning(pid, now, reason)
  local precord = kp(pid)
  local band = tonumber(hget(precord, 'band') or '2')
  if band > 1 then band = 1 end
  local ticket = tonumber(hget(precord, 'ticket'))
  local score = band * BAND + ticket
  local q = hget(precord, 'queue')
  redis.call('HSET', precord, 'band', band, 'score', score, 'agent', '', 'call', '',
             'state', queued_state(precord), 'state_since', now, 'returning', '1')
  enqueue(pid, q, hget(precord, 'language'), score)
  emit(now, 'requeued', {'patient', pid, 'queue', q, 'reason', reason, 'ticket', ticket,
                         'band', band})
  return q
end

-- A guest or a supervisor joins (or joins again) the call's parties (kguests: see
-- server/queue/parties.py): their handle (a new one, `prefix` .. n, within max_parties),
-- a new sequence number, and their record written with joined_at kept from an earlier
-- join. Returns handle, seq, created (1/0), or nil, 'call_full'.
local function join_party(gkey, id, prefix, max_parties, record, now)
  local handle = hget(gkey, 'p:' .. id)
  local created = 0
  if not handle then
    if tonumber(hget(gkey, 'count') or '0') >= max_parties then return nil, 'call_full' end
    handle = prefix .. redis.call('HINCRBY', gkey, 'next', 1)
    redis.call('HSET', gkey, 'p:' .. id, handle)
    redis.call('HINCRBY', gkey, 'count', 1)
    created = 1
  end
  -- Every join takes a new sequence number: of two parties, the later one makes the
  -- WebRTC offers (the patient is 0 and the agent 1).
  record.seq = 1 + redis.call('HINCRBY', gkey, 'seq', 1)
  local earlier = hget(gkey, 'h:' .. handle)
  record.joined_at = (earlier and cjson.decode(earlier).joined_at) or now
  redis.call('HSET', gkey, 'h:' .. handle, cjson.encode(record))
  redis.call('EXPIRE', gkey, RECORD_TTL)
  return handle, record.seq, created
end
