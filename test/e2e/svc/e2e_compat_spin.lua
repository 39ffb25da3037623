-- Runs an endless loop in its start function: the monitor reports it; the test stops the node.
local skynet = require "skynet"

skynet.start(function()
    skynet.error("spinning")
    while true do end
end)
