-- Unique path per request: every request is a miss through the cache.
-- The salt makes every run's keys new: bench.py passes a unique one (`wrk ... -s miss.lua URL -- SALT`). Without it
-- the run seeds from the clock: unseeded, every run would draw the same salt and a rerun would be all hits.
local counter = 0
math.randomseed(os.time() + math.floor(os.clock() * 1000000))
local salt = tostring(math.random(1, 1000000000))
init = function(args)
  if args[1] then salt = args[1] end
end
request = function()
  counter = counter + 1
  return wrk.format("GET", "/miss/" .. salt .. "-" .. counter)
end
