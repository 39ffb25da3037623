-- Logs a line, then ends the node with skynet.abort().
local skynet = require "skynet"
require "skynet.manager"

skynet.start(function()
    skynet.error("about to abort")
    skynet.abort()
end)
