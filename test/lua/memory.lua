-- skynet.memory: process totals and per-service Lua heaps.
local skynet = require "skynet"
local memory = require "skynet.memory"
local test = require "testlib"

test.case("total and current are positive; info lists this service's heap", function()
    assert(memory.total() > 0, "total")
    local mine = memory.current()
    assert(mine > 0, "current")
    local info = memory.info()
    assert(info[skynet.self()], "this service missing from info")
    assert(info[skynet.self()] > 0)
end)

test.case("a service's heap grows in info while it holds memory", function()
    local before = memory.current()
    local hold = {}
    for i = 1, 20000 do hold[i] = { i } end
    local after = memory.current()
    assert(after > before + 20000 * 16, string.format("%d -> %d", before, after))
    hold = nil
end)

test.case("jestat gives jemalloc's gauges; mallctl of an unknown name gives nothing", function()
    local st = memory.jestat()
    assert(type(st) == "table")
    if next(st) then   -- empty under the sanitizer builds, which do not use jemalloc
        assert(st.allocated > 0 and st.resident >= st.allocated, "allocated/resident")
    end
    test.eq(memory.mallctl("no.such.stat"), nil, "unknown mallctl")
end)

test.case("a new service's counted heap matches Lua's own count from its first line", function()
    -- Whether its state was opened ahead of time (a spare) or not, a service must count every block of
    -- its heap: skynet.memory.current and collectgarbage("count") agree.
    for _ = 1, 5 do
        local addr = skynet.newservice("mem_count")
        local counted, lua_count = skynet.call(addr, "lua")
        assert(lua_count > 16 * 1024, "the standard libraries alone take more than this: " .. lua_count)
        assert(math.abs(counted - lua_count) < lua_count // 20,
            string.format("counted %d bytes, Lua counts %d", counted, lua_count))
        skynet.send(addr, "lua", "exit")
    end
end)

test.case("another service's heap in info follows what it holds once its message is handled", function()
    -- The heap a service reports to the others is brought up to date after each message it handles.
    local addr = skynet.newservice("mem_hold")
    skynet.call(addr, "lua", "ping")
    local before = memory.info()[addr]
    assert(before and before > 0, "a booted service is listed")
    skynet.call(addr, "lua", "hold", 20000)
    local held = memory.info()[addr]
    assert(held > before + 20000 * 16, string.format("%d -> %d", before, held))
    skynet.call(addr, "lua", "drop")
    local dropped = memory.info()[addr]
    assert(dropped < held - 20000 * 16, string.format("%d -> %d", held, dropped))
    skynet.send(addr, "lua", "exit")
end)

test.case("a new service runs the generational collector from its first message", function()
    -- As skynet's snlua, whether its state was opened ahead of time (a spare) or by its own boot.
    for _ = 1, 5 do
        local addr = skynet.newservice("gc_probe")
        test.eq(skynet.call(addr, "lua"), "generational", "collector mode at the first request")
        skynet.kill(addr)
    end
end)

test.run()
