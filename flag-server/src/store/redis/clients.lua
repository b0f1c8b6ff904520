-- Merges what a server instance saw of SDK instances (see Store::record_clients).
-- KEYS: 1 version (the environment exists), 2 clients (hash: instance id -> record JSON),
--       3 clients_seen (sorted set: instance id scored by last_seen, for pruning).
-- ARGV: 1 cutoff (Unix ms: records last seen before it are dropped), 2 most flags per record,
--       then one record JSON per instance (ClientRow: times in Unix ms).
-- Returns 0 when the environment does not exist, 1 otherwise.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
local cutoff = tonumber(ARGV[1])
local max_flags = tonumber(ARGV[2])

local function str(v)
  if v == nil or v == cjson.null then return nil end
  return v
end

local function merge(old, new)
  local newer = new.last_seen >= old.last_seen
  local out = { instance_id = new.instance_id }
  for _, f in ipairs({ 'app_name', 'app_version', 'sdk' }) do
    local a, b = str(old[f]), str(new[f])
    if b ~= nil and (newer or a == nil) then out[f] = b else out[f] = a end
  end
  out.first_seen = math.min(old.first_seen, new.first_seen)
  out.last_seen = math.max(old.last_seen, new.last_seen)
  local s1, s2 = str(old.stream_seen), str(new.stream_seen)
  if s1 and s2 then out.stream_seen = math.max(s1, s2) else out.stream_seen = s1 or s2 end
  local set, flags = {}, {}
  for _, list in ipairs({ str(old.flags) or {}, str(new.flags) or {} }) do
    for _, k in ipairs(list) do
      if not set[k] then
        set[k] = true
        flags[#flags + 1] = k
      end
    end
  end
  table.sort(flags)
  while #flags > max_flags do
    table.remove(flags)
  end
  if #flags > 0 then out.flags = flags end
  return out
end

for i = 3, #ARGV do
  local rec = cjson.decode(ARGV[i])
  local stored = redis.call('HGET', KEYS[2], rec.instance_id)
  -- Merging a new record with itself sorts and caps its flags.
  if stored then
    rec = merge(cjson.decode(stored), rec)
  else
    rec = merge(rec, rec)
  end
  if rec.last_seen >= cutoff then
    redis.call('HSET', KEYS[2], rec.instance_id, cjson.encode(rec))
    redis.call('ZADD', KEYS[3], rec.last_seen, rec.instance_id)
  end
end

-- Drop what was not seen since the cutoff, a bounded number per call.
local old = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', '(' .. cutoff, 'LIMIT', 0, 1000)
if #old > 0 then
  redis.call('HDEL', KEYS[2], unpack(old))
  redis.call('ZREM', KEYS[3], unpack(old))
end
return 1
