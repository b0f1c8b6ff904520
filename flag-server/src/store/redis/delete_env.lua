-- Deletes every key of one environment (they share one hash slot).
-- KEYS: 1 version, then the environment's other keys.
-- Returns 0 when the environment does not exist, 1 otherwise.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
redis.call('DEL', unpack(KEYS))
return 1
