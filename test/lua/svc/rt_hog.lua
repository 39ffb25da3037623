-- A service with a memory limit: "grow" allocates without bound (and must fail with a Lua error),
-- "ping" shows it still serves afterwards.  "grow_unprotected" lets that error kill the handler while
-- the memory is still held (the service stays over its limit); "free" lets it go.
local skynet = require "skynet"

skynet.memlimit(8 * 1024 * 1024)

local hoard = {}

skynet.start(function()
    skynet.dispatch("lua", function(_, _, cmd)
        if cmd == "grow" then
            local ok, err = pcall(function()
                for i = 1, math.huge do
                    hoard[i] = string.rep("x", 1000) .. i
                end
            end)
            hoard = {}
            collectgarbage()
            skynet.retpack(ok, tostring(err))
        elseif cmd == "grow_unprotected" then
            for i = 1, math.huge do
                hoard[i] = string.rep("y", 1000) .. i
            end
        elseif cmd == "free" then
            hoard = nil
            collectgarbage()
            hoard = {}
            skynet.retpack("freed")
        elseif cmd == "ping" then
            skynet.retpack("pong")
        end
    end)
end)
