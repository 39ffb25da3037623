-- Fault test (issue 6): every way a service can exit while others depend on it. Whatever the path - an exit
-- in skynet.start, in a handler, in a forked coroutine, while it is calling, while 100 callers wait on it,
-- with 10,000 requests in its mailbox - every caller gets an answer: a value, "call failed" or
-- "call to invalid address". Each case bounds its wait and reports how many callers were left hanging.
local skynet = require "skynet"
require "skynet.manager"
local test = require "testlib"

local reported_mqlen

-- Starts one call per element of `calls` ({ target, args... }) in its own coroutine; returns the outcome
-- table, filled as answers come: "ok:<first result>" or the error text.
local function call_all(calls)
    local outcome = { answered = 0 }
    for i, c in ipairs(calls) do
        skynet.fork(function()
            local ok, result = pcall(skynet.call, c[1], "lua", table.unpack(c, 2))
            outcome[i] = ok and ("ok:" .. tostring(result)) or tostring(result)
            outcome.answered = outcome.answered + 1
        end)
    end
    return outcome
end

-- Waits (at most `ticks`) until all `n` calls are answered; fails naming how many hang.
local function wait_answers(outcome, n, ticks)
    for _ = 1, ticks or 500 do
        if outcome.answered == n then return end
        skynet.sleep(1)
    end
    error(string.format("%d of %d callers never got an answer", n - outcome.answered, n), 2)
end

-- Counts the outcomes by kind; any other error text fails.
local function tally(outcome, n)
    local t = { ok = 0, failed = 0, invalid = 0 }
    for i = 1, n do
        local r = outcome[i]
        if r:sub(1, 3) == "ok:" then
            t.ok = t.ok + 1
        elseif r:find("call failed", 1, true) then
            t.failed = t.failed + 1
        elseif r:find("call to invalid address", 1, true) then
            t.invalid = t.invalid + 1
        else
            error("caller " .. i .. " got an unexpected error: " .. r, 2)
        end
    end
    return t
end

-- A call to a service that is exiting or gone: "call failed" while its mailbox is being closed, "call to
-- invalid address" after; either is an answer.
local function fails_after_exit(addr)
    local ok, err = pcall(skynet.call, addr, "lua", "echo", "after")
    assert(not ok, "a call succeeded after the exit")
    err = tostring(err)
    assert(err:find("call failed", 1, true) or err:find("call to invalid address", 1, true), err)
end

-- True once `addr` is gone (a send to it returns nil).
local function gone(addr)
    return skynet.send(addr, "lua", "echo", "ping") == nil
end

