-- "spin" never returns on its own: it is there to be found by the monitor and broken by SIGNAL 0.
local skynet = require "skynet"

skynet.start(function()
    skynet.dispatch("lua", function(_, _, cmd)
        if cmd == "spin" then
            while true do end
        elseif cmd == "ping" then
            skynet.retpack("pong", skynet.endless())
        end
    end)
end)
