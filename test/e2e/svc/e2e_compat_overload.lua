-- Sends a service a burst of messages while it is busy (as skynet's testoverload does) so that its
-- queue overloads.
local skynet = require "skynet"
require "skynet.manager"

local mode = ...

if mode == "slow" then
    skynet.start(function()
        skynet.dispatch("lua", function(_, _, cmd, n)
            if cmd == "hold" then
                -- answer first, so the burst starts only once the queue is empty and this service busy;
                -- then stay busy until the whole burst waits in the queue (at most 10 s)
                skynet.ret()
                local deadline = os.time() + 10
                while skynet.mqlen() < n and os.time() < deadline do end
            end
        end)
    end)
    return
end

skynet.start(function()
    local slow = skynet.newservice(SERVICE_NAME, "slow")
    local n = 5000
    skynet.call(slow, "lua", "hold", n)
    for _ = 1, n do
        skynet.send(slow, "lua", "nop")
    end
    skynet.sleep(60)
    skynet.error("burst done")
    skynet.sleep(10)
    skynet.abort()
end)
