-- Launches services and reports what they saw as they loaded (test_node.py): on a node with a preload file
-- that notes whether skynet was loaded when it ran (never: it runs before the service's first require), and
-- on a node whose lua_path finds a skynet.lua of the user's first, which loads ours and asks for the
-- service's address as it loads (each service's own, as if no state was prepared ahead).
local skynet = require "skynet"
require "skynet.manager"

local mode = ...

skynet.start(function()
    if mode == "child" then
        skynet.dispatch("lua", function()
            skynet.retpack(PRELOAD_SAW_SKYNET, skynet.self_at_load == skynet.self())
        end)
        return
    end
    local saw, own = {}, {}
    for i = 1, 24 do
        local s = skynet.newservice("e2e_prepared", "child")
        local a, b = skynet.call(s, "lua")
        saw[i], own[i] = tostring(a), tostring(b)
        skynet.kill(s)
    end
    skynet.error("preload saw skynet: " .. table.concat(saw, " ") .. " / start " .. tostring(PRELOAD_SAW_SKYNET))
    skynet.error("own address at load: " .. table.concat(own, " "))
    skynet.abort()
end)
