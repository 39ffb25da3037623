-- examples/patterns: each pattern of sections 2 to 6 of the message passing tutorial, with its result.
local skynet = require "skynet"
local test = require "testlib"

local notified = {}     -- operation id -> result, from session_tracker's "operation_complete"

-- Runs f(i) for i = 1..n in forked coroutines (started in order) and waits for all of them.
local function all(n, f)
    local results = {}
    local left = n
    local me = {}
    for i = 1, n do
        skynet.fork(function()
            results[i] = table.pack(pcall(f, i))
            left = left - 1
            if left == 0 then
                skynet.wakeup(me)
            end
        end)
    end
    skynet.wait(me)
    for i = 1, n do
        if not results[i][1] then
            error("task " .. i .. " failed: " .. tostring(results[i][2]), 2)
        end
        results[i] = results[i][2]
    end
    return results
end

-- 2.1 ------------------------------------------------------------------------------------------

test.case("2.1 request/response: USER_SERVICE found with skynet.query answers ok, data", function()
    local addr = skynet.newservice("user_service")
    test.eq(skynet.query("USER_SERVICE"), addr, "skynet.query")
    local user_service = skynet.query("USER_SERVICE")
    local ok, user = skynet.call(user_service, "lua", "get_user", 1)
    test.eq(ok, true, "ok")
    test.eq(user.name, "alice", "name")
    test.eq(user.level, 12, "level")
    local ok2, err = skynet.call(user_service, "lua", "get_user", 9)
    test.eq(ok2, false, "unknown user")
    test.eq(err, "User not found", "error")
end)

-- 2.2 ------------------------------------------------------------------------------------------

