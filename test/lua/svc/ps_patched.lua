-- Changes string.format before it requires skynet (test/lua/prepared_state.lua): skynet.lua keeps the
-- string.format it finds as it loads, so skynet.address must go through this one, as it would if this
-- service loaded skynet.lua itself.
local calls = 0
local format = string.format
string.format = function(...)
    calls = calls + 1
    return format(...)
end

local skynet = require "skynet"

skynet.start(function()
    skynet.dispatch("lua", function()
        local before = calls
        local text = skynet.address(skynet.self())
        skynet.retpack(text, calls - before)
    end)
end)
