-- skynet.coroutine (user coroutines that may block in skynet), skynet.queue, and to-be-closed
-- variables across errors, exit and kill.
local skynet = require "skynet"
require "skynet.manager"
local scoroutine = require "skynet.coroutine"
local queue = require "skynet.queue"
local test = require "testlib"

local echo

-- "closed" notifications from helpers' to-be-closed variables
local closed = {}
skynet.dispatch("lua", function(_, _, what, key)
    if what == "closed" then
        closed[key] = true
    end
end)

test.case("a skynet coroutine yields values and blocks in calls inside", function()
    local co = scoroutine.create(function(a)
        local echoed = skynet.call(echo, "lua", "ECHO", a * 2)
        local b = scoroutine.yield(echoed)
        skynet.sleep(1)
        local c = scoroutine.yield(b + 1)
        return "done", c
    end)
    test.eq(scoroutine.status(co), "suspended", "fresh status")
    local ok, v = scoroutine.resume(co, 21)
    test.eq(ok, true, "resume 1")
    test.eq(v, 42, "value through a blocking call")
    ok, v = scoroutine.resume(co, 9)
    test.eq(ok, true, "resume 2")
    test.eq(v, 10, "second yield")
    local r1, r2
    ok, r1, r2 = scoroutine.resume(co, "c")
    test.eq(ok, true, "resume 3")
    test.eq(r1, "done", "return 1")
    test.eq(r2, "c", "return 2")
    test.eq(scoroutine.status(co), "dead", "finished")
    ok, v = scoroutine.resume(co)
    test.eq(ok, false, "resume of a dead coroutine")
    test.eq(tostring(v):find("dead", 1, true) ~= nil, true, "dead message")
end)

test.case("status is blocked while a skynet call is pending inside", function()
    local co = scoroutine.create(function()
        skynet.call(echo, "lua", "SLEEP", 10)
        return "finished"
    end)
    local seen
    skynet.fork(function()
        skynet.sleep(3)
        seen = scoroutine.status(co)
        local ok, err = scoroutine.resume(co)
        seen = seen .. "|" .. tostring(ok) .. "|" .. tostring(err)
    end)
    local ok, v = scoroutine.resume(co)
    test.eq(ok, true, "resume")
    test.eq(v, "finished", "result")
    test.eq(seen:sub(1, 7), "blocked", "status seen by another thread")
    test.eq(seen:find("false|cannot resume a skynet coroutine suspend by skynet framework", 1, true) ~= nil,
        true, "resume while blocked: " .. seen)
end)

test.case("wrap, thread, running, isyieldable", function()
    local root = coroutine.running()
    local inner_thread, inner_main
    local f = scoroutine.wrap(function(x)
        inner_thread, inner_main = scoroutine.thread()
        local y = scoroutine.yield(x + 1)
        skynet.sleep(1)
        return y * 2
    end)
    test.eq(f(1), 2, "first")
    test.eq(inner_thread, root, "thread() gives the skynet thread")
    test.eq(inner_main, false, "not a skynet thread itself")
    test.eq(f(5), 10, "second")
    local t, is_main = scoroutine.thread()
    test.eq(t, root, "own thread")
    test.eq(is_main, true, "a skynet thread")
    test.eq(scoroutine.running(), root, "running")
    test.eq(scoroutine.isyieldable(), true, "isyieldable")
    local g = scoroutine.wrap(function() error("inside wrap") end)
    test.raises("inside wrap", g)
end)

test.case("resume of a plain coroutine is refused", function()
    local ok, err = scoroutine.resume(coroutine.create(function() end))
    test.eq(ok, false, "refused")
    test.eq(err, "cannot resume none skynet coroutine", "message")
end)

test.case("errors inside a skynet coroutine come back from resume", function()
    local co = scoroutine.create(function()
        skynet.sleep(1)
        error("inner failure")
    end)
    local ok, err = scoroutine.resume(co)
    test.eq(ok, false, "resume result")
    test.eq(tostring(err):find("inner failure", 1, true) ~= nil, true, "error text")
end)

