-- Unique path per request: every request is a miss through the cache.
local counter = 0
local salt = math.random(1, 1000000000)
request = function()
  counter = counter + 1
  return wrk.format("GET", "/miss/" .. salt .. "-" .. counter)
end
