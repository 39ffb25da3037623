-- Service for test/lua/dispatch_paths.lua: requests that take every branch of the dispatcher.
--   protocol "dp_picky" (id 210): its unpack raises on the text "bad", else gives the text
--   lua "echo", ...        -> ...
--   lua "fail", text       raises text
--   lua "fork_then_fail"   queues a fork, then raises; the fork records "forked"
--   lua "fork_and_reply"   queues a fork that records "forked", answers "replied"
--   lua "wake", n          a thread waits on a token; n wakeups in a row; answers how often it woke
--   lua "sleep_then_fork"  sleeps a tick (a timer's answer resumes it), queues a fork that records
--                          "forked after sleep", answers "slept"
--   lua "sleep_then_fail", text   sleeps a tick, then raises text
--   lua "log"              -> the records so far (and clears them)
--   lua "pool"             -> the number of parked threads is not observable; answers the pending task count
--   lua "forget"           never answered: skynet's "Maybe forgot response" line is recorded (see below)
local skynet = require "skynet"
local core = require "skynet.core"

local records = {}

-- skynet.lua reports a forgotten response with core.error; keep those lines for "log" as well.
local log_error = core.error
core.error = function(text)
    if type(text) == "string" and text:find("Maybe forgot response", 1, true) then
        records[#records + 1] = text
    end
    return log_error(text)
end

skynet.register_protocol {
    name = "dp_picky",
    id = 210,
    pack = function(text) return text end,
    unpack = function(msg, sz)
        local text = skynet.tostring(msg, sz)
        if text == "bad" then
            error("dp_picky cannot unpack " .. text)
        end
        return text
    end,
    dispatch = function(_, _, text)
        skynet.ret(text)
    end,
}

local cmd = {}

function cmd.echo(...)
    return ...
end

function cmd.fail(text)
    error(text)
end

function cmd.fork_then_fail()
    skynet.fork(function() records[#records + 1] = "forked" end)
    error("failing after a fork")
end

function cmd.fork_and_reply()
    skynet.fork(function() records[#records + 1] = "forked" end)
    return "replied"
end

function cmd.sleep_then_fork()
    skynet.sleep(1)
    skynet.fork(function() records[#records + 1] = "forked after sleep" end)
    return "slept"
end

function cmd.sleep_then_fail(text)
    skynet.sleep(1)
    error(text)
end

function cmd.wake(n)
    local token = {}
    local woke = 0
    local done = false
    skynet.fork(function()
        for _ = 1, n do
            skynet.wait(token)
            woke = woke + 1
        end
        done = true
    end)
    while not done do
        skynet.yield()
        skynet.wakeup(token)
    end
    return woke
end

function cmd.log()
    local r = records
    records = {}
    return table.concat(r, ",")
end

function cmd.tasks()
    return skynet.task()
end

skynet.start(function()
    skynet.dispatch("lua", function(_, _, command, ...)
        if command == "forget" then
            return
        end
        skynet.retpack(cmd[command](...))
    end)
end)
