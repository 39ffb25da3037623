-- The debug protocol (PTYPE 9) registered in every service by skynet.lua.
local skynet = require "skynet"
require "skynet.manager"
local test = require "testlib"

local echo

local function dcall(...)
    return skynet.call(echo, "debug", ...)
end

test.case("MEM reports the Lua heap in KB", function()
    local kb = dcall "MEM"
    test.eq(type(kb), "number", "type")
    test.eq(kb > 0, true, "positive")
end)

test.case("GC collects and answers", function()
    local kb = dcall "GC"
    test.eq(type(kb), "number", "memory after GC")
    skynet.send(echo, "debug", "GC")  -- a send must not produce anything either
    test.eq(dcall "PING", nil, "still alive")
end)

test.case("STAT", function()
    local stat = dcall "STAT"
    test.eq(type(stat), "table", "type")
    test.eq(math.type(stat.task), "integer", "task")
    test.eq(math.type(stat.mqlen), "integer", "mqlen")
    test.eq(type(stat.cpu), "number", "cpu")
    test.eq(math.type(stat.message), "integer", "message")
    test.eq(stat.message > 0, true, "messages counted")
end)

test.case("TASK lists pending sessions", function()
    skynet.fork(function() pcall(skynet.call, echo, "lua", "SLEEP", 50) end)
    skynet.sleep(5)
    local tasks = dcall "TASK"
    test.eq(type(tasks), "table", "type")
    local n, traced = 0, false
    for k, v in pairs(tasks) do
        n = n + 1
        test.eq(tostring(k):find("session", 1, true) ~= nil, true, "key names the session")
        traced = traced or tostring(v):find("stack traceback", 1, true) ~= nil
    end
    test.eq(n >= 1, true, "at least the sleeping handler")
    test.eq(traced, true, "tracebacks")
    local stat = dcall "STAT"
    test.eq(stat.task >= 1, true, "STAT task count")
end)

test.case("UNIQTASK groups pending tasks", function()
    local t = dcall "UNIQTASK"
    test.eq(type(t), "table", "type")
end)

test.case("INFO answers with info_func", function()
    test.eq(dcall "INFO", nil, "no info_func: nil")
    skynet.call(echo, "lua", "SETINFO", "hello")
    local a, b = dcall("INFO", "arg")
    test.eq(a, "hello", "info value")
    test.eq(b, "arg", "info args")
end)

test.case("PING answers with nothing", function()
    test.eq(select("#", dcall "PING"), 0, "no values")
end)

test.case("SUPPORT tells which protocols have a dispatch", function()
    test.eq(dcall("SUPPORT", "lua"), true, "lua")
    test.eq(dcall("SUPPORT", "nosuchproto"), false, "unknown")
end)

test.case("RUN injects code and returns its output", function()
    local ok, output = dcall("RUN", "print('injected', 1 + 1) print(type(_U), type(_P))", nil)
    test.eq(ok, true, "ok")
    test.eq(output, "injected\t2\ntable\ttable", "output")
    ok, output = dcall("RUN", "error('expected injected failure')", "inject_test")
    test.eq(ok, false, "error reported")
    test.eq(output:find("expected injected failure", 1, true) ~= nil, true, "error text")
    ok, output = dcall("RUN", "this is not lua", nil)
    test.eq(ok, false, "syntax error reported")
end)

test.case("RUN sees the scheduler tables through _U", function()
    local ok, output = dcall("RUN", "print(type(_U.session_id_coroutine), type(_U.proto))", nil)
    test.eq(ok, true, "ok")
    test.eq(output, "table\ttable", "tables found")
end)

test.case("an unknown debug command fails the call", function()
    test.raises("call failed", dcall, "NO_SUCH_DEBUG_COMMAND")
end)

test.case("LINK is answered with an error when the service exits", function()
    local victim = skynet.newservice "ll_echo"
    local result
    skynet.fork(function()
        local ok, err = pcall(skynet.call, victim, "debug", "LINK")
        result = ok and "returned" or tostring(err)
    end)
    skynet.sleep(5)
    test.eq(result, nil, "LINK blocks")
    skynet.send(victim, "debug", "EXIT")
    test.wait_until(function() return result end, 200, "link answer")
    test.eq(result:find("call failed", 1, true) ~= nil, true, "link result: " .. result)
end)

test.case("KILLTASK kills a pending thread by name", function()
    local victim = skynet.newservice "ll_echo"
    local result
    skynet.fork(function()
        local ok, err = pcall(skynet.call, victim, "lua", "SLEEP", 1000)
        result = ok and "returned" or tostring(err)
    end)
    skynet.sleep(5)
    local tasks = skynet.call(victim, "debug", "TASK")
    local name
    for k in pairs(tasks) do
        name = tostring(k):match("^(thread: %S+)")
        if name then break end
    end
    test.eq(name ~= nil, true, "found a thread name")
    test.eq(skynet.call(victim, "debug", "KILLTASK", name), nil, "killed")
    test.wait_until(function() return result end, 100, "caller answered")
    test.eq(result:find("call failed", 1, true) ~= nil, true, "caller: " .. result)
    test.eq(skynet.call(victim, "debug", "KILLTASK", "thread: 0xnothing"), "Not found", "unknown")
    skynet.kill(victim)
end)

test.case("TERM fails calls waiting on a service", function()
    local victim = skynet.newservice "ll_echo"
    -- victim calls echo and never gets an answer; TERM echo makes that call fail
    skynet.call(victim, "lua", "CALLFOREVER", echo, "NORET")
    skynet.sleep(5)
    skynet.send(victim, "debug", "TERM", echo)
    skynet.sleep(5)
    local text = skynet.call(victim, "lua", "NOTE", "forever")
    test.eq(tostring(text):find("call failed", 1, true) ~= nil, true, "after TERM: " .. tostring(text))
    skynet.kill(victim)
end)

test.case("debug EXIT ends the service", function()
    local victim = skynet.newservice "ll_echo"
    skynet.send(victim, "debug", "EXIT")
    skynet.sleep(5)
    test.raises("call to invalid address", skynet.call, victim, "lua", "ECHO")
end)

test.case("reg_debugcmd adds a command", function()
    require("skynet.debug").reg_debugcmd("LLHELLO", function(x) skynet.retpack("hi " .. x) end)
    test.eq(skynet.call(skynet.self(), "debug", "LLHELLO", "me"), "hi me", "own command")
end)

test.run(function()
    echo = skynet.newservice "ll_echo"
end)
