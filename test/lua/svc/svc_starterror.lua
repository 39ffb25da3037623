-- The start function raises: the launch must fail.
local skynet = require "skynet"
skynet.start(function()
    error("svc_starterror: start failure")
end)
