-- The message dispatcher (skynet.dispatcher in C++ for the common cases, skynet.lua for the rest):
-- every branch keeps skynet's behaviour.
local skynet = require "skynet"
local test = require "testlib"

local server

skynet.register_protocol {
    name = "dp_picky",
    id = 210,
    pack = function(text) return text end,
    unpack = skynet.tostring,
}

test.case("setup", function()
    server = skynet.newservice("dp_server")
    local a, b, c = skynet.call(server, "lua", "echo", 1, "two", { 3 })
    test.eq(a, 1, "first")
    test.eq(b, "two", "second")
    test.eq(c[1], 3, "table")
end)

test.case("a request whose unpack raises fails the caller; the service keeps serving", function()
    test.eq(skynet.call(server, "dp_picky", "good"), "good", "plain request")
    test.raises("call failed", skynet.call, server, "dp_picky", "bad")
    for i = 1, 20 do
        test.eq(skynet.call(server, "dp_picky", "good" .. i), "good" .. i, "after the failure")
    end
    test.eq(skynet.call(server, "lua", "tasks"), 0, "no thread left waiting")
end)

test.case("a send whose unpack raises is dropped; the next request works", function()
    skynet.send(server, "dp_picky", "bad")
    test.eq(skynet.call(server, "dp_picky", "fine"), "fine")
end)

test.case("a handler that raises fails the caller; the pooled threads keep working", function()
    for i = 1, 5 do
        test.raises("call failed", skynet.call, server, "lua", "fail", "handler failure " .. i)
        test.eq(skynet.call(server, "lua", "echo", i), i, "served after failure " .. i)
    end
end)

test.case("a request its handler leaves unanswered is reported, and the thread serves again", function()
    skynet.fork(function()
        skynet.call(server, "lua", "forget")   -- never answered: this thread stays waiting
    end)
    local seen = ""
    test.wait_until(function()
        seen = seen .. skynet.call(server, "lua", "log")
        return seen:find("Maybe forgot response", 1, true) ~= nil
    end, 100, "the forgotten response is reported")
    test.eq(seen:match("Maybe forgot response session %d+ from :%x+ : @[^:]*dp_server%.lua:%d+") ~= nil, true, seen)
    for i = 1, 5 do
        test.eq(skynet.call(server, "lua", "echo", i), i, "served after the forgotten one")
    end
    test.eq(skynet.call(server, "lua", "log"), "", "reported once")
end)

test.case("forks queued by a handler run after it, even when the handler raises", function()
    test.eq(skynet.call(server, "lua", "fork_and_reply"), "replied")
    test.eq(skynet.call(server, "lua", "log"), "forked", "fork after a reply")
    test.raises("call failed", skynet.call, server, "lua", "fork_then_fail")
    test.eq(skynet.call(server, "lua", "log"), "forked", "fork after an error")
end)

test.case("wakeups queued inside a request are served", function()
    test.eq(skynet.call(server, "lua", "wake", 50), 50)
end)

test.case("many calls in flight from several threads all come back", function()
    local results, done = {}, 0
    local me = coroutine.running()
    for t = 1, 8 do
        skynet.fork(function()
            for i = 1, 100 do
                local v = skynet.call(server, "lua", "echo", t * 1000 + i)
                if v ~= t * 1000 + i then
                    results[#results + 1] = string.format("thread %d call %d got %s", t, i, tostring(v))
                end
            end
            done = done + 1
            if done == 8 then
                skynet.wakeup(me)
            end
        end)
    end
    skynet.wait(me)
    test.eq(table.concat(results, "; "), "", "wrong answers")
end)

test.case("skynet.dispatcher checks the state table it shares with skynet.lua", function()
    local make = require "skynet.dispatcher".new
    local f = function() end
    local t = {}
    -- S[3] (tracing) and S[4] (busy) must start as booleans, as skynet.lua makes them
    test.raises("S[3] and S[4] (tracing, busy) must be booleans", make, {}, f, f, f, f, t, t, t, t, t, f)
    test.raises("S[3] and S[4] (tracing, busy) must be booleans", make, { nil, nil, false, 1 }, f, f, f, f, t, t, t, t, t, f)
    test.raises("table expected", make, f, f, f, f, f, t, t, t, t, t, f)
    test.raises("table expected", make, { nil, nil, false, false }, f, f, f, f, t, t, t, t, 42, f)
    test.raises("function expected", make, { nil, nil, false, false }, f, f, f, f, t, t, t, t, t, nil)
    -- a well-formed call makes a callback
    test.eq(type(make({ nil, nil, false, false }, f, f, f, f, t, t, t, t, t, f)), "function")
end)

test.run()
