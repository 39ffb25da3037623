-- A worker of the echo relay: one service per message. It gets one "work" message from the relay,
-- pauses 100 ms, answers the client directly with the upper-cased text and its own address, reports
-- its result to the relay and exits (which fires the relay's skynet.watch).
local skynet = require "skynet"

local PAUSE = 10    -- centiseconds

skynet.start(function()
    skynet.dispatch("lua", function(_, relay, cmd, client, id, text)
        if cmd ~= "work" then
            skynet.error("unexpected command " .. tostring(cmd))
            return
        end
        local ok, upper = pcall(function()
            skynet.sleep(PAUSE)
            return string.upper(text)
        end)
        if ok then
            skynet.send(client, "lua", "echo_response", id, { data = upper, worker = skynet.self() })
        else
            skynet.error("work failed: " .. tostring(upper))
        end
        -- the seed's worker returns 0; skynet services have no return value, so it is sent
        skynet.send(relay, "lua", "result", ok and 0 or 1)
        skynet.exit()
    end)
end)
