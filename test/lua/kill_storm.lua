-- Fault test (issue 6): 500 services call each other at random while a killer kills and restarts random
-- ones for 20 s. Every call must return a value or raise "call failed" / "call to invalid address" - none may
-- hang - and afterwards the service count and the Lua memory total are back at their starting level.
local skynet = require "skynet"
local memory = require "skynet.memory"
local test = require "testlib"

local WORKERS = tonumber(skynet.getenv "storm_workers") or 500
local SECONDS = tonumber(skynet.getenv "storm_seconds") or 20

local workers = {}

local function service_count()
    local list = skynet.call(".launcher", "lua", "LIST")
    local n = 0
    for _ in pairs(list) do n = n + 1 end
    return n
end

local function lua_memory_total()
    collectgarbage()
    local sum = 0
    for _, bytes in pairs(memory.info()) do sum = sum + bytes end
    return sum
end

test.case("kill storm: no call hangs, services and memory come back", function()
    local count0 = service_count()
    local mem0 = lua_memory_total()
    for i = 1, WORKERS do
        workers[i] = skynet.newservice("ks_worker", skynet.self())
    end
    for i = 1, WORKERS do skynet.send(workers[i], "lua", "peers", workers) end
    for i = 1, WORKERS do skynet.send(workers[i], "lua", "run") end

    -- SECONDS of storm, and at least MIN_KILLS kills so that a slow (sanitizer) build is tested as hard,
    -- within a hard cap.
    local MIN_KILLS = 20
    local kills = 0
    local start = skynet.now()
    local deadline = start + SECONDS * 100
    local cap = start + SECONDS * 400
    while (skynet.now() < deadline or kills < MIN_KILLS) and skynet.now() < cap do
        local i = math.random(WORKERS)
        skynet.kill(workers[i])
        kills = kills + 1
        local fresh = skynet.newservice("ks_worker", skynet.self())
        workers[i] = fresh
        skynet.send(fresh, "lua", "peers", workers)
        skynet.send(fresh, "lua", "run")
        skynet.sleep(2)
    end
    for i = 1, WORKERS do skynet.send(workers[i], "lua", "stop") end

    -- Every call still in flight must end: wait (bounded) until no worker has one pending.
    local totals = { ok = 0, failed = 0, invalid = 0, other = 0 }
    local stuck
    for _ = 1, 100 do
        stuck = 0
        for k in pairs(totals) do totals[k] = 0 end
        for i = 1, WORKERS do
            local st, pending = skynet.call(workers[i], "lua", "stats")
            stuck = stuck + pending
            for k in pairs(totals) do totals[k] = totals[k] + st[k] end
            if st.other > 0 then error("unexpected call error: " .. tostring(st.last_other)) end
        end
        if stuck == 0 then break end
        skynet.sleep(10)
    end
    test.eq(stuck, 0, "calls still pending 10 s after the storm")
    assert(kills >= MIN_KILLS, "only " .. kills .. " kills")
    assert(totals.ok > 100, "only " .. totals.ok .. " successful calls")
    assert(totals.failed + totals.invalid > 0, "no call ever failed: the storm did not bite")
    skynet.error(string.format("kill storm: %d kills, %d ok, %d call failed, %d invalid address",
        kills, totals.ok, totals.failed, totals.invalid))

    for i = 1, WORKERS do skynet.kill(workers[i]) end
    test.wait_until(function() return service_count() == count0 end, 500, "the service count to come back")
    local mem1 = lua_memory_total()
    -- Back to the starting level: only this test service's own tables may have grown a little.
    assert(mem1 < mem0 + 512 * 1024, string.format("Lua memory %d -> %d bytes", mem0, mem1))
end, 12000)

test.run()
