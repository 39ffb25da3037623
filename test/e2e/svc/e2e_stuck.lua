-- A service that loops forever in its handler, so SIGTERM cannot stop it normally.
local skynet = require "skynet"

skynet.start(function()
    skynet.error("stuck service up")
    skynet.fork(function()
        while true do end
    end)
end)
