-- Pattern 6.2, retry with exponential back-off: a failed call is tried again after `delay`
-- centiseconds, the delay doubling after each failure, up to max_retries attempts in all.
--   call "call", service, max_retries, initial_delay_cs, ...
--       -> true, result, attempts | false, "Max retries exceeded", attempts
--       attempts: the time (cs since the first attempt) of each attempt
--
-- Differences from the tutorial: the first delay is a parameter (the tutorial's is 100 cs), and a
-- success is told apart from a failure by a flag, so a service answering false or nil is a success.
local skynet = require "skynet"

local function retry_call(service, max_retries, delay, ...)
    local attempts = {}
    local t0 = skynet.now()
    for attempt = 1, max_retries do
        attempts[attempt] = skynet.now() - t0
        local ok, result = pcall(skynet.call, service, ...)
        if ok then
            return true, result, attempts
        end

        if attempt < max_retries then
            skynet.sleep(delay)
            delay = delay * 2  -- Exponential backoff
        end
    end

    return false, "Max retries exceeded", attempts
end

skynet.start(function()
    skynet.dispatch("lua", function(_, _, cmd, ...)
        if cmd == "call" then
            skynet.ret(skynet.pack(retry_call(...)))
        else
            error("unknown command " .. tostring(cmd))
        end
    end)
end)
