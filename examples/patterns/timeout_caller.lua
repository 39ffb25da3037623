-- Pattern 4.2, call with a timeout: the tutorial's call_with_timeout, offered as a service.
--   call "call", service, timeout_seconds, ...  -> true, results... | false, "Timeout" | false, error
--   call "timers"  -> how many timeout timers ran (a call answered in time cancels its timer)
--
-- The timer is cancelled with skynet.kill(timeout_session) as in the tutorial (extension §8: the
-- value skynet.timeout returns can be killed; its function never runs). Two fixes to the tutorial:
--   * the wait token is a table made for this call, not coroutine.running(): the coroutine returns to
--     the pool after the request and serves the next one, and a late answer to this call would wake
--     that next request's wait;
--   * the call runs under pcall, so an error comes back as an error, not as a timeout.
local skynet = require "skynet"
require "skynet.manager"    -- skynet.kill

local timers_run = 0

local function call_with_timeout(service, timeout, ...)
    local token = {}
    local response
    local args = table.pack(...)

    -- Start timeout timer
    local timeout_session = skynet.timeout(math.floor(timeout * 100), function()
        timers_run = timers_run + 1
        if not response then
            skynet.wakeup(token)
        end
    end)

    -- Make the call
    skynet.fork(function()
        response = table.pack(pcall(skynet.call, service, table.unpack(args, 1, args.n)))
        skynet.wakeup(token)
    end)

    -- Wait for response or timeout
    skynet.wait(token)

    if response then
        skynet.kill(timeout_session)
        if response[1] then
            return true, table.unpack(response, 2, response.n)
        end
        return false, tostring(response[2])
    else
        return false, "Timeout"
    end
end

skynet.start(function()
    skynet.dispatch("lua", function(_, _, cmd, ...)
        if cmd == "call" then
            skynet.ret(skynet.pack(call_with_timeout(...)))
        elseif cmd == "timers" then
            skynet.ret(skynet.pack(timers_run))
        else
            error("unknown command " .. tostring(cmd))
        end
    end)
end)
