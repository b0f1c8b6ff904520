-- Adds evaluation counts of one reporting period (see Store::record_usage).
-- KEYS: 1 version (the environment exists), 2 usage (hash: y:<key>, n:<key>, l:<key>)
-- ARGV: 1 period end (Unix milliseconds), then per flag: key, yes, no.
-- Returns 0 when the environment does not exist, 1 otherwise.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
local period_end = tonumber(ARGV[1])
for i = 2, #ARGV, 3 do
  local key = ARGV[i]
  redis.call('HINCRBY', KEYS[2], 'y:' .. key, ARGV[i + 1])
  redis.call('HINCRBY', KEYS[2], 'n:' .. key, ARGV[i + 2])
  local last = redis.call('HGET', KEYS[2], 'l:' .. key)
  if not last or tonumber(last) < period_end then
    redis.call('HSET', KEYS[2], 'l:' .. key, ARGV[1])
  end
end
return 1
