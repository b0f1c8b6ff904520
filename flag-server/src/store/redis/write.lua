-- One atomic batch of flag and segment writes (see Store::write_at). All checks run first,
-- against the state the earlier ops of the batch leave; on a failed check nothing is written.
-- KEYS: 1 version, 2 flags (hash), 3 change log (stream), 4 audit (sorted set), 5 segments (hash)
-- ARGV: 1 change-log length, 2 audit length, 3 meta JSON, 4 expected environment version
--       ('' for any), then per op 4 values:
--       kind ('c' create, 'p' put, 'd' delete a flag; 's' put, 'x' delete a segment), key,
--       expected version ('' for none), flag or segment JSON ('' for a delete).
-- Returns {'OK', first version} or {'ENV'} / {'CHANGED', actual} / {'EXISTS', key} /
-- {'MISSING', key} / {'SMISSING', key} / {'STALE', key, actual, expected}.
local cur = redis.call('GET', KEYS[1])
if not cur then
  return {'ENV'}
end
cur = tonumber(cur)
if ARGV[4] ~= '' and tonumber(ARGV[4]) ~= cur then
  return {'CHANGED', string.format('%d', cur)}
end
local n = (#ARGV - 4) / 4

local function version_of(record)
  return tonumber(string.match(record, '^{"version":(%d+),'))
end

local state = {}
local segs = {}
for i = 0, n - 1 do
  local kind, key, expected = ARGV[5 + i * 4], ARGV[6 + i * 4], ARGV[7 + i * 4]
  if kind == 's' or kind == 'x' then
    local have = segs[key]
    if have == nil then
      have = redis.call('HEXISTS', KEYS[5], key) == 1
    end
    if kind == 'x' and not have then return {'SMISSING', key} end
    segs[key] = (kind == 's')
  else
    local have = state[key]
    if have == nil then
      local record = redis.call('HGET', KEYS[2], key)
      if record then have = version_of(record) else have = false end
    end
    if kind == 'c' then
      if have then return {'EXISTS', key} end
    else
      if not have and (expected ~= '' or kind == 'd') then return {'MISSING', key} end
      if have and expected ~= '' and tonumber(expected) ~= have then
        return {'STALE', key, string.format('%d', have), expected}
      end
    end
    if kind == 'd' then state[key] = false else state[key] = cur + i + 1 end
  end
end

for i = 0, n - 1 do
  local kind, key, doc = ARGV[5 + i * 4], ARGV[6 + i * 4], ARGV[8 + i * 4]
  local v = string.format('%d', cur + i + 1)
  local entry
  if kind == 's' or kind == 'x' then
    local before = redis.call('HGET', KEYS[5], key)
    local action, after
    if kind == 'x' then
      redis.call('HDEL', KEYS[5], key)
      action, after = 'segment_delete', nil
      redis.call('XADD', KEYS[3], 'MAXLEN', ARGV[1], v .. '-1', 'op', 'sdelete', 'key', key)
    else
      redis.call('HSET', KEYS[5], key, doc)
      if before then action = 'segment_update' else action = 'segment_create' end
      after = doc
      redis.call('XADD', KEYS[3], 'MAXLEN', ARGV[1], v .. '-1', 'op', 'sput', 'segment', doc)
    end
    entry = '{"version":' .. v .. ',"action":"' .. action .. '","key":"' .. key ..
      '","meta":' .. ARGV[3] .. ',"before":null,"after":null'
    if before then entry = entry .. ',"segment_before":' .. before end
    if after then entry = entry .. ',"segment_after":' .. after end
    entry = entry .. '}'
  else
    local before = redis.call('HGET', KEYS[2], key)
    local action, after
    if kind == 'd' then
      redis.call('HDEL', KEYS[2], key)
      action, after = 'delete', 'null'
      redis.call('XADD', KEYS[3], 'MAXLEN', ARGV[1], v .. '-1', 'op', 'delete', 'key', key)
    else
      after = '{"version":' .. v .. ',"flag":' .. doc .. '}'
      redis.call('HSET', KEYS[2], key, after)
      if before then action = 'update' else action = 'create' end
      redis.call('XADD', KEYS[3], 'MAXLEN', ARGV[1], v .. '-1', 'op', 'put', 'flag', after)
    end
    entry = '{"version":' .. v .. ',"action":"' .. action .. '","key":"' .. key ..
      '","meta":' .. ARGV[3] .. ',"before":' .. (before or 'null') .. ',"after":' .. after .. '}'
  end
  redis.call('ZADD', KEYS[4], v, entry)
end

redis.call('SET', KEYS[1], string.format('%d', cur + n))
local excess = redis.call('ZCARD', KEYS[4]) - tonumber(ARGV[2])
if excess > 0 then
  redis.call('ZREMRANGEBYRANK', KEYS[4], 0, excess - 1)
end
return {'OK', string.format('%d', cur + 1)}
