-- Started on a node with a preload file that notes whether skynet was loaded when it ran (test_node.py):
-- it runs before the service's first require, so it never was, in this service nor in the ones it launches.
local skynet = require "skynet"
require "skynet.manager"

local mode = ...

skynet.start(function()
    if mode == "child" then
        skynet.dispatch("lua", function()
            skynet.retpack(PRELOAD_SAW_SKYNET)
        end)
        return
    end
    local seen = {}
    for i = 1, 24 do
        local s = skynet.newservice("e2e_preload", "child")
        seen[i] = tostring(skynet.call(s, "lua"))
        skynet.kill(s)
    end
    skynet.error("preload saw skynet: " .. table.concat(seen, " ") .. " / start " .. tostring(PRELOAD_SAW_SKYNET))
    skynet.abort()
end)
