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

-- `rounds` requests whose handler raises (command, text): each fails its caller, and the request right after
-- is served.
local function fails_then_serves(command, text, rounds)
    for i = 1, rounds do
        test.raises("call failed", skynet.call, server, "lua", command, text .. " " .. i)
        test.eq(skynet.call(server, "lua", "echo", i), i, "served after " .. text .. " " .. i)
    end
end

test.case("a handler that raises fails the caller; the pooled threads keep working", function()
    fails_then_serves("fail", "handler failure", 5)
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

-- A thread resumed by a response (here a timer's) takes the lean path (lean_response.h) when it parks
-- again; what it queues, and an error it raises, must still be dealt with before the next message.
test.case("forks queued by a thread a response resumed run before the next message", function()
    for i = 1, 3 do
        test.eq(skynet.call(server, "lua", "sleep_then_fork"), "slept", "answered after the sleep " .. i)
        test.eq(skynet.call(server, "lua", "log"), "forked after sleep", "the fork ran before the next request " .. i)
    end
end)

test.case("a thread a response resumed that raises fails its caller; the service keeps serving", function()
    fails_then_serves("sleep_then_fail", "failure after sleep", 3)
    test.eq(skynet.call(server, "lua", "tasks"), 0, "no thread left waiting")
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
    test.raises("table expected", make, f, f, f, f, t, t, t, f)
    test.raises("function expected", make, {}, f, f, t, t, t, t, f)
    test.raises("table expected", make, {}, f, f, f, t, t, 42, f)
    test.raises("function expected", make, {}, f, f, f, t, t, t, nil)
    -- a well-formed call makes a callback
    local callback = make({}, f, f, f, t, t, t, f)
    test.eq(type(callback), "function")
    -- a boolean type is snlua's continuation of a lean response: from Lua it is refused, not run
    test.raises("a message type must be an integer", callback, false, 0)
    test.raises("a message type must be an integer", callback, false, -1, "extra")
    test.raises("a message type must be an integer", callback, true, 5, f)
    local wake_loop = require "skynet.dispatcher".wake_loop
    test.raises("function expected", wake_loop, {}, t, t, t, t, f, 1)
    test.eq(type(wake_loop({}, t, t, t, t, f, f)), "function")
    -- the API in C needs every table and function slot filled
    local api = require "skynet.dispatcher".api
    local S = {}
    test.raises("S[12] must be a table", api, S)
    for i = 12, 22 do
        S[i] = {}
    end
    S[23], S[24], S[25] = f, {}, f
    test.eq(type(api(S).call), "function", "a complete S")
    S[25] = "trace"
    test.raises("S[25] must be a function", api, S)
    test.raises("table expected", api, nil)
    -- the rest of the scheduler needs S with all its slots, so that its writes stay in the array part
    local scheduler = require "skynet.dispatcher".scheduler
    test.raises("S must list its 38 slots", scheduler, S)
    test.raises("table expected", scheduler, "S")
    local full = {}
    for i = 1, 38 do
        full[i] = false
    end
    -- the scalar slots (3..11, 14, 27) are the snlua's: S must leave them empty
    test.raises("S[3] must be empty (the snlua keeps it)", scheduler, full)
    for i = 3, 11 do
        full[i] = nil
    end
    test.raises("S[14] must be empty (the snlua keeps it)", scheduler, full)
    full[14] = nil
    test.raises("S[27] must be empty (the snlua keeps it)", scheduler, full)
    full[27] = nil
    local made = table.pack(scheduler(full))
    -- S's metatable shows them to Lua: this service's own values (skynet.lua's S shares them)
    test.eq(full[3], false, "S[TRACING]")
    test.eq(math.type(full[5]), "integer", "S[WAKE_HEAD]")
    test.eq(rawget(full, 5), nil, "the raw slot stays empty")
    full[4] = true   -- BUSY: the dispatcher serves the (empty) queues after the next message and clears it
    test.eq(full[4], true, "S[BUSY] written from Lua")
    test.raises("S[5] is a queue index: it takes an integer, not string", function() full[5] = "x" end)
    test.eq(math.type(full[5]), "integer", "a refused write changes nothing")
    full[40] = "kept"   -- any other slot is the table's own
    test.eq(rawget(full, 40), "kept", "other slots are raw")
    test.eq(made.n, 5, "suspend, dispatch_message, finish_message, dispatch_pending, release")
    for i = 1, 5 do
        test.eq(type(made[i]), "function", "made #" .. i)
    end
    test.eq(full[28], made[1], "S[SUSPEND]")
    test.eq(full[31], made[2], "S[DISPATCH_MESSAGE]")
    test.eq(type(full[30]), "function", "S[FORK_LOOP]")
    test.eq(type(full[32]), "function", "S[RESUME]")
    -- service() names the first slot it misses
    local service = require "skynet.dispatcher".service
    test.raises("S[35] must be a table", service, full)
    test.raises("table expected", service, nil)
end)

-- Two threads waking each other `rounds` times; `setup` runs first in each of them (profiling, tracing),
-- `teardown` last.
local function ping_pong(rounds, setup, teardown)
    local me = coroutine.running()
    local ta, tb = {}, {}
    local turn, count, ended = "a", 0, 0
    local function side(mine, other, my_turn, their_turn)
        return function()
            setup()
            for _ = 1, rounds do
                while turn ~= my_turn do
                    skynet.wait(mine)
                end
                count = count + 1
                turn = their_turn
                skynet.wakeup(other)
            end
            teardown()
            ended = ended + 1
            if ended == 2 then
                skynet.wakeup(me)
            end
        end
    end
    skynet.fork(side(ta, tb, "a", "b"))
    skynet.fork(side(tb, ta, "b", "a"))
    while ended < 2 do
        skynet.wait(me)
    end
    return count
end

-- dispatcher.sessions makes views of this service's own pending sessions: the cases below use negative
-- sessions, which the core never hands out, and take them out again.
test.case("session_id_coroutine and watching_session are views of the snlua's entries", function()
    local anchors = {}
    local waiting, watching = require "skynet.dispatcher".sessions(anchors, {})
    local co = coroutine.create(function() end)
    waiting[-5] = co
    test.eq(waiting[-5], co, "a thread")
    local function anchored()
        local n = 0
        for _ in pairs(anchors) do
            n = n + 1
        end
        return n
    end
    test.eq(anchored(), 1, "anchored")
    waiting[-5] = "BREAK"
    test.eq(waiting[-5], "BREAK", "broken")
    test.eq(anchored(), 0, "a broken session holds no thread")
    waiting[-5] = nil
    test.eq(waiting[-5], nil, "removed")
    test.eq(waiting.x, nil, "a key that is no session")
    test.eq(rawget(waiting, -5), nil, "the proxy itself stays empty")
    -- values and keys a session table cannot hold
    test.raises('session_id_coroutine: a value is a thread or "BREAK" (got number)', function() waiting[-5] = 42 end)
    test.raises("session_id_coroutine: a key is a session, a 32-bit integer (got string)",
        function() waiting.x = co end)
    test.raises("watching_session: a key is a session, a 32-bit integer (got an integer out of range)",
        function() watching[1 << 40] = 1 end)
    test.eq(waiting[-5], nil, "a refused write changes nothing")
    -- a watched address is a handle or, anchored, anything else (a name)
    watching[-6] = 0x10
    test.eq(watching[-6], 16, "a handle")
    watching[-6] = ".name"
    test.eq(watching[-6], ".name", "a name")
    test.eq(waiting[-6], nil, "a watch is no waiter")
    watching[-6] = nil
    test.eq(watching[-6], nil, "unwatched")
    test.eq(anchored(), 0, "the name's anchor released")
    -- pairs: the entries present; one removed before it is reached is skipped
    for s = -9, -7 do
        waiting[s] = co
    end
    local seen = 0
    for s, v in pairs(waiting) do
        if s < 0 then
            seen = seen + 1
            test.eq(v, co, "value of " .. s)
            for other = -9, -7 do
                waiting[other] = nil
            end
        end
    end
    test.eq(seen, 1, "the entries removed during the walk were not visited")
    test.eq(getmetatable(waiting), "scheduler", "the metatable is protected")
end)

test.case("session_coroutine_id and session_coroutine_address are views of the snlua's task records", function()
    local anchors = {}
    local _, _, ids, sources = require "skynet.dispatcher".sessions(anchors, {})
    local co = coroutine.create(function() end)
    test.eq(ids[co], nil, "no request")
    ids[co] = 7
    sources[co] = 0x22
    test.eq(ids[co], 7, "session")
    test.eq(sources[co], 0x22, "source")
    local n = 0
    for _ in pairs(anchors) do
        n = n + 1
    end
    test.eq(n, 1, "the thread is anchored once")
    local seen
    for k, v in pairs(ids) do
        if k == co then
            seen = v
        end
    end
    test.eq(seen, 7, "pairs")
    ids[co] = nil
    test.eq(ids[co], nil, "session cleared")
    test.eq(sources[co], 0x22, "the source stays")
    for k in pairs(ids) do
        test.eq(k ~= co, true, "a thread without a session is not listed")
    end
    sources[co] = nil
    test.eq(next(anchors), nil, "released with its last field")
    test.raises("session_coroutine_id: a key is a thread (got number)", function() ids[1] = 2 end)
    test.raises("session_coroutine_id: a value is a session, a 32-bit integer (got string)",
        function() ids[co] = "7" end)
    test.raises("session_coroutine_address: a value is a handle, a 32-bit unsigned integer (got an integer out of range)",
        function() sources[co] = -1 end)
    test.eq(ids[co], nil, "a refused write changes nothing")
    test.eq(ids[42], nil, "a key that is no thread")
    local main = debug.getregistry()[1]   -- LUA_RIDX_MAINTHREAD
    test.raises("session_coroutine_id: the main thread handles no request", function() ids[main] = 1 end)
    test.eq(coroutine.create(function() end) ~= nil and ids[coroutine.create(function() end)], nil,
        "a new thread has no record")
end)

test.case("wait_token is the tokens sleep_session maps to a session marked a wait", function()
    local anchors, sleeping = {}, {}
    local waiting, _, _, _, waits = require "skynet.dispatcher".sessions(anchors, sleeping)
    local token, other = {}, "a string token"
    waiting[-11] = coroutine.create(function() end)
    sleeping[token] = -11
    test.eq(waits[token], nil, "a sleep is no wait")
    waits[token] = -11
    test.eq(waits[token], -11, "marked")
    sleeping[other] = -12
    waits[other] = -12   -- the mark alone keeps an entry for the session
    local seen = {}
    for t, s in pairs(waits) do
        seen[#seen + 1] = tostring(s)
        test.eq(sleeping[t], s, "pairs gives sleep_session's session")
    end
    table.sort(seen)
    test.eq(table.concat(seen, " "), "-11 -12", "both listed")
    waits[token] = nil
    test.eq(waits[token], nil, "unmarked")
    test.eq(sleeping[token], -11, "sleep_session is left alone")
    test.raises("wait_token: a value is a session, a 32-bit integer (got string)", function() waits[token] = "x" end)
    test.raises("wait_token: a key is a token (got nil)", function() waits[nil] = 1 end)
    waits[other] = nil
    sleeping[token], sleeping[other] = nil, nil
    waiting[-11] = nil
    test.eq(next(anchors), nil, "nothing left anchored")
end)

test.case("killthread frees a thread blocked in skynet.wait, whose session nothing answers", function()
    local before = skynet.task()
    local token = {}
    local co
    skynet.fork(function()
        co = coroutine.running()
        skynet.wait(token)
    end)
    skynet.yield()
    test.eq(skynet.task(), before + 1, "waiting")
    test.eq(skynet.killthread(co), co, "killed")
    test.eq(skynet.task(), before, "its session is gone, not left as BREAK")
    test.eq(skynet.wakeup(token), nil, "and its token with it")
end)

test.case("a thread waiting on a session survives a collection with no other reference", function()
    local token = {}
    local woken = false
    skynet.fork(function()
        skynet.wait(token)
        woken = true
    end)
    skynet.yield()   -- the fork waits now; only the session keeps its thread
    collectgarbage()
    collectgarbage()
    test.eq(skynet.wakeup(token), true, "still waiting")
    skynet.yield()
    test.eq(woken, true, "resumed after the collection")
end)

test.case("calls beside a session that stays pending for long all come back", function()
    local before = skynet.task()
    local token = {}
    skynet.fork(function() skynet.wait(token) end)
    skynet.yield()
    for i = 1, 200 do
        local a = skynet.call(server, "lua", "echo", i)
        if a ~= i then
            test.eq(a, i, "answer " .. i)
        end
    end
    test.eq(skynet.wakeup(token), true, "the long wait is still there")
    skynet.yield()
    test.eq(skynet.task(), before, "nothing left waiting")
end)

-- Last: once a thread is traced, the service stays in the traced (Lua) paths for good.
test.case("a long wait/wakeup chain is served in one loop, also while a thread is profiled or traced", function()
    local none = function() end
    test.eq(ping_pong(20000, none, none), 40000, "plain")
    local profile = require "skynet.profile"
    test.eq(ping_pong(5000, profile.start, profile.stop), 10000, "profiled")
    test.eq(ping_pong(300, function() skynet.trace("ping-pong") end, none), 600, "traced")
    -- tracing is on for good now, so skynet.wait hands over to skynet.lua's own: a duplicate token still
    -- names the line of whoever called skynet.wait
    local token = {}
    skynet.fork(function() skynet.wait(token) end)
    skynet.yield()
    local line = debug.getinfo(1, "l").currentline + 1
    local ok, err = pcall(function() skynet.wait(token) end)
    test.eq(ok, false, "second wait on the token")
    test.eq(tostring(err):match("dispatch_paths%.lua:(%d+): token duplicative$"), tostring(line), tostring(err))
    test.eq(skynet.wakeup(token), true, "the first waiter still waits")
end)

test.run()
