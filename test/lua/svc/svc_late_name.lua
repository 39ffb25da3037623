-- Registers itself under the name given as first argument after `delay` centiseconds (second
-- argument), then answers lua "ping" with "pong" and its address.
local skynet = require "skynet"
local name, delay = ...

skynet.start(function()
    skynet.dispatch("lua", function(_, _, command)
        if command == "ping" then
            skynet.retpack("pong", skynet.self())
        end
    end)
    skynet.fork(function()
        skynet.sleep(tonumber(delay) or 0)
        skynet.register(name)
    end)
end)
