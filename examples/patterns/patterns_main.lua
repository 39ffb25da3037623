-- Runs the patterns of sections 2 to 6 of the message passing tutorial, one demo each, printing what
-- happens; then stops the node. The config key `pattern` picks one demo by name ("all" runs them all).
local skynet = require "skynet"
require "skynet.manager"    -- skynet.abort

local function out(fmt, ...)
    io.write(string.format(fmt, ...) .. "\n")
    io.stdout:flush()
end

-- messages sent to this service (pattern 4.1 notifies its client)
local notified = {}

local demos = {}
local order = {}

local function demo(name, title, f)
    demos[name] = { title = title, f = f }
    order[#order + 1] = name
end

demo("request_response", "2.1 request/response", function()
    skynet.newservice("user_service")
    -- Service A: send request
    local function get_user_data(user_id)
        local user_service = skynet.query("USER_SERVICE")
        local ok, user_data = skynet.call(user_service, "lua", "get_user", user_id)
        if not ok then
            skynet.error("Failed to get user:", user_data)
            return nil
        end
        return user_data
    end
    local user = get_user_data(1)
    out("get_user(1) -> %s, level %d", user.name, user.level)
    out("get_user(9) -> %s", tostring(get_user_data(9)))
end)

demo("fire_and_forget", "2.2 fire-and-forget", function()
    local logger_service = skynet.newservice("event_logger")
    local t0 = skynet.hpc()
    for user_id = 1, 3 do
        skynet.send(logger_service, "lua", "log", "User login", user_id)
    end
    out("3 sends took %d us, no answer awaited", (skynet.hpc() - t0) // 1000)
    local entries = skynet.call(logger_service, "lua", "entries")
    out("the logger has %d entries; the last: %s user %d", #entries, entries[#entries].event,
        entries[#entries].user_id)
end)

demo("pubsub", "2.3 pub/sub", function()
    local publisher = skynet.newservice("topic_publisher")
    local a = skynet.newservice("topic_subscriber")
    local b = skynet.newservice("topic_subscriber")
    skynet.call(a, "lua", "subscribe", publisher, "news")
    skynet.call(b, "lua", "subscribe", publisher, "news")
    skynet.call(b, "lua", "subscribe", publisher, "sports")
    out("publish news -> %d subscribers", skynet.call(publisher, "lua", "publish", "news", "skynet 2.0"))
    out("publish sports -> %d subscribers", skynet.call(publisher, "lua", "publish", "sports", "3:1"))
    for name, s in pairs({ A = a, B = b }) do
        local got = {}
        for _, m in ipairs(skynet.call(s, "lua", "received")) do
            got[#got + 1] = m.topic .. "=" .. m.message
        end
        table.sort(got)
        out("subscriber %s got: %s", name, table.concat(got, ", "))
    end
end)

demo("multi_step", "3.1 multi-step requests (inventory, payment, order)", function()
    skynet.newservice("inventory")
    skynet.newservice("payment")
    skynet.newservice("order_store")
    local processor = skynet.newservice("order_processor")
    local apples = { { sku = "apple", qty = 2, price = 10 } }
    out("order 1 (alice, 2 apples at 10): %s %s",
        skynet.call(processor, "lua", "process_order", "order-1", "alice", apples))
    out("order 2 (bob, 2 apples at 10): %s %s",
        skynet.call(processor, "lua", "process_order", "order-2", "bob", apples))
    out("order 3 (alice, 1 plum): %s %s", skynet.call(processor, "lua", "process_order", "order-3", "alice",
        { { sku = "plum", qty = 1, price = 1 } }))
    local _, left = skynet.call("INVENTORY", "lua", "stock", "apple")
    local _, balance = skynet.call("PAYMENT", "lua", "balance", "alice")
    out("apples left %d, alice's balance %d", left, balance)
end)

demo("redirect", "3.2 forwarding with redirect", function()
    local user_service = skynet.query("USER_SERVICE") or skynet.newservice("user_service")
    local gateway = skynet.newservice("forward_gateway")
    local ok, user = skynet.call(gateway, "lua", "forward", user_service, skynet.pack("get_user", 2))
    out("forwarded get_user(2) -> %s %s", tostring(ok), user.name)
    local who = skynet.call(gateway, "lua", "forward", user_service, skynet.pack("whoami"))
    out("the user service saw the request come from %s (me: %s, gateway: %s)", skynet.address(who),
        skynet.address(skynet.self()), skynet.address(gateway))
end)

demo("aggregation", "3.3 aggregation with fork/wait/wakeup", function()
    local sources = {}
    for i = 1, 3 do
        sources[i] = skynet.newservice("data_source", "shard" .. i, 20 * i)
    end
    local aggregator = skynet.newservice("fanout_aggregator")
    local t0 = skynet.now()
    local responses = skynet.call(aggregator, "lua", "aggregate", sources, "count")
    out("3 sources answering after 200, 400 and 600 ms; all answers after %d ms:", (skynet.now() - t0) * 10)
    for _, s in ipairs(sources) do
        out("  %s -> %s", skynet.address(s), tostring(responses[s]))
    end
end)

demo("session", "4.1 session tracking", function()
    local tracker = skynet.newservice("session_tracker")
    local _, op = skynet.call(tracker, "lua", "start_operation", 30, "report")
    out("started %s", op)
    out("status: %s", select(2, skynet.call(tracker, "lua", "get_status", op)))
    while not notified[op] do
        skynet.sleep(1)
    end
    out("notified: %s completed with %s", op, notified[op])
    local _, status, result = skynet.call(tracker, "lua", "get_status", op)
    out("status: %s, result %s", status, result)
    out("status of op-99: %s", select(2, skynet.call(tracker, "lua", "get_status", "op-99")))
end)

demo("timeout", "4.2 call with timeout", function()
    local slow = skynet.newservice("slow_service")
    local caller = skynet.newservice("timeout_caller")
    out("work taking 100 ms, timeout 0.5 s -> %s %s",
        skynet.call(caller, "lua", "call", slow, 0.5, "lua", "work", "fast", 10))
    out("work taking 1 s, timeout 0.2 s -> %s %s",
        skynet.call(caller, "lua", "call", slow, 0.2, "lua", "work", "slow", 100))
    out("timeout timers that ran: %d (the answered call cancelled its timer)",
        skynet.call(caller, "lua", "timers"))
end)

demo("batching", "5.1 message batching", function()
    local batcher = skynet.newservice("batch_processor", 5, 10)
    local results, left, me = {}, 12, {}
    for i = 1, 12 do
        skynet.fork(function()
            results[i] = skynet.call(batcher, "lua", "process", i)
            left = left - 1
            if left == 0 then
                skynet.wakeup(me)
            end
        end)
    end
    skynet.wait(me)
    out("12 requests (batches of 5 or 100 ms) -> %s", table.concat(results, " "))
    out("batch sizes: %s", table.concat(skynet.call(batcher, "lua", "batches"), ", "))
end)

demo("pool", "5.2 connection pool", function()
    local pool = skynet.newservice("connection_pool", 3, 10)
    local used, left, me = {}, 10, {}
    local t0 = skynet.now()
    for i = 1, 10 do
        skynet.fork(function()
            local r = skynet.call(pool, "lua", "query", "SELECT " .. i)
            used[r.connection] = (used[r.connection] or 0) + 1
            left = left - 1
            if left == 0 then
                skynet.wakeup(me)
            end
        end)
    end
    skynet.wait(me)
    local st = skynet.call(pool, "lua", "stats")
    out("10 queries of 100 ms over at most 3 connections took %d ms", (skynet.now() - t0) * 10)
    out("connections created %d, most busy at once %d", st.created, st.peak_busy)
    for conn, n in pairs(used) do
        out("  %s served %d", skynet.address(conn), n)
    end
end)

demo("circuit_breaker", "6.1 circuit breaker", function()
    local flaky = skynet.newservice("slow_service", "FLAKY")
    local breaker = skynet.newservice("circuit_breaker", 3, 0.3)
    skynet.call(flaky, "lua", "set_failing", true)
    for i = 1, 5 do
        local ok, err = skynet.call(breaker, "lua", "call", "FLAKY", "lua", "work", i)
        out("call %d -> %s %s (breaker %s)", i, tostring(ok), err, skynet.call(breaker, "lua", "state", "FLAKY"))
    end
    out("the service saw %d calls", skynet.call(flaky, "lua", "calls"))
    skynet.call(flaky, "lua", "set_failing", false)
    skynet.sleep(35)
    local ok, v = skynet.call(breaker, "lua", "call", "FLAKY", "lua", "work", 6)
    out("after 0.35 s: call 6 -> %s %s (breaker %s)", tostring(ok), tostring(v),
        skynet.call(breaker, "lua", "state", "FLAKY"))
end)

demo("retry", "6.2 retry with back-off", function()
    local flaky = skynet.newservice("slow_service")
    local retrier = skynet.newservice("retry_caller")
    skynet.call(flaky, "lua", "fail_next", 3)
    local ok, result, attempts = skynet.call(retrier, "lua", "call", flaky, 5, 10, "lua", "work", "done")
    local at = {}
    for i, t in ipairs(attempts) do
        at[i] = (t * 10) .. " ms"
    end
    out("3 failures, then success: %s %s after %d attempts at %s", tostring(ok), tostring(result), #attempts,
        table.concat(at, ", "))
    skynet.call(flaky, "lua", "set_failing", true)
    ok, result, attempts = skynet.call(retrier, "lua", "call", flaky, 3, 10, "lua", "work", "never")
    out("always failing: %s %s after %d attempts", tostring(ok), result, #attempts)
end)

skynet.start(function()
    skynet.dispatch("lua", function(_, _, cmd, ...)
        if cmd == "operation_complete" then
            local op, result = ...
            notified[op] = result
        end
    end)
    local which = skynet.getenv("pattern") or "all"
    skynet.fork(function()
        local names = order
        if which ~= "all" then
            if not demos[which] then
                out("unknown pattern %s; one of: all, %s", which, table.concat(order, ", "))
                skynet.abort()
                return
            end
            names = { which }
        end
        for _, name in ipairs(names) do
            local d = demos[name]
            out("== %s (%s)", d.title, name)
            local ok, err = pcall(d.f)
            if not ok then
                out("FAILED: %s", tostring(err))
            end
        end
        skynet.abort()
    end)
end)
