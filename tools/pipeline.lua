-- HTTP/1.1 pipelining for wrk, as TechEmpower's toolset runs its plaintext
-- test (`wrk ... -s pipeline.lua -- 16`): DEPTH copies of the request,
-- concatenated once, written as one.
--
--   wrk -c 256 -t 1 -d 5s -s tools/pipeline.lua http://127.0.0.1:8080/ -- 16

init = function(args)
  local r = {}
  local depth = tonumber(args[1]) or 1
  for i = 1, depth do
    r[i] = wrk.format()
  end
  req = table.concat(r)
end

request = function()
  return req
end
