-- A demo client of the aggregator: sends a burst of mixed requests at once (one coroutine each, so
-- they are all in flight together) and checks that the answers come back in the order it sent them.
--
--   skynet.call(client, "lua", "run", aggregator, name, count [, slow_at])
--     -> { name, sent, ok, failed, timeouts, in_order, elapsed, answers = { {type, ok, value}... } }
--   slow_at: the index of one request that is too slow for its deadline (a "delay" of 300 cs with a
--   30 cs timeout), to show a timeout; the requests after it wait for it, to keep the order.
local skynet = require "skynet"

local FRUITS = { "apple", "banana", "cherry", "durian", "elderberry" }

-- The i-th request of client `name`: type, payload, opts, and the value expected (nil: not checked).
local function request_for(name, i, slow_at)
    if i == slow_at then
        return "delay", 300, { timeout = 30 }, nil
    end
    local kind = i % 4
    if kind == 0 then
        local text = name .. " says hello " .. i
        return "upper", text, nil, string.upper(text)
    elseif kind == 1 then
        return "sum", { i, i + 1, i + 2 }, nil, 3 * i + 3
    elseif kind == 2 then
        return "get", FRUITS[i % #FRUITS + 1], nil, nil
    end
    return "delay", 5, nil, 5
end

local function run(aggregator, name, count, slow_at)
    local arrived = {}
    local answers = {}
    local left = count
    local me = {}
    local t0 = skynet.now()
    for i = 1, count do
        skynet.fork(function()
            local rtype, payload, opts, expected = request_for(name, i, slow_at)
            local ok, value = skynet.call(aggregator, "lua", "request", rtype, payload, opts)
            arrived[#arrived + 1] = i
            answers[i] = { rtype, ok, value, expected }
            left = left - 1
            if left == 0 then
                skynet.wakeup(me)
            end
        end)
    end
    skynet.wait(me)
    local summary = {
        name = name, sent = count, ok = 0, failed = 0, timeouts = 0, wrong = 0, in_order = true,
        elapsed = skynet.now() - t0, answers = answers,
    }
    for i = 1, count do
        if arrived[i] ~= i then
            summary.in_order = false
        end
        local a = answers[i]
        if a[2] then
            summary.ok = summary.ok + 1
            if a[4] ~= nil and a[3] ~= a[4] then
                summary.wrong = summary.wrong + 1
            end
        elseif a[3] == "timeout" then
            summary.timeouts = summary.timeouts + 1
        else
            summary.failed = summary.failed + 1
        end
    end
    return summary
end

skynet.start(function()
    skynet.dispatch("lua", function(_, _, cmd, ...)
        if cmd ~= "run" then
            error("unknown command " .. tostring(cmd))
        end
        skynet.retpack(run(...))
    end)
end)
