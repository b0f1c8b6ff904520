-- Takes a lease unless another holder has it; renews it for its holder.
-- KEYS: 1 lease; ARGV: 1 holder, 2 time to live (milliseconds). Returns 1 when taken.
local h = redis.call('GET', KEYS[1])
if h and h ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
