-- One atomic batch of flag writes (see Store::write). All checks run first, against the
-- state the earlier ops of the batch leave; on a failed check nothing is written.
-- KEYS: 1 version, 2 flags (hash), 3 change log (stream), 4 audit (sorted set)
-- ARGV: 1 change-log length, 2 audit length, 3 meta JSON, then per op 4 values:
--       kind ('c' create, 'p' put, 'd' delete), key, expected version ('' for none),
--       flag JSON ('' for a delete).
-- Returns {'OK', first version} or {'ENV'} / {'EXISTS', key} / {'MISSING', key} /
-- {'STALE', key, actual, expected}.
local cur = redis.call('GET', KEYS[1])
if not cur then
  return {'ENV'}
end
cur = tonumber(cur)
local n = (#ARGV - 3) / 4

local function version_of(record)
  return tonumber(string.match(record, '^{"version":(%d+),'))
end

local state = {}
for i = 0, n - 1 do
  local kind, key, expected = ARGV[4 + i * 4], ARGV[5 + i * 4], ARGV[6 + i * 4]
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

for i = 0, n - 1 do
  local kind, key, flag = ARGV[4 + i * 4], ARGV[5 + i * 4], ARGV[7 + i * 4]
  local v = string.format('%d', cur + i + 1)
  local before = redis.call('HGET', KEYS[2], key)
  local action, after
  if kind == 'd' then
    redis.call('HDEL', KEYS[2], key)
    action, after = 'delete', 'null'
    redis.call('XADD', KEYS[3], 'MAXLEN', ARGV[1], v .. '-1', 'op', 'delete', 'key', key)
  else
    after = '{"version":' .. v .. ',"flag":' .. flag .. '}'
    redis.call('HSET', KEYS[2], key, after)
    if before then action = 'update' else action = 'create' end
    redis.call('XADD', KEYS[3], 'MAXLEN', ARGV[1], v .. '-1', 'op', 'put', 'flag', after)
  end
  local entry = '{"version":' .. v .. ',"action":"' .. action .. '","key":"' .. key ..
    '","meta":' .. ARGV[3] .. ',"before":' .. (before or 'null') .. ',"after":' .. after .. '}'
  redis.call('ZADD', KEYS[4], v, entry)
end

redis.call('SET', KEYS[1], string.format('%d', cur + n))
local excess = redis.call('ZCARD', KEYS[4]) - tonumber(ARGV[2])
if excess > 0 then
  redis.call('ZREMRANGEBYRANK', KEYS[4], 0, excess - 1)
end
return {'OK', string.format('%d', cur + 1)}
