-- Scheduling rules of skynet.lua (spec §1.2, §3.6, §8): fork, sleep, wait/wakeup, yield,
-- timeout, killthread, and cancelling timeouts.
local skynet = require "skynet"
require "skynet.manager"
local test = require "testlib"

-- Unknown sessions are recorded instead of only logged, so that a late timer can be detected.
local unknown = {}
skynet.dispatch_unknown_response(function(session, source)
    unknown[#unknown + 1] = string.format("%d from %x", session, source)
end)

test.case("fork runs after the current thread yields, in FIFO order", function()
    local log = {}
    skynet.fork(function() log[#log + 1] = "a" end)
    skynet.fork(function(x, y) log[#log + 1] = x .. y end, "b", "c")
    skynet.fork(function() log[#log + 1] = "d" end)
    test.eq(#log, 0, "nothing ran before yielding")
    skynet.yield()
    test.eq(table.concat(log, ","), "a,bc,d", "fork order")
end)

test.case("fork passes nil arguments through", function()
    local got
    skynet.fork(function(...) got = table.pack(...) end, nil, 2, nil)
    skynet.yield()
    test.eq(got.n, 3, "arg count")
    test.eq(got[2], 2, "arg 2")
end)

test.case("fork returns a thread", function()
    local co = skynet.fork(function() end)
    test.eq(type(co), "thread", "type")
end)

test.case("sleep returns nil when the timer fires", function()
    local start = skynet.now()
    local r = table.pack(skynet.sleep(5))
    test.eq(r.n, 0, "sleep returns nothing")
    test.eq(skynet.now() - start >= 5, true, "slept long enough")
end)

test.case("sleep returns BREAK when woken, and the timer is swallowed", function()
    local result = "unset"
    local co = skynet.fork(function()
        result = skynet.sleep(20)
    end)
    skynet.yield()
    test.eq(skynet.wakeup(co), true, "wakeup of a sleeper")
    skynet.yield()
    test.eq(result, "BREAK", "sleep result")
    local before = #unknown
    skynet.sleep(30)
    test.eq(#unknown, before, "the timer's expiry is not an unknown session")
end)

test.case("sleep with an explicit token, and duplicate tokens", function()
    local token = {}
    local result = "unset"
    skynet.fork(function() result = skynet.sleep(100, token) end)
    skynet.yield()
    test.raises("token duplicative", skynet.sleep, 1, token)
    test.eq(skynet.wakeup(token), true, "wakeup by token")
    skynet.yield()
    test.eq(result, "BREAK", "woken by token")
end)

test.case("wait with a token another thread waits on raises at the caller's line; its session is freed", function()
    local token = {}
    local woke = false
    skynet.fork(function()
        skynet.wait(token)
        woke = true
    end)
    skynet.yield()
    local ok, err = pcall(skynet.wait, token)
    test.eq(ok, false, "second wait on the token")
    test.eq(err, "token duplicative", "pcall'd directly: no position to add")
    local line = debug.getinfo(1, "l").currentline + 1
    local ok2, err2 = pcall(function() skynet.wait(token) end)
    test.eq(ok2, false, "second wait from a function")
    test.eq(err2:match("scheduling%.lua:(%d+): token duplicative$"), tostring(line), err2)
    test.eq(skynet.wakeup(token), true, "the first waiter still waits")
    skynet.yield()
    test.eq(woke, true, "woken")
    test.eq(skynet.wakeup(token), nil, "nobody waits on the token any more")
end)

test.case("wait and wakeup", function()
    local log = {}
    local co = skynet.fork(function()
        log[#log + 1] = "waiting"
        skynet.wait()
        log[#log + 1] = "woken"
    end)
    skynet.yield()
    test.eq(table.concat(log, ","), "waiting", "blocked in wait")
    test.eq(skynet.wakeup(co), true, "wakeup returns true")
    skynet.yield()
    test.eq(table.concat(log, ","), "waiting,woken", "resumed")
    test.eq(skynet.wakeup(co), nil, "wakeup of a thread that is not waiting")
end)

test.case("wakeups are served in order", function()
    local log = {}
    local a = skynet.fork(function() skynet.wait(); log[#log + 1] = "a" end)
    local b = skynet.fork(function() skynet.wait(); log[#log + 1] = "b" end)
    local c = skynet.fork(function() skynet.wait(); log[#log + 1] = "c" end)
    skynet.yield()
    skynet.wakeup(c)
    skynet.wakeup(a)
    skynet.wakeup(b)
    skynet.yield()
    test.eq(table.concat(log), "cab", "wakeup order")
end)

test.case("yield lets other threads run", function()
    local ran = false
    skynet.fork(function() ran = true end)
    test.eq(select("#", skynet.yield()), 0, "yield returns nothing")
    test.eq(ran, true, "fork ran during yield")
end)

test.case("timeout runs its function later and returns the thread", function()
    local ran_at
    local start = skynet.now()
    local co = skynet.timeout(5, function() ran_at = skynet.now() end)
    test.eq(type(co), "thread", "timeout returns a thread")
    test.eq(ran_at, nil, "not yet")
    test.wait_until(function() return ran_at end, 100, "timeout")
    test.eq(ran_at - start >= 5, true, "ran after the delay")
end)

test.case("timeout 0 runs on the next turn", function()
    local ran = false
    skynet.timeout(0, function() ran = true end)
    test.eq(ran, false, "not immediately")
    skynet.sleep(1)
    test.eq(ran, true, "ran")
end)

test.case("killthread cancels a pending timeout silently", function()
    local ran = false
    local before = #unknown
    local co = skynet.timeout(5, function() ran = true end)
    test.eq(skynet.killthread(co), co, "killthread returns the thread")
    skynet.sleep(15)
    test.eq(ran, false, "cancelled timeout did not run")
    test.eq(#unknown, before, "no unknown session on expiry")
end)

test.case("skynet.kill cancels a pending timeout silently", function()
    local ran = false
    local before = #unknown
    local co = skynet.timeout(5, function() ran = true end)
    skynet.kill(co)
    skynet.sleep(15)
    test.eq(ran, false, "cancelled timeout did not run")
    test.eq(#unknown, before, "no unknown session on expiry")
end)

test.case("a tick with thousands of timers (gathered ahead): all fire in arming order, none early", function()
    -- 3,000 timeouts and sleeps due on one tick make the timer thread gather that tick ahead of time.  Arming
    -- straddling a tick boundary splits them over two ticks: still each in order and on time.
    local n = 3000
    local fired, early = {}, 0
    local me = coroutine.running()
    local cancelled = {}
    for i = 1, n do
        local armed = skynet.now()
        local function note()
            if skynet.now() < armed + 5 then early = early + 1 end
            fired[#fired + 1] = i
            if #fired == n - #cancelled then skynet.wakeup(me) end
        end
        if i % 2 == 0 then
            local co = skynet.timeout(5, note)
            if i % 500 == 0 then cancelled[#cancelled + 1] = co end
        else
            skynet.fork(function() skynet.sleep(5); note() end)
        end
    end
    for _, co in ipairs(cancelled) do skynet.killthread(co) end
    skynet.wait(me)
    test.eq(#fired, n - #cancelled, "every timer that was not cancelled fired once")
    test.eq(early, 0, "none before skynet.now() reached its tick")
    -- the timeouts in arming order, the sleeps in theirs (a sleep arms when its fork runs, after the loop)
    local last_even, last_odd, disorder = 0, 0, 0
    for _, i in ipairs(fired) do
        if i % 2 == 0 then
            if i < last_even or i % 500 == 0 then disorder = disorder + 1 end
            last_even = i
        else
            if i < last_odd then disorder = disorder + 1 end
            last_odd = i
        end
    end
    test.eq(disorder, 0, "in order, and the cancelled ones never ran")
    skynet.sleep(10)
    test.eq(#unknown, 0, "no stray expiry")
end)

test.case("killthread of a fork that has not run yet", function()
    local ran = false
    local co = skynet.fork(function() ran = true end)
    test.eq(skynet.killthread(co), co, "returns the thread")
    skynet.yield()
    test.eq(ran, false, "the fork never ran")
end)

test.case("killthread of a sleeping fork closes it", function()
    local log = {}
    local co = skynet.fork(function()
        local guard <close> = setmetatable({}, { __close = function() log[#log + 1] = "closed" end })
        skynet.sleep(10)
        log[#log + 1] = "woke"
    end)
    skynet.yield()
    local before = #unknown
    test.eq(skynet.killthread(co), co, "killthread result")
    test.eq(table.concat(log, ","), "closed", "to-be-closed ran, body stopped")
    skynet.sleep(20)
    test.eq(table.concat(log, ","), "closed", "never woke")
    test.eq(#unknown, before, "its timer was swallowed")
end)

test.case("killthread of a thread blocked in wait frees its session and its token", function()
    local function sessions()   -- every pending session, BREAK ones included
        local t, n = {}, 0
        skynet.task(t)
        for _ in pairs(t) do
            n = n + 1
        end
        return n
    end
    local base = sessions()
    local token = {}
    local woke = false
    local co = skynet.fork(function()
        skynet.wait(token)
        woke = true
    end)
    skynet.yield()
    test.eq(sessions(), base + 1, "the wait is pending")
    test.eq(skynet.killthread(co), co, "killthread result")
    test.eq(sessions(), base, "no BREAK left behind: nothing will ever answer a wait")
    test.eq(skynet.wakeup(token), nil, "nobody waits on the token any more")
    -- the token can be waited on again
    local co2 = skynet.fork(function()
        skynet.wait(token)
        woke = "second"
    end)
    skynet.yield()
    test.eq(skynet.wakeup(token), true, "second waiter")
    skynet.yield()
    test.eq(woke, "second", "only the second waiter ran on")
    test.eq(coroutine.status(co2), "suspended", "pooled again")
end)

test.case("killthread of an unknown thread returns nil", function()
    test.eq(skynet.killthread(coroutine.create(function() end)), nil, "result")
end)

test.case("task counts pending sessions", function()
    local base = skynet.task()
    local co = skynet.fork(function() skynet.sleep(20) end)
    skynet.yield()
    test.eq(skynet.task(), base + 1, "one more")
    local session = skynet.task(co)
    test.eq(math.type(session), "integer", "task(thread) gives its session")
    test.eq(type(skynet.task(session)), "string", "task(session) gives a traceback")
    local t = {}
    skynet.task(t)
    test.eq(next(t) ~= nil, true, "task(table) fills")
    test.eq(type(skynet.uniqtask()), "table", "uniqtask")
    skynet.killthread(co)
    test.eq(skynet.task(), base, "back")
end)

test.case("now, time, starttime, hpc", function()
    local st = skynet.starttime()
    test.eq(math.type(st), "integer", "starttime type")
    test.eq(math.abs(skynet.time() - os.time()) < 2, true, "time is wall-clock")
    local h1 = skynet.hpc()
    local h2 = skynet.hpc()
    test.eq(h2 >= h1, true, "hpc monotonic")
    local n = skynet.now()
    skynet.sleep(2)
    test.eq(skynet.now() >= n + 2, true, "now advances")
end)

test.case("an error in a fork does not stop the other forks", function()
    local log = {}
    skynet.fork(function() log[#log + 1] = "a" end)
    skynet.fork(function() error("expected fork failure") end)
    skynet.fork(function() log[#log + 1] = "c" end)
    skynet.yield()
    test.eq(table.concat(log, ","), "a,c", "other forks ran")
end)

test.case("a wakeup issued before an error is still served", function()
    local woke = false
    local co = skynet.fork(function()
        skynet.wait()
        woke = true
    end)
    skynet.yield()
    skynet.fork(function()
        skynet.wakeup(co)
        error("expected failure after wakeup")
    end)
    skynet.sleep(2)
    test.eq(woke, true, "the waiter was woken")
end)

test.case("after a burst, the pooled threads are handed out lowest address first, each once", function()
    -- 600 threads end in a shuffled order; the 600 forks after them get those same threads, in address order
    local addr = skynet.newservice("pool_order")
    local n = 600
    local first, second = skynet.call(addr, "lua", n)
    skynet.kill(addr)
    local from_first = {}
    for i = 1, n do from_first[first[i]] = true end
    local reused = 0
    for i = 1, n do
        if from_first[second[i]] then
            reused = reused + 1
            from_first[second[i]] = nil   -- each thread once
        end
        if i > 1 then
            assert(second[i] > second[i - 1], string.format("fork %d got 0x%x after 0x%x", i, second[i], second[i - 1]))
        end
    end
    -- the pool may also hold a thread the service parked before the burst
    assert(reused >= n - 2, string.format("%d of %d threads reused", reused, n))
end)

test.case("a pool the collector left holes in still serves a burst of forks", function()
    local addr = skynet.newservice("pool_order")
    local n = 600
    local first, second = skynet.call(addr, "lua", n, true)
    skynet.kill(addr)
    test.eq(#first, n, "first round")
    local seen, started, from_first = {}, 0, {}
    for i = 1, n do from_first[first[i]] = true end
    for i = 1, n do
        assert(second[i], "fork " .. i .. " never ran")
        assert(not seen[second[i]], "two forks ran on one thread at once")
        seen[second[i]] = true
        started = started + 1
    end
    test.eq(started, n, "second round")
    -- the survivors are taken first, skipping the holes
    for i = 1, n // 2 - 2 do
        assert(from_first[second[i]], string.format("fork %d got a new thread while parked ones were left", i))
    end
end)

test.case("skynet.lua's own dispatch takes request threads from a pool with holes", function()
    local addr = skynet.newservice("pool_order")
    local n = 300
    local first, second = skynet.call(addr, "lua", n, true, true)
    skynet.kill(addr)
    test.eq(#first, n, "first round")
    local seen, from_first = {}, {}
    for i = 1, n do from_first[first[i]] = true end
    for i = 1, n do
        assert(second[i], "request " .. i .. " never ran")
        assert(not seen[second[i]], "two requests ran on one thread at once")
        seen[second[i]] = true
    end
    -- the odd forks' threads survived the collection (kept), the even ones' slots are holes: the first
    -- requests get the survivors, skipping the holes, before any new thread is made
    for i = 1, n // 2 - 2 do
        assert(from_first[second[i]], string.format("request %d got a new thread while parked ones were left", i))
    end
end)

test.case("stat, mqlen, endless, task init", function()
    test.eq(math.type(skynet.mqlen()), "integer", "mqlen")
    test.eq(skynet.stat "message" > 0, true, "message count")
    test.eq(type(skynet.stat "cpu"), "number", "cpu")
    test.eq(skynet.endless(), false, "endless")
    test.eq(skynet.task "init", nil, "init thread finished")
end)

test.run()
