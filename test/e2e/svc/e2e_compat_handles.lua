-- Launches twelve children inside its start function (bootstrap still waits for it, as in skynet's
-- testmulticast) and logs their handles.
local skynet = require "skynet"
require "skynet.manager"

local mode = ...

if mode == "child" then
    skynet.start(function() end)
    return
end

skynet.start(function()
    local handles = {}
    for i = 1, 12 do
        handles[i] = skynet.address(skynet.newservice(SERVICE_NAME, "child"))
    end
    skynet.error("children " .. table.concat(handles, " "))
    skynet.sleep(10)
    skynet.abort()
end)
