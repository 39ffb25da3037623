-- Exits inside its start function: newservice must return nil.
local skynet = require "skynet"
skynet.start(function()
    skynet.exit()
end)
