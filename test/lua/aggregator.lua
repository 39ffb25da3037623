-- examples/aggregator: batching by size and by time, request types, order per client, deadlines.
-- Every case starts its own aggregator (and store), so the counters of one case are its own.
local skynet = require "skynet"
local test = require "testlib"

-- A fresh aggregator: batches of `size` or `interval` cs, requests expire after `timeout` cs. The
-- default deadline is far beyond any case (a case times out after 10 s): a case that is not about deadlines
-- must not see one fire however slow the machine is. The cases about deadlines give their own.
local NO_DEADLINE = 6000

local function new_aggregator(size, interval, timeout)
    local store = skynet.newservice("aggregator_store")
    local agg = skynet.newservice("request_aggregator", size or 10, interval or 10, timeout or NO_DEADLINE,
        skynet.address(store))
    return agg, store
end

local function stats(agg)
    return skynet.call(agg, "lua", "stats")
end

-- Sends every request at once (one coroutine each, in order) and waits for all the answers.
-- reqs[i] = { type, payload, opts }. Returns answers[i] = { ok, value, at = cs since the start } and
-- the order in which the answers arrived.
local function burst(agg, reqs)
    local answers, order = {}, {}
    local left = #reqs
    local me = {}
    local t0 = skynet.now()
    for i, r in ipairs(reqs) do
        skynet.fork(function()
            local ok, value = skynet.call(agg, "lua", "request", r[1], r[2], r[3])
            answers[i] = { ok = ok, value = value, at = skynet.now() - t0 }
            order[#order + 1] = i
            left = left - 1
            if left == 0 then
                skynet.wakeup(me)
            end
        end)
    end
    if left > 0 then
        skynet.wait(me)
    end
    return answers, order
end

local function uppers(n, tag)
    local reqs = {}
    for i = 1, n do
        reqs[i] = { "upper", (tag or "req") .. i }
    end
    return reqs
end

local function assert_in_order(order, what)
    for i = 1, #order do
        if order[i] ~= i then
            error(string.format("%s: answers arrived in the order %s", what or "answers",
                table.concat(order, ",")), 2)
        end
    end
end

test.case("10 requests make one full batch, flushed at once", function()
    local agg = new_aggregator()
    local answers = burst(agg, uppers(10))
    for i = 1, 10 do
        test.eq(answers[i].ok, true, "ok " .. i)
        test.eq(answers[i].value, "REQ" .. i, "value " .. i)
    end
    local st = stats(agg)
    test.eq(#st.batches, 1, "batches")
    test.eq(st.batches[1].size, 10, "batch size")
    test.eq(st.batches[1].reason, "size", "flushed by")
    -- the tenth request flushed the batch and cancelled its interval timer: past the interval, that
    -- timer has still flushed nothing (it would count a batch by timer, empty or not)
    skynet.sleep(20)
    st = stats(agg)
    test.eq(#st.batches, 1, "batches after the interval")
    test.eq(st.by_timer, 0, "batches flushed by the timer")
end)

test.case("fewer than 10 requests wait for the 100 ms timer", function()
    -- a deadline of 50 cs: the 10 cs flush timer comes first (both timers of the aggregator, fired in
    -- the order they are due), so an answer of "timeout" means the batch was not flushed by its timer
    local agg = new_aggregator(10, 10, 50)
    local answers = burst(agg, uppers(3))
    for i = 1, 3 do
        test.eq(answers[i].value, "REQ" .. i, "value " .. i)
        assert(answers[i].at >= 9, "answered after " .. answers[i].at .. " cs, before the 10 cs interval")
    end
    local st = stats(agg)
    test.eq(#st.batches, 1, "batches")
    test.eq(st.batches[1].size, 3, "batch size")
    test.eq(st.batches[1].reason, "timer", "flushed by")
    test.eq(st.timeouts, 0, "requests that reached their deadline")
end)

test.case("25 requests make batches of 10, 10 and 5; full batches cancel their timer", function()
    local agg = new_aggregator()
    local answers = burst(agg, uppers(25))
    for i = 1, 25 do
        test.eq(answers[i].value, "REQ" .. i, "value " .. i)
    end
    skynet.sleep(30)    -- a timer a full batch forgot to cancel would flush an empty batch by now
    local st = stats(agg)
    test.eq(#st.batches, 3, "batches")
    test.eq(st.batches[1].size, 10, "first batch")
    test.eq(st.batches[2].size, 10, "second batch")
    test.eq(st.batches[3].size, 5, "third batch")
    test.eq(st.by_size, 2, "batches flushed by size")
    test.eq(st.by_timer, 1, "batches flushed by the timer")
end)

test.case("requests of different types in one batch go to their own handler", function()
    local agg, store = new_aggregator()
    skynet.call(store, "lua", "set", "fig", 99)
    local answers = burst(agg, {
        { "upper", "abc" },
        { "sum", { 1, 2, 3.5 } },
        { "get", "apple" },
        { "get", "fig" },
        { "get", "apple" },
        { "get", "nothing" },
        { "upper", 42 },
        { "sum", "x" },
    })
    test.eq(answers[1].value, "ABC", "upper")
    test.eq(answers[2].value, 6.5, "sum")
    test.eq(answers[3].value, 3, "get apple")
    test.eq(answers[4].value, 99, "get fig")
    test.eq(answers[5].value, 3, "get apple again")
    test.eq(answers[6].ok, true, "get of an unknown key")
    test.eq(answers[6].value, nil, "unknown key")
    test.eq(answers[7].ok, false, "upper of a number")
    test.eq(answers[7].value, "upper needs a string", "error")
    test.eq(answers[8].ok, false, "sum of a string")
    local st = stats(agg)
    test.eq(#st.batches, 1, "batches")
    test.eq(st.batches[1].types.upper, 2, "upper requests in the batch")
    test.eq(st.batches[1].types.sum, 2, "sum requests in the batch")
    test.eq(st.batches[1].types.get, 4, "get requests in the batch")
    test.eq(st.store_calls, 1, "one store call for the batch's four gets")
    test.eq(skynet.call(store, "lua", "calls"), 1, "mget calls the store answered")
end)

test.case("an unknown request type is refused, in its place", function()
    local agg = new_aggregator()
    local answers, order = burst(agg, { { "delay", 20 }, { "nope", 1 }, { "upper", "x" } })
    assert_in_order(order)
    test.eq(answers[2].ok, false, "unknown type")
    test.eq(answers[2].value, "unknown request type: nope", "error")
    assert(answers[2].at >= 18, "the refusal overtook the slower request before it")
end)

test.case("answers keep each client's order, even when later requests finish first", function()
    local agg = new_aggregator()
    local reqs = {
        { "delay", 30 }, { "upper", "b" }, { "delay", 10 }, { "sum", { 1, 1 } }, { "upper", "e" },
        { "delay", 20 }, { "get", "banana" },
    }
    local answers, order = burst(agg, reqs)
    assert_in_order(order)
    for i = 1, #reqs do
        test.eq(answers[i].ok, true, "ok " .. i)
        assert(answers[i].at >= 28, "answer " .. i .. " came at " .. answers[i].at .. " cs, before the 30 cs job")
    end
    test.eq(answers[2].value, "B", "upper")
    test.eq(answers[7].value, 1, "get banana")
end)

test.case("order is kept across batches", function()
    local agg = new_aggregator()
    local reqs = { { "delay", 40 } }
    for i = 2, 16 do
        reqs[i] = { "upper", "n" .. i }
    end
    local answers, order = burst(agg, reqs)
    assert_in_order(order)
    for i = 2, 16 do
        test.eq(answers[i].value, "N" .. i, "value " .. i)
    end
    local st = stats(agg)
    test.eq(#st.batches, 2, "batches")
    test.eq(st.batches[1].size, 10, "first batch")
    test.eq(st.batches[2].size, 6, "second batch")
end)

test.case("order is per client: one client's slow request holds up nobody else", function()
    local agg = new_aggregator()
    local answers, order = burst(agg, {
        { "delay", 50, { client = "A" } },
        { "upper", "b1", { client = "B" } },
        { "upper", "a2", { client = "A" } },
        { "upper", "b2", { client = "B" } },
    })
    test.eq(answers[2].value, "B1", "client B first")
    test.eq(answers[4].value, "B2", "client B second")
    test.eq(answers[3].value, "A2", "client A second")
    assert(answers[3].at >= 48, "client A's second answer overtook its first")
    -- B's answers go out when the batch is flushed, A's only once A's 50 cs job is done: B is not held
    -- up by A (else 1,2,3,4), and A keeps its own order (else 3 before 1)
    test.eq(table.concat(order, ","), "2,4,1,3", "order of the answers")
end)

test.case("many clients at once: all answered, each in order, batches never above 10", function()
    local agg = new_aggregator()
    local n, count = 5, 30
    local results = {}
    local left = n
    local me = {}
    for c = 1, n do
        local client = skynet.newservice("aggregator_client")
        skynet.fork(function()
            results[c] = skynet.call(client, "lua", "run", agg, "client" .. c, count)
            left = left - 1
            if left == 0 then
                skynet.wakeup(me)
            end
        end)
    end
    skynet.wait(me)
    for c = 1, n do
        local r = results[c]
        test.eq(r.in_order, true, r.name .. " in order")
        test.eq(r.ok, count, r.name .. " answers ok")
        test.eq(r.wrong, 0, r.name .. " wrong answers")
    end
    local st = stats(agg)
    test.eq(st.requests, n * count, "requests")
    test.eq(st.answered, n * count, "answered")
    local total = 0
    for _, b in ipairs(st.batches) do
        assert(b.size >= 1 and b.size <= 10, "a batch of " .. b.size)
        total = total + b.size
    end
    test.eq(total, n * count, "requests in batches")
    assert(st.by_size >= 10, "only " .. st.by_size .. " full batches for " .. n * count .. " requests")
end)

test.case("a request past its deadline is answered with timeout; its late result is dropped", function()
    -- A job of 60 cs, a deadline of 20 cs and a default deadline of 300 cs, all timers of the
    -- aggregator (fired in the order they are due, whatever the load): the request's own deadline
    -- comes first, so "timeout". Were it ignored, the job would end before the default deadline and
    -- the answer would be its result, 60.
    local agg = new_aggregator(10, 10, 300)
    local answers = burst(agg, { { "delay", 60, { timeout = 20 } }, { "upper", "next" } })
    test.eq(answers[1].ok, false, "slow request")
    test.eq(answers[1].value, "timeout", "slow request")
    assert(answers[1].at >= 18, "timeout after " .. answers[1].at .. " cs")
    test.eq(answers[2].value, "NEXT", "the request after it")
    test.eq(stats(agg).timeouts, 1, "timeouts")
    test.wait_until(function() return stats(agg).late == 1 end, 300, "the late result")
    test.eq(stats(agg).answered, 2, "answered once each")
end)

test.case("the default deadline applies, and answered requests cancel their timers", function()
    -- a job of 60 cs against the default deadline of 30 cs given to this aggregator: "timeout" (the
    -- aggregator's timers fire in the order they are due). Were that deadline not applied, the job
    -- would end first and answer 60.
    local agg = new_aggregator(10, 10, 30)
    local answers = burst(agg, { { "delay", 60 }, { "upper", "x" }, { "delay", 5 } })
    test.eq(answers[1].value, "timeout", "default deadline")
    assert(answers[1].at >= 28, "timeout after " .. answers[1].at .. " cs")
    test.eq(answers[2].value, "X", "fast request")
    test.eq(answers[3].value, 5, "short job")
    skynet.sleep(40)    -- past every deadline
    local st = stats(agg)
    test.eq(st.timeouts, 1, "timeouts")
    test.eq(st.timers_fired, 1, "deadline timers that ran (the others were cancelled)")
end)

test.case("a request that expires while queued is not processed", function()
    local agg = new_aggregator(10, 30)
    local answers = burst(agg, { { "get", "apple", { timeout = 5 } }, { "get", "cherry" } })
    test.eq(answers[1].value, "timeout", "expired in the queue")
    test.eq(answers[2].value, 12, "the other one")
    local st = stats(agg)
    test.eq(st.batches[1].types.get, 1, "get requests processed")
    test.eq(st.late, 0, "late results")
end)

test.run()