test.case("2.2 fire-and-forget: sends return at once, the logger gets them in order", function()
    local logger = skynet.newservice("event_logger")
    for user_id = 1, 5 do
        test.eq(skynet.send(logger, "lua", "log", "User login", user_id), 0, "send returns 0")
    end
    local entries = skynet.call(logger, "lua", "entries")
    test.eq(#entries, 5, "entries")
    for i, e in ipairs(entries) do
        test.eq(e.event, "User login", "event")
        test.eq(e.user_id, i, "user of entry " .. i)
        test.eq(type(e.time), "number", "time")
    end
end)

-- 2.3 ------------------------------------------------------------------------------------------

test.case("2.3 pub/sub: subscribers get exactly their topics; unsubscribe and exit drop them", function()
    local publisher = skynet.newservice("topic_publisher")
    local a = skynet.newservice("topic_subscriber")
    local b = skynet.newservice("topic_subscriber")
    skynet.call(a, "lua", "subscribe", publisher, "news")
    skynet.call(b, "lua", "subscribe", publisher, "news")
    skynet.call(b, "lua", "subscribe", publisher, "sports")
    test.eq(skynet.call(publisher, "lua", "publish", "news", "n1"), 2, "news subscribers")
    test.eq(skynet.call(publisher, "lua", "publish", "sports", "s1"), 1, "sports subscribers")
    test.eq(skynet.call(publisher, "lua", "publish", "weather", "w1"), 0, "weather subscribers")
    local got_a = skynet.call(a, "lua", "received")
    local got_b = skynet.call(b, "lua", "received")
    test.eq(#got_a, 1, "A's messages")
    test.eq(got_a[1].topic .. "=" .. got_a[1].message, "news=n1", "A's message")
    test.eq(#got_b, 2, "B's messages")
    test.eq(got_b[1].topic .. "=" .. got_b[1].message, "news=n1", "B's first")
    test.eq(got_b[2].topic .. "=" .. got_b[2].message, "sports=s1", "B's second")

    skynet.call(a, "lua", "unsubscribe", publisher, "news")
    test.eq(skynet.call(publisher, "lua", "publish", "news", "n2"), 1, "after unsubscribe")
    skynet.send(b, "lua", "exit")
    test.wait_until(function()
        return skynet.call(publisher, "lua", "publish", "sports", "probe") == 0
    end, 300, "the ended subscriber to be dropped")
    test.eq(skynet.call(publisher, "lua", "publish", "news", "n3"), 0, "news after B ended")
    test.eq(#skynet.call(a, "lua", "received"), 1, "A got nothing after unsubscribing")
end)

-- 3.1 ------------------------------------------------------------------------------------------

local function stock(sku)
    return select(2, skynet.call("INVENTORY", "lua", "stock", sku))
end

local function balance(user)
    return select(2, skynet.call("PAYMENT", "lua", "balance", user))
end

test.case("3.1 multi-step order: inventory, payment and order record", function()
    skynet.newservice("inventory")
    skynet.newservice("payment")
    skynet.newservice("order_store")
    local processor = skynet.newservice("order_processor")
    test.eq(skynet.query("ORDER_PROCESSOR"), processor, "registered")

    local apples = { { sku = "apple", qty = 3, price = 10 } }
    local ok, tx = skynet.call(processor, "lua", "process_order", "o1", "alice", apples)
    test.eq(ok, true, "order o1: " .. tostring(tx))
    test.eq(stock("apple"), 7, "apples left")
    test.eq(balance("alice"), 70, "alice's balance")
    local found, order = skynet.call("ORDER", "lua", "get_order", "o1")
    test.eq(found, true, "order recorded")
    test.eq(order.transaction, tx, "order's transaction")
    test.eq(order.user, "alice", "order's user")

    ok, tx = skynet.call(processor, "lua", "process_order", "o2", "bob", apples)
    test.eq(ok, false, "bob cannot pay 30")
    test.eq(tx, "Payment failed: Insufficient funds", "reason")
    test.eq(stock("apple"), 7, "no apples taken for a failed payment")
    test.eq(balance("bob"), 5, "bob's balance")
    test.eq((skynet.call("ORDER", "lua", "get_order", "o2")), false, "no order o2")

    ok, tx = skynet.call(processor, "lua", "process_order", "o3", "alice", { { sku = "plum", qty = 1, price = 1 } })
    test.eq(ok, false, "no plums")
    test.eq(tx, "Items not available", "reason")
    test.eq(balance("alice"), 70, "nothing charged")

    ok, tx = skynet.call(processor, "lua", "process_order", "o1", "alice", { { sku = "pear", qty = 1, price = 2 } })
    test.eq(ok, false, "duplicate order id")
    test.eq(tx, "Order exists", "reason")
    test.eq(balance("alice"), 70, "refunded")
    test.eq(stock("pear"), 4, "restocked")
end)

test.case("3.1 multi-step order: two orders for the last items, one wins, nobody pays for nothing", function()
    -- 4 pears in stock (services of the case before); alice and bob both want 3
    local pears = { { sku = "pear", qty = 3, price = 1 } }
    local before = balance("alice") + balance("bob")
    local r = all(2, function(i)
        local user = i == 1 and "alice" or "bob"
        return table.pack(skynet.call("ORDER_PROCESSOR", "lua", "process_order", "race" .. i, user, pears))
    end)
    local wins = (r[1][1] and 1 or 0) + (r[2][1] and 1 or 0)
    test.eq(wins, 1, "orders that went through")
    local loser = r[1][1] and r[2] or r[1]
    test.eq(loser[2], "Items not available", "the other order's reason")
    test.eq(stock("pear"), 1, "pears left")
    test.eq(before - (balance("alice") + balance("bob")), 3, "money taken in all")
end)

-- 3.2 ------------------------------------------------------------------------------------------

test.case("3.2 redirect: the target answers the caller directly and sees the caller as source", function()
    local user_service = skynet.newservice("user_service")
    local gateway = skynet.newservice("forward_gateway")
    local ok, user = skynet.call(gateway, "lua", "forward", user_service, skynet.pack("get_user", 3))
    test.eq(ok, true, "ok")
    test.eq(user.name, "carol", "forwarded answer")
    local who = skynet.call(gateway, "lua", "forward", user_service, skynet.pack("whoami"))
    test.eq(who, skynet.self(), "source seen by the target")
    test.eq(skynet.call(gateway, "lua", "forwarded"), 2, "forwarded count")
end)

test.case("3.2 redirect: forwarding to a service that is gone fails the call instead of hanging", function()
    local gone = skynet.newservice("user_service")
    skynet.kill(gone)
    local gateway = skynet.newservice("forward_gateway")
    test.raises("call failed", skynet.call, gateway, "lua", "forward", gone, skynet.pack("get_user", 1))
    test.eq(skynet.call(gateway, "lua", "forwarded"), 0, "forwarded count")
end)

-- 3.3 ------------------------------------------------------------------------------------------

test.case("3.3 aggregation: sources asked at once, all answers, a failing source does not block", function()
    -- The sources answer only when the test lets them: all three asked while none has answered means
    -- they are asked at once (in turn, the second would be asked after the first answered).
    local sources = {}
    for i = 1, 3 do
        sources[i] = skynet.newservice("pt_held", "s" .. i)
    end
    local aggregator = skynet.newservice("fanout_aggregator")
    local responses
    skynet.fork(function()
        responses = skynet.call(aggregator, "lua", "aggregate", sources, "q")
    end)
    test.wait_until(function()
        local asked = 0
        for _, s in ipairs(sources) do
            asked = asked + skynet.call(s, "lua", "held")
        end
        return asked == 3
    end, 300, "all three sources to be asked while none has answered")
    -- the answer waits for the last source: two answers are not enough
    skynet.call(sources[1], "lua", "release")
    skynet.call(sources[2], "lua", "release")
    -- queued at the aggregator after those two answers: it has taken them when this returns
    skynet.call(aggregator, "lua", "aggregate", {}, "sync")
    test.eq(responses, nil, "answer before the last source answered")
    skynet.call(sources[3], "lua", "release")
    test.wait_until(function() return responses ~= nil end, 300, "the answer after the last source")
    for i, s in ipairs(sources) do
        test.eq(responses[s], "s" .. i .. ":q", "answer of source " .. i)
    end

    local live = skynet.newservice("data_source", "live", 0)
    local dead = skynet.newservice("data_source", "dead", 0)
    skynet.kill(dead)
    responses = skynet.call(aggregator, "lua", "aggregate", { live, dead }, "x")
    test.eq(responses[live], "live:x", "live source")
    test.eq(responses[dead], false, "dead source")

    responses = skynet.call(aggregator, "lua", "aggregate", {}, "x")
    test.eq(next(responses), nil, "no sources, no answers")
end)

-- 4.1 ------------------------------------------------------------------------------------------

test.case("4.1 session tracking: id at once, status while running, notification, result", function()
    local tracker = skynet.newservice("session_tracker")
    -- An operation of a minute, much longer than a case may take: an id that comes back at all came
    -- before the operation ended, and the operation is still running whatever the load.
    local started
    skynet.fork(function()
        started = table.pack(skynet.call(tracker, "lua", "start_operation", 6000, "job"))
    end)
    test.wait_until(function() return started ~= nil end, 300, "the id of an operation of a minute")
    test.eq(started[1], true, "started")
    local op = started[2]
    local _, status, result = skynet.call(tracker, "lua", "get_status", op)
    test.eq(status, "running", "status while running")
    test.eq(result, nil, "no result yet")
    local t0 = skynet.now()
    local _, op2 = skynet.call(tracker, "lua", "start_operation", 5, "other")
    assert(op2 ~= op, "operation ids must differ")
    test.wait_until(function() return notified[op2] ~= nil end, 300, "operation_complete")
    test.eq(notified[op2], "OTHER", "notified result")
    assert(skynet.now() - t0 >= 4, "completed after " .. (skynet.now() - t0) .. " cs")
    test.eq(notified[op], nil, "the operation of a minute was notified")
    _, status, result = skynet.call(tracker, "lua", "get_status", op2)
    test.eq(status, "completed", "status")
    test.eq(result, "OTHER", "result")
    _, status = skynet.call(tracker, "lua", "get_status", op)
    test.eq(status, "running", "status of the operation of a minute")
    local found, err = skynet.call(tracker, "lua", "get_status", "op-999")
    test.eq(found, false, "unknown operation")
    test.eq(err, "Operation not found", "error")
end)

-- 4.2 ------------------------------------------------------------------------------------------

-- How many timers, calls and waits of `addr` are pending (debug protocol TASK; a cancelled timer is
-- listed as "BREAK" until it would have fired, and is not counted).
local function pending_tasks(addr)
    local n = 0
    for _, v in pairs(skynet.call(addr, "debug", "TASK")) do
        if v ~= "BREAK" then
            n = n + 1
        end
    end
    return n
end

test.case("4.2 call with timeout: answer in time, timeout, cancelled timers, errors", function()
    local slow = skynet.newservice("slow_service")
    local held = skynet.newservice("pt_held", "held")   -- answers only when the test releases them
    local caller = skynet.newservice("timeout_caller")
    local ok, v = skynet.call(caller, "lua", "call", slow, 0.5, "lua", "work", "fast")
    test.eq(ok, true, "in time")
    test.eq(v, "fast", "value")

    -- no answer comes until the test releases it: only the timeout can end this call
    local t0 = skynet.now()
    ok, v = skynet.call(caller, "lua", "call", held, 0.2, "lua", "work", "slow")
    local took = skynet.now() - t0
    test.eq(ok, false, "too slow")
    test.eq(v, "Timeout", "reason")
    assert(took >= 18, "timed out after " .. took .. " cs")

    -- the late answer of the call above comes while this one waits: it must not end it
    local second
    skynet.fork(function()
        second = table.pack(skynet.call(caller, "lua", "call", held, 1, "lua", "work", "second"))
    end)
    test.wait_until(function() return (skynet.call(held, "lua", "held")) == 2 end, 300, "the second call")
    skynet.call(held, "lua", "release", 1)      -- the late answer of the first call
    skynet.call(caller, "lua", "timers")        -- queued after that answer: the caller has taken it
    test.eq(second and second[2], nil, "the next call ended by the late answer of the one before")
    skynet.call(held, "lua", "release", 1)
    test.wait_until(function() return second ~= nil end, 300, "the answer of the second call")
    test.eq(second[1], true, "the next call, in time")
    test.eq(second[2], "second", "value")

    skynet.call(slow, "lua", "fail_next", 1)
    ok, v = skynet.call(caller, "lua", "call", slow, 0.5, "lua", "work", "x")
    test.eq(ok, false, "failing call")
    assert(tostring(v):find("call failed", 1, true), "an error, not a timeout: " .. tostring(v))

    -- every call is over: the timers of the answered ones were cancelled, none is left to run
    test.eq(pending_tasks(caller), 0, "timers, calls and waits left in the caller")
    test.eq(skynet.call(caller, "lua", "timers"), 1, "timers that ran (the answered calls cancelled theirs)")
end)

-- 5.1 ------------------------------------------------------------------------------------------

test.case("5.1 batching: batches by size and by time, each caller answered", function()
    local batcher = skynet.newservice("batch_processor", 5, 10)
    local t0 = skynet.now()
    local results = all(12, function(i)
        return { value = skynet.call(batcher, "lua", "process", i), at = skynet.now() - t0 }
    end)
    for i = 1, 12 do
        test.eq(results[i].value, i * i, "answer " .. i)
    end
    local sizes = skynet.call(batcher, "lua", "batches")
    test.eq(table.concat(sizes, ","), "5,5,2", "batch sizes")
    assert(results[11].at >= 9 and results[12].at >= 9, "the last two waited only " .. results[12].at .. " cs")

    -- a full batch does not wait for the timer: with an interval of a minute (longer than a case may
    -- take), five requests are answered all the same
    local patient = skynet.newservice("batch_processor", 5, 6000)
    local answered = 0
    for i = 1, 5 do
        skynet.fork(function()
            if skynet.call(patient, "lua", "process", i) == i * i then
                answered = answered + 1
            end
        end)
    end
    test.wait_until(function() return answered == 5 end, 300, "a full batch to be answered before its interval")

    -- a batch flushed by size cancels its timer: one request 5 cs later waits its own full interval
    all(5, function(i) return skynet.call(batcher, "lua", "process", i) end)
    skynet.sleep(5)
    local t1 = skynet.now()
    test.eq(skynet.call(batcher, "lua", "process", 7), 49, "single request")
    local waited = skynet.now() - t1
    assert(waited >= 9, "the single request was flushed after " .. waited .. " cs by an old timer")
end)

-- 5.2 ------------------------------------------------------------------------------------------

test.case("5.2 connection pool: at most 3 connections, reused, queries queue for them", function()
    local pool = skynet.newservice("connection_pool", 3, 10)
    local t0 = skynet.now()
    local results = all(10, function(i) return skynet.call(pool, "lua", "query", "q" .. i) end)
    local took = skynet.now() - t0
    local conns = {}
    for i, r in ipairs(results) do
        test.eq(r.sql, "q" .. i, "answer " .. i)
        conns[r.connection] = true
    end
    local n = 0
    for _ in pairs(conns) do
        n = n + 1
    end
    test.eq(n, 3, "connections used")
    assert(took >= 38, "10 queries of 10 cs over 3 connections took only " .. took .. " cs")
    local st = skynet.call(pool, "lua", "stats")
    test.eq(st.created, 3, "created")
    test.eq(st.peak_busy, 3, "most busy at once")
    test.eq(st.busy, 0, "busy after")
    test.eq(st.waiting, 0, "waiting after")
    test.eq(st.served, 10, "served")

    results = all(5, function(i) return skynet.call(pool, "lua", "query", "again" .. i) end)
    for _, r in ipairs(results) do
        assert(conns[r.connection], "a query got a new connection " .. skynet.address(r.connection))
    end
    test.eq(skynet.call(pool, "lua", "stats").created, 3, "created after reuse")
end)

-- 6.1 ------------------------------------------------------------------------------------------

test.case("6.1 circuit breaker: opens after 3 failures, half-opens after the timeout, closes", function()
    local flaky = skynet.newservice("slow_service", "FLAKY")
    local breaker = skynet.newservice("circuit_breaker", 3, 0.3)
    local function call(x)
        return skynet.call(breaker, "lua", "call", "FLAKY", "lua", "work", x)
    end
    local function state()
        return skynet.call(breaker, "lua", "state", "FLAKY")
    end
    local function calls()
        return (skynet.call(flaky, "lua", "calls"))
    end

    test.eq(select(2, call(1)), 1, "works while closed")
    skynet.call(flaky, "lua", "set_failing", true)
    for i = 1, 3 do
        local ok, err = call(i)
        test.eq(ok, false, "failure " .. i)
        assert(err:find("Service call failed", 1, true), err)
        test.eq(state(), i < 3 and "closed" or "open", "state after failure " .. i)
    end
    local ok, err = call(4)
    test.eq(ok, false, "rejected while open")
    test.eq(err, "Circuit breaker open", "reason")
    test.eq(calls(), 4, "an open breaker does not reach the service")

    skynet.sleep(35)    -- past the 0.3 s timeout: one trial, which fails, opens it again
    ok, err = call(5)
    assert(not ok and err:find("Service call failed", 1, true), tostring(err))
    test.eq(calls(), 5, "the half-open trial reached the service")
    test.eq(state(), "open", "open again after the failed trial")
    test.eq(select(2, call(6)), "Circuit breaker open", "rejected again at once")

    skynet.call(flaky, "lua", "set_failing", false)
    skynet.sleep(35)
    local ok2, v = call(7)
    test.eq(ok2, true, "the trial succeeds")
    test.eq(v, 7, "value")
    local s, failures = state()
    test.eq(s, "closed", "closed after a good trial")
    test.eq(failures, 0, "failures reset")
    test.eq(select(2, call(8)), 8, "works again")
end)

test.case("6.1 circuit breaker: a name nobody holds counts as a failure", function()
    local breaker = skynet.newservice("circuit_breaker", 2, 60)
    local ok, err = skynet.call(breaker, "lua", "call", "NOBODY_HOME", "lua", "work", 1)
    test.eq(ok, false, "first")
    assert(err:find("no service named NOBODY_HOME", 1, true), err)
    skynet.call(breaker, "lua", "call", "NOBODY_HOME", "lua", "work", 1)
    test.eq(skynet.call(breaker, "lua", "state", "NOBODY_HOME"), "open", "state")
end)

-- 6.2 ------------------------------------------------------------------------------------------

local function gaps(attempts)
    local g = {}
    for i = 2, #attempts do
        g[i - 1] = attempts[i] - attempts[i - 1]
    end
    return g
end

test.case("6.2 retry: succeeds after 3 failures, the delays double", function()
    local flaky = skynet.newservice("slow_service")
    local retrier = skynet.newservice("retry_caller")
    skynet.call(flaky, "lua", "fail_next", 3)
    local ok, result, attempts = skynet.call(retrier, "lua", "call", flaky, 5, 5, "lua", "work", "done")
    test.eq(ok, true, "ok")
    test.eq(result, "done", "result")
    test.eq(#attempts, 4, "attempts")
    local g = gaps(attempts)
    -- Each wait lasts at least its doubled delay (a busy machine may make it longer: no upper bound).
    local expected = { 5, 10, 20 }
    for i, want in ipairs(expected) do
        assert(g[i] >= want, string.format("delay %d was %d cs, expected at least %d", i, g[i], want))
    end
    test.eq(skynet.call(flaky, "lua", "calls"), 4, "calls the service saw")
end)

test.case("6.2 retry: gives up after max_retries", function()
    local flaky = skynet.newservice("slow_service")
    local retrier = skynet.newservice("retry_caller")
    skynet.call(flaky, "lua", "set_failing", true)
    local ok, err, attempts = skynet.call(retrier, "lua", "call", flaky, 3, 5, "lua", "work", "x")
    test.eq(ok, false, "ok")
    test.eq(err, "Max retries exceeded", "reason")
    test.eq(#attempts, 3, "attempts")
    local g = gaps(attempts)
    assert(g[1] >= 5 and g[2] >= 10, "delays " .. table.concat(g, ","))
    test.eq(skynet.call(flaky, "lua", "calls"), 3, "calls the service saw")
end)

-- A service answering false is a success for retry_call (the tutorial's would retry it).
test.case("6.2 retry: an answer of false is a success, not a failure", function()
    local flaky = skynet.newservice("slow_service")
    local retrier = skynet.newservice("retry_caller")
    local ok, result, attempts = skynet.call(retrier, "lua", "call", flaky, 3, 5, "lua", "work", false)
    test.eq(ok, true, "ok")
    test.eq(result, false, "result")
    test.eq(#attempts, 1, "attempts")
end)

test.run(function()
    skynet.dispatch("lua", function(_, _, cmd, ...)
        if cmd == "operation_complete" then
            local op, result = ...
            notified[op] = result
        end
    end)
end)