test.case("close of a suspended skynet coroutine", function()
    local log = {}
    local co = scoroutine.create(function()
        local guard <close> = setmetatable({}, { __close = function() log[#log + 1] = "closed" end })
        scoroutine.yield()
    end)
    scoroutine.resume(co)
    test.eq(scoroutine.close(co), true, "close")
    test.eq(log[1], "closed", "tbc ran")
end)

test.case("queue serialises critical sections", function()
    local cs = queue()
    local log = {}
    local done = 0
    local function worker(name)
        cs(function()
            log[#log + 1] = name .. "+"
            skynet.sleep(2)
            log[#log + 1] = name .. "-"
        end)
        done = done + 1
    end
    skynet.fork(worker, "a")
    skynet.fork(worker, "b")
    skynet.fork(worker, "c")
    test.wait_until(function() return done == 3 end, 100, "workers")
    test.eq(table.concat(log, " "), "a+ a- b+ b- c+ c-", "no interleaving")
end)

test.case("queue is re-entrant and returns results", function()
    local cs = queue()
    local r1, r2 = cs(function(x)
        return cs(function() return x, "inner" end)
    end, "outer")
    test.eq(r1, "outer", "result 1")
    test.eq(r2, "inner", "result 2")
end)

test.case("queue is released when the function raises", function()
    local cs = queue()
    test.raises("inside the section", cs, function() error("inside the section") end)
    local entered = false
    skynet.fork(function() cs(function() entered = true end) end)
    skynet.sleep(1)
    test.eq(entered, true, "section free again")
end)

test.case("queue is released when the owner is killed", function()
    local cs = queue()
    local co = skynet.fork(function()
        cs(function() skynet.sleep(1000) end)
    end)
    skynet.yield()
    local entered = false
    skynet.fork(function() cs(function() entered = true end) end)
    skynet.yield()
    test.eq(entered, false, "waiting for the owner")
    skynet.killthread(co)
    skynet.sleep(1)
    test.eq(entered, true, "the next thread got in")
end)

test.case("to-be-closed variables are closed when a handler raises", function()
    local log = {}
    skynet.fork(function()
        local guard <close> = setmetatable({}, { __close = function(_, err)
            log[#log + 1] = "closed:" .. tostring(err):match("expected tbc failure")
        end })
        skynet.sleep(1)
        error("expected tbc failure")
    end)
    skynet.sleep(3)
    test.eq(log[1], "closed:expected tbc failure", "closed with the error")
end)

test.case("to-be-closed variables are closed when the service exits", function()
    local victim = skynet.newservice "ll_echo"
    local me = skynet.self()
    skynet.fork(function() pcall(skynet.call, victim, "lua", "TBCSLEEP", me, "exit1") end)
    skynet.fork(function() pcall(skynet.call, victim, "lua", "TBCSLEEP", me, "exit2") end)
    skynet.sleep(5)
    skynet.send(victim, "lua", "EXIT")
    test.wait_until(function() return closed.exit1 and closed.exit2 end, 200, "close notifications")
end)

test.case("to-be-closed variables are closed when the service is killed", function()
    local victim = skynet.newservice "ll_echo"
    local me = skynet.self()
    local result
    skynet.fork(function()
        local ok, err = pcall(skynet.call, victim, "lua", "TBCSLEEP", me, "kill1")
        result = ok and "returned" or tostring(err)
    end)
    skynet.sleep(5)
    skynet.kill(victim)
    test.wait_until(function() return closed.kill1 end, 200, "close notification")
    test.wait_until(function() return result end, 200, "caller answer")
    test.eq(result:find("call failed", 1, true) ~= nil, true, "caller: " .. result)
end)

test.case("require from two threads at once loads the module once", function()
    local a, b
    skynet.fork(function() a = require "ll_slowmod" end)
    skynet.fork(function() b = require "ll_slowmod" end)
    test.wait_until(function() return a and b end, 100, "both requires")
    test.eq(a, b, "same module table")
    test.eq(_G.LL_SLOWMOD_LOADS, 1, "chunk ran once")
    test.eq(table.concat(a.log, ","), "chunk,chunk done,init", "init hook after the chunk")
    test.eq(package.loaded.ll_slowmod, a, "package.loaded")
end)

test.case("a module that fails while loading fails every waiting require", function()
    local r1, r2
    skynet.fork(function() local ok, err = pcall(require, "ll_badmod"); r1 = ok and "ok" or tostring(err) end)
    skynet.fork(function() local ok, err = pcall(require, "ll_badmod"); r2 = ok and "ok" or tostring(err) end)
    test.wait_until(function() return r1 and r2 end, 100, "both requires")
    test.eq(r1:find("ll_badmod fails on purpose", 1, true) ~= nil, true, "loader: " .. r1)
    test.eq(r2:find("require ll_badmod failed", 1, true) ~= nil, true, "waiter: " .. r2)
    test.eq(package.loaded.ll_badmod, nil, "not loaded")
end)

test.case("skynet.init after start runs at once", function()
    local ran = false
    skynet.init(function() ran = true end)
    test.eq(ran, true, "ran")
end)

test.run(function()
    echo = skynet.newservice "ll_echo"
end)
