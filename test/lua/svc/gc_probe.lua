-- memory.lua: the collector's mode when the service's first request arrives.
local skynet = require "skynet"

skynet.start(function()
    skynet.dispatch("lua", function()
        skynet.ret(skynet.pack(collectgarbage("generational")))   -- returns the mode it was in
    end)
end)
