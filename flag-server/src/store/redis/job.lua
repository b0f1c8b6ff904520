-- Writes or deletes a job when it is at the expected revision (see Store::put_job).
-- KEYS: 1 version (the environment exists), 2 jobs (hash: id -> "<rev> <json>")
-- ARGV: 1 id, 2 expected revision (0: absent), 3 'put' or 'delete', 4 the JSON (put)
-- Returns {0, 0} when the environment does not exist, {1, new revision} when written,
-- {2, actual revision} on a conflict.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {0, 0}
end
local actual = 0
local cur = redis.call('HGET', KEYS[2], ARGV[1])
if cur then
  actual = tonumber(string.sub(cur, 1, string.find(cur, ' ', 1, true) - 1))
end
if actual ~= tonumber(ARGV[2]) or (ARGV[3] == 'delete' and actual == 0) then
  return {2, actual}
end
if ARGV[3] == 'delete' then
  redis.call('HDEL', KEYS[2], ARGV[1])
  return {1, 0}
end
redis.call('HSET', KEYS[2], ARGV[1], (actual + 1) .. ' ' .. ARGV[4])
return {1, actual + 1}
