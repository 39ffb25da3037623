-- Launches a child with arguments, then ends the node: its log shows the LAUNCH lines of the boot.
local skynet = require "skynet"
require "skynet.manager"

local mode = ...

if mode == "child" then
    skynet.start(function() end)
    return
end

skynet.start(function()
    skynet.newservice(SERVICE_NAME, "child", "two words")
    skynet.error("children started")
    skynet.sleep(10)   -- the logger is asynchronous: give it the LAUNCH lines before aborting
    skynet.abort()
end)
