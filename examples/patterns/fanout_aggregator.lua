-- Pattern 3.3, aggregation with fork/wait/wakeup: ask several sources at once and wait until all have
-- answered. The calls run in forked coroutines; the last one to finish wakes the waiting request.
-- So the whole takes as long as the slowest source, not the sum of them.
--   call "aggregate", {sources}, query  -> { [source] = response }   (false for a source that failed)
local skynet = require "skynet"

local function aggregate_data(sources, query)
    local responses = {}
    local pending = #sources
    if pending == 0 then
        return responses
    end
    local response_session = coroutine.running()

    for _, source in ipairs(sources) do
        skynet.fork(function()
            -- a failing source must still count down, or the wait below would never end
            local ok, response = pcall(skynet.call, source, "lua", "query", query)
            responses[source] = ok and response
            pending = pending - 1
            if pending == 0 then
                skynet.wakeup(response_session)
            end
        end)
    end

    skynet.wait(response_session)
    return responses
end

skynet.start(function()
    skynet.dispatch("lua", function(_, _, cmd, ...)
        if cmd == "aggregate" then
            skynet.ret(skynet.pack(aggregate_data(...)))
        else
            error("unknown command " .. tostring(cmd))
        end
    end)
end)
