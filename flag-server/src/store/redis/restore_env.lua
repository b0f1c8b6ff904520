-- Writes an environment's state back after Redis lost it (see Store::restore_environment):
-- only when the environment is missing or older than the state. Atomic.
-- KEYS: 1 version, 2 flags (hash), 3 change log (stream), 4 audit (sorted set), 5 segments (hash)
-- ARGV: 1 version, 2 audit length, 3 audit entry JSON, 4 number of flags F, then per flag:
--       key, record JSON; then per segment: key, segment JSON.
-- Returns 1 when written, 0 when Redis already had that version or a later one.
local cur = redis.call('GET', KEYS[1])
if cur and tonumber(cur) >= tonumber(ARGV[1]) then
  return 0
end
redis.call('DEL', KEYS[2], KEYS[3], KEYS[5])
local flags_end = 4 + 2 * tonumber(ARGV[4])
for i = 5, flags_end, 2 do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
end
for i = flags_end + 1, #ARGV, 2 do
  redis.call('HSET', KEYS[5], ARGV[i], ARGV[i + 1])
end
redis.call('ZADD', KEYS[4], ARGV[1], ARGV[3])
local excess = redis.call('ZCARD', KEYS[4]) - tonumber(ARGV[2])
if excess > 0 then
  redis.call('ZREMRANGEBYRANK', KEYS[4], 0, excess - 1)
end
redis.call('SET', KEYS[1], ARGV[1])
return 1
