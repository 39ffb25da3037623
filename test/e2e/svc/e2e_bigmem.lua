-- Holds about 80 MB of Lua strings (no memlimit), so the 32 MB and 64 MB warnings are logged, then ends.
local skynet = require "skynet"
require "skynet.manager"

skynet.start(function()
    local hold = {}
    for i = 1, 80 * 1024 do
        hold[i] = string.rep("m", 1000) .. i
    end
    skynet.error("holding " .. #hold .. " strings")
    skynet.abort()
end)
