-- scheduling.lua: which pooled threads a burst of forks gets after a burst of tasks ended.
local skynet = require "skynet"

local function address(co)
    return tonumber(tostring(co):match("0x(%x+)"), 16)
end

-- n forks wait together and end in a shuffled order, parking their threads out of address order; then n
-- new forks take threads from the pool.  Returns the addresses of both rounds (the second in fork order).
-- With `holes`, the threads of the odd forks are kept elsewhere and a full collection runs before the
-- second round, so the weak pool has holes where the even ones were.  With `requests`, the second round is
-- n requests this service sends itself while a thread is traced, which skynet.lua's own dispatch (not the C
-- one) serves, taking their threads from the pool the same way.
local second_by_request, request_me, request_n
local function burst_after_burst(n, holes, requests)
    -- Parked threads are held only by the weak pool: no collection may take them meanwhile (but the one
    -- `holes` asks for), or the second round would get new threads where they were.
    collectgarbage("stop")
    local first, second, tokens, kept = {}, {}, {}, {}
    local ended = 0
    local me = coroutine.running()
    for i = 1, n do
        tokens[i] = {}
        skynet.fork(function()
            first[i] = address(coroutine.running())
            if holes and i % 2 == 1 then kept[i] = coroutine.running() end
            skynet.wait(tokens[i])
            ended = ended + 1
            if ended == n then skynet.wakeup(me) end
        end)
    end
    skynet.yield()   -- every fork is waiting now
    for k = 1, n do
        skynet.wakeup(tokens[(k * 7) % n + 1])
    end
    skynet.wait(me)
    skynet.yield()   -- the last one has parked its thread too
    if holes then collectgarbage() end
    local started = 0
    if requests then
        skynet.trace("pool")   -- from now on every message of this service goes through skynet.lua
        second_by_request, request_me, request_n = second, me, n
        for i = 1, n do
            skynet.send(skynet.self(), "lua", "second", i)
        end
    else
        for i = 1, n do
            skynet.fork(function()
                second[i] = address(coroutine.running())
                started = started + 1
                if started == n then skynet.wakeup(me) end
            end)
        end
    end
    skynet.wait(me)
    collectgarbage("restart")
    return first, second
end

skynet.start(function()
    local served, holding = 0, {}
    skynet.dispatch("lua", function(_, _, n, holes, requests)
        if n == "second" then
            -- each request keeps its thread until all have one, so that they take n threads from the pool
            local i = holes
            second_by_request[i] = address(coroutine.running())
            served = served + 1
            if served < request_n then
                holding[#holding + 1] = coroutine.running()
                skynet.wait()
            else
                for _, co in ipairs(holding) do skynet.wakeup(co) end
                skynet.wakeup(request_me)
            end
            return
        end
        skynet.ret(skynet.pack(burst_after_burst(n, holes, requests)))
    end)
end)
