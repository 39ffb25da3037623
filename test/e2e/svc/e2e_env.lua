-- Logs the integer config keys as services see them (after the start-up check rewrote them), then ends
-- the node with skynet.abort().
local skynet = require "skynet"
require "skynet.manager"

skynet.start(function()
    for _, key in ipairs { "thread", "harbor", "socket_threads" } do
        skynet.error(string.format("ENV %s=%s", key, tostring(skynet.getenv(key))))
    end
    skynet.abort()
end)
