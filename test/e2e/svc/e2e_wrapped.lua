-- Started on a node whose lua_path finds a skynet.lua of the user's first (test_node.py), which loads ours and
-- asks for the service's address as it loads: it must be this service's, as if no state was prepared ahead.
local skynet = require "skynet"
require "skynet.manager"

local mode = ...

skynet.start(function()
    if mode == "child" then
        skynet.dispatch("lua", function()
            skynet.retpack(skynet.self_at_load == skynet.self())
        end)
        return
    end
    local seen = {}
    for i = 1, 24 do
        local s = skynet.newservice("e2e_wrapped", "child")
        seen[i] = tostring(skynet.call(s, "lua"))
        skynet.kill(s)
    end
    skynet.error("own address at load: " .. table.concat(seen, " "))
    skynet.abort()
end)
