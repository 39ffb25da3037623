-- Sends `n` numbered messages to `consumer` as fast as it can, yielding every 1000 so that the node's
-- other services (the console, the launcher) still get a worker.
local skynet = require "skynet"

local consumer, n = ...
consumer = math.tointeger(tonumber(consumer))
n = math.tointeger(tonumber(n))

skynet.start(function()
    skynet.dispatch("lua", function()
        for i = 1, n do
            skynet.send(consumer, "lua", i)
            if i % 1000 == 0 then skynet.yield() end
        end
        skynet.retpack(n)
    end)
end)
