-- A caller for test/lua/exit_paths.lua: "call", target, ... calls target and answers how that call ended:
-- "ok:" and the first result, or the error text.
local skynet = require "skynet"

skynet.start(function()
    skynet.dispatch("lua", function(_, _, cmd, target, ...)
        assert(cmd == "call", cmd)
        local ok, result = pcall(skynet.call, target, "lua", ...)
        skynet.retpack(ok and ("ok:" .. tostring(result)) or tostring(result))
    end)
end)
