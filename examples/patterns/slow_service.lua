-- The service that the timeout, circuit breaker and retry patterns call when they need something
-- that can be slow or fail. Optionally registered under a global name (first argument).
--   call "work", x, delay_cs  -> x (after delay_cs)
--   call "fail_next", n       -> failing the next n "work" calls (the caller's call raises "call failed")
--   call "set_failing", bool  -> every "work" call fails while true
--   call "calls"              -> how many "work" calls it received, and their times (cs)
local skynet = require "skynet"

local name = ...
local fail_next = 0
local failing = false
local calls = 0
local times = {}

local FAIL = {}     -- what a failing "work" returns: the request is answered with an error

local CMD = {}

function CMD.work(x, delay)
    calls = calls + 1
    times[calls] = skynet.now()
    if failing or fail_next > 0 then
        if fail_next > 0 then
            fail_next = fail_next - 1
        end
        return FAIL
    end
    delay = math.tointeger(delay) or 0
    if delay > 0 then
        skynet.sleep(delay)
    end
    return x
end

function CMD.fail_next(n)
    fail_next = n
    return true
end

function CMD.set_failing(on)
    failing = on and true or false
    return true
end

function CMD.calls()
    return calls, times
end

skynet.start(function()
    skynet.dispatch("lua", function(_, _, cmd, ...)
        local f = CMD[cmd]
        if not f then
            error("unknown command " .. tostring(cmd))
        end
        local r = table.pack(f(...))
        if r[1] == FAIL then
            skynet.response()(false)    -- an error answer, without a stack trace in the log
        else
            skynet.ret(skynet.pack(table.unpack(r, 1, r.n)))
        end
    end)
    if name then
        skynet.register(name)
    end
end)
