-- A new trace object of one size every request: every request is a miss through the cache (bench/deployed.py's
-- misses by size). The origin serves any /t/ID/SIZE. Arguments: SIZE and the first ID, which the harness makes
-- different for every window so that no run or cache asks for an object twice.
local size, next_id = "1024", 0
init = function(args)
  size, next_id = args[1], tonumber(args[2])
end
request = function()
  next_id = next_id + 1
  return wrk.format("GET", "/t/" .. next_id .. "/" .. size)
end
