-- Helper for the lualib tests: skynet.init hooks registered from the main chunk run before the
-- start function, in order; the start function reports the order through its GET command.
local skynet = require "skynet"

local order = {}
skynet.init(function() order[#order + 1] = "init1" end)
skynet.init(function() order[#order + 1] = "init2" end)
order[#order + 1] = "main"

skynet.start(function()
    order[#order + 1] = "start"
    skynet.dispatch("lua", function()
        skynet.retpack(table.concat(order, ","), SERVICE_NAME, SERVICE_PATH)
    end)
end)
