-- The demo of the aggregator: one aggregator, a store behind its "get" requests, and several clients
-- sending bursts of mixed requests at the same time. Prints what each client got, how the requests
-- were batched, and stops the node.
local skynet = require "skynet"
require "skynet.manager"    -- skynet.abort

local function env_int(key, default)
    return math.tointeger(tonumber(skynet.getenv(key))) or default
end

local function out(text)
    io.write(text .. "\n")
    io.stdout:flush()
end

skynet.start(function()
    local batch_size = env_int("aggregator_batch_size", 10)
    local interval = env_int("aggregator_interval", 10)
    local timeout = env_int("aggregator_timeout", 100)
    local nclients = env_int("aggregator_clients", 4)
    local nrequests = env_int("aggregator_requests", 12)

    local store = skynet.newservice("aggregator_store", 2)
    local agg = skynet.newservice("request_aggregator", batch_size, interval, timeout, skynet.address(store))
    out(string.format("aggregator %s: batches of %d requests or %d ms, deadline %d ms",
        skynet.address(agg), batch_size, interval * 10, timeout * 10))

    local summaries = {}
    local left = nclients
    local me = {}
    for c = 1, nclients do
        local client = skynet.newservice("aggregator_client")
        skynet.fork(function()
            -- the last client has one request that misses its deadline
            local slow_at = (c == nclients) and 3 or nil
            summaries[c] = skynet.call(client, "lua", "run", agg, "client" .. c, nrequests, slow_at)
            left = left - 1
            if left == 0 then
                skynet.wakeup(me)
            end
        end)
    end
    skynet.wait(me)

    for _, s in ipairs(summaries) do
        out(string.format("%s: %d sent, %d ok, %d timeouts, %d failed, %d wrong, in order: %s, %d ms",
            s.name, s.sent, s.ok, s.timeouts, s.failed, s.wrong, tostring(s.in_order), s.elapsed * 10))
        for i = 1, math.min(4, #s.answers) do
            local a = s.answers[i]
            out(string.format("    #%d %-5s -> %s %s", i, a[1], tostring(a[2]), tostring(a[3])))
        end
    end

    local st = skynet.call(agg, "lua", "stats")
    local sizes = {}
    for _, b in ipairs(st.batches) do
        sizes[#sizes + 1] = string.format("%d(%s,%dms)", b.size, b.reason, b.waited * 10)
    end
    out(string.format("requests %d, answered %d, timeouts %d, late results %d, store calls %d",
        st.requests, st.answered, st.timeouts, st.late, st.store_calls))
    out(string.format("batches %d (%d full, %d by timer): %s", #st.batches, st.by_size, st.by_timer,
        table.concat(sizes, " ")))
    skynet.abort()
end)
