-- Says it is up and stays idle until the node is stopped.
local skynet = require "skynet"

skynet.start(function()
    skynet.error("idle service up")
end)
