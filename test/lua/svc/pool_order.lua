-- scheduling.lua: which pooled threads a burst of forks gets after a burst of tasks ended.
local skynet = require "skynet"

local function address(co)
    return tonumber(tostring(co):match("0x(%x+)"), 16)
end

-- n forks wait together and end in a shuffled order, parking their threads out of address order; then n
-- new forks take threads from the pool.  Returns the addresses of both rounds (the second in fork order).
-- With `holes`, the threads of the odd forks are kept elsewhere and a full collection runs before the
-- second round, so the weak pool has holes where the even ones were.
local function burst_after_burst(n, holes)
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
    for i = 1, n do
        skynet.fork(function()
            second[i] = address(coroutine.running())
            started = started + 1
            if started == n then skynet.wakeup(me) end
        end)
    end
    skynet.wait(me)
    collectgarbage("restart")
    return first, second
end

skynet.start(function()
    skynet.dispatch("lua", function(_, _, n, holes)
        skynet.ret(skynet.pack(burst_after_burst(n, holes)))
    end)
end)