test.case("exit in skynet.start: newservice gets nil, the requests it held and queued fail", function()
    local name = ".ep_starting"
    local launched = "pending"
    skynet.fork(function()
        local ok, addr = pcall(skynet.newservice, "ep_exit_start", name, 20)
        launched = ok and tostring(addr) or ("error: " .. tostring(addr))
    end)
    test.wait_until(function() return skynet.localname(name) end, 300, "the service to register its name")
    local addr = skynet.localname(name)
    local calls = {}
    for i = 1, 20 do calls[i] = { addr, "anything", i } end
    local outcome = call_all(calls)
    wait_answers(outcome, #calls)
    test.wait_until(function() return launched ~= "pending" end, 300, "newservice to return")
    test.eq(launched, "nil", "newservice of a service that exits in start")
    local t = tally(outcome, #calls)
    test.eq(t.failed + t.invalid, #calls, "failed calls")
    assert(gone(addr), "the service is still there")
end)

test.case("exit in a handler: that request and every held one fail, nothing else is lost", function()
    local target = skynet.newservice("ep_target")
    local held = call_all({ { target, "hold" }, { target, "hold" }, { target, "hold" } })
    test.eq(skynet.call(target, "lua", "echo", "up"), "up", "echo before the exit")
    test.raises("call failed", skynet.call, target, "lua", "quit")
    wait_answers(held, 3)
    test.eq(tally(held, 3).failed, 3, "held requests failed")
    fails_after_exit(target)
end)

test.case("exit in a forked coroutine: every request the service was handling fails", function()
    local target = skynet.newservice("ep_target")
    local calls = {}
    for i = 1, 10 do calls[i] = { target, "hold" } end
    local held = call_all(calls)
    test.eq(skynet.call(target, "lua", "fork_quit", 5), "forked", "fork_quit answers before the exit")
    wait_answers(held, #calls)
    test.eq(tally(held, #calls).failed, #calls, "held requests failed")
    test.wait_until(function() return gone(target) end, 300, "the service to be gone")
end)

test.case("exit while calling: its callers fail, the callee is told and keeps serving", function()
    local callee = skynet.newservice("ep_target")
    local target = skynet.newservice("ep_target")
    local relayed = call_all({ { target, "relay", callee }, { target, "relay", callee } })
    -- Both relays must be inside their call to the callee before the target exits.
    test.wait_until(function() return skynet.call(callee, "lua", "held") == 2 end, 300, "both relays to call")
    test.raises("call failed", skynet.call, target, "lua", "quit")
    wait_answers(relayed, 2)
    test.eq(tally(relayed, 2).failed, 2, "relay callers failed")
    -- The callee answers its held requests to a dead requester without harm, and still serves.
    test.eq(skynet.call(callee, "lua", "release"), 2, "requests the callee held")
    test.eq(skynet.call(callee, "lua", "echo", "alive"), "alive", "callee after the release")
    skynet.kill(callee)
end)

test.case("exit while called by 100 callers: every caller gets an answer", function()
    local target = skynet.newservice("ep_target", 50)   -- exits inside its 50th "work" request
    local callers = {}
    for i = 1, 100 do callers[i] = skynet.newservice("ep_caller") end
    local calls = {}
    for i = 1, 100 do calls[i] = { callers[i], "call", target, "work" } end
    local outcome = call_all(calls)
    wait_answers(outcome, #calls)
    -- Each caller service answered with how its own call ended.
    local answers = {}
    for i = 1, #calls do answers[i] = outcome[i]:gsub("^ok:", "", 1) end
    local t = tally(answers, #calls)
    assert(t.failed >= 1, "the request that exited did not fail")
    test.eq(t.ok + t.failed + t.invalid, #calls, "answered callers")
    fails_after_exit(target)
    for i = 1, #callers do skynet.kill(callers[i]) end
end)

test.case("exit with 10,000 requests in the mailbox: each of them fails", function()
    local n = 10000
    local target = skynet.newservice("ep_target")
    reported_mqlen = nil
    local flood = call_all({ { target, "flood", n } })
    local calls = {}
    for i = 1, n do calls[i] = { target, "echo", i } end
    local outcome = call_all(calls)
    wait_answers(flood, 1)
    wait_answers(outcome, n, 1000)
    test.wait_until(function() return reported_mqlen end, 300, "the mailbox length report")
    assert(reported_mqlen >= n, "the mailbox held only " .. tostring(reported_mqlen) .. " messages")
    local t = tally(outcome, n)
    test.eq(t.ok, 0, "requests answered by a service that was busy until its exit")
    test.eq(t.failed + t.invalid, n, "failed requests")
    test.eq(tally(flood, 1).failed, 1, "the request being handled at the exit")
end, 3000)

test.case("exit in the middle of queued requests: those before it answer, each one after it fails", function()
    -- The target is kept busy until all ten requests are queued, so its worker takes several of them out of
    -- the mailbox at once; the ones taken after the exiting "quit" must fail as if they had stayed queued.
    local target = skynet.newservice("ep_target")
    local calls = { { target, "spin_until", 10 }, { target, "echo", 1 }, { target, "echo", 2 }, { target, "quit" } }
    for i = 4, 10 do calls[#calls + 1] = { target, "echo", i } end
    local outcome = call_all(calls)
    wait_answers(outcome, #calls)
    test.eq(outcome[1], "ok:10", "the busy request")
    test.eq(outcome[2], "ok:1", "the first request after it")
    test.eq(outcome[3], "ok:2", "the second request after it")
    local after = {}
    for i = 4, #calls do after[#after + 1] = outcome[i] end
    local t = tally(after, #after)
    test.eq(t.failed + t.invalid, #after, "the exiting request and those queued after it failed")
    fails_after_exit(target)
end)

test.case("killed while it holds response closures: their requesters fail", function()
    -- Nothing else is pending in it (no call, no sleep, no request being handled): only the closures.
    local target = skynet.newservice("pt_held", "k")
    local outcome = call_all({ { target, "work", 1 }, { target, "work", 2 } })
    test.wait_until(function() return skynet.call(target, "lua", "held") == 2 end, 300, "both calls to be held")
    skynet.kill(target)
    wait_answers(outcome, 2)
    test.eq(tally(outcome, 2).failed, 2, "held requests failed")
end)

test.run(function()
    -- ep_target's "flood" reports the mailbox length it reached with a send.
    skynet.dispatch("lua", function(_, _, cmd, value)
        if cmd == "mqlen" then
            reported_mqlen = value
        end
    end)
end)
