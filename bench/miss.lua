-- Unique path per request: every request is a miss through the cache.
-- Seeded per run: unseeded, every run would draw the same salt and a second run against the same cache would be hits.
math.randomseed(os.time() + math.floor(os.clock() * 1000000))
local counter = 0
local salt = math.random(1, 1000000000)
request = function()
  counter = counter + 1
  return wrk.format("GET", "/miss/" .. salt .. "-" .. counter)
end
