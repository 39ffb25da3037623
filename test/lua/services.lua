-- Service launching: .launcher (newservice) and service_mgr (uniqueservice / queryservice).
local skynet = require "skynet"
require "skynet.manager"
local datacenter = require "skynet.datacenter"
local test = require "testlib"

test.case("newservice returns an address that answers", function()
    local addr = skynet.newservice("svc_echo", "a", 2)
    assert(math.type(addr) == "integer" and addr > 0, "address expected, got " .. tostring(addr))
    test.eq(skynet.call(addr, "lua", "echo", "hi"), "hi", "echo")
    local a, b = skynet.call(addr, "lua", "args")
    test.eq(a, "a", "arg 1")
    test.eq(b, "2", "arg 2 (every argument becomes a string)")
    skynet.kill(addr)
end)

test.case("newservice of an unknown name raises, and the node keeps running", function()
    test.raises("call failed", skynet.newservice, "svc_no_such_service")
    -- the launcher still works
    local addr = skynet.newservice("svc_echo")
    test.eq(skynet.call(addr, "lua", "echo", 1), 1, "echo after a failed launch")
    skynet.kill(addr)
end)

test.case("a LAUNCH of an unknown module kind raises", function()
    test.raises("call failed", skynet.call, ".launcher", "lua", "LAUNCH", "no_such_module", "x")
end)

test.case("a service whose main chunk raises fails its newservice with call failed", function()
    test.raises("call failed", skynet.newservice, "svc_mainerror")
end)

test.case("a service whose start function raises fails its newservice with call failed", function()
    test.raises("call failed", skynet.newservice, "svc_starterror")
end)

test.case("a service that exits during its start gives nil", function()
    local r = table.pack(skynet.newservice("svc_exitstart"))
    test.eq(r[1], nil, "newservice result")
end)

test.case("a service killed during its start fails its newservice", function()
    local done, ok, err = false, nil, nil
    skynet.fork(function()
        ok, err = pcall(skynet.newservice, "svc_slowstart")
        done = true
    end)
    -- find the pending child in the launcher's list and kill it
    local victim
    test.wait_until(function()
        for addr, desc in pairs(skynet.call(".launcher", "lua", "LIST")) do
            if desc:find("svc_slowstart", 1, true) then
                victim = addr
                return true
            end
        end
    end, 100, "svc_slowstart in the launcher list")
    assert(not done, "newservice returned before the child's start finished")
    skynet.kill(victim)
    test.wait_until(function() return done end, 100, "newservice to return")
    assert(not ok, "newservice of a killed child should raise")
    assert(tostring(err):find("call failed", 1, true), "error: " .. tostring(err))
end)

test.case("a child killed during its start without telling the launcher still fails the launch", function()
    local done, ok, err = false, nil, nil
    skynet.fork(function()
        ok, err = pcall(skynet.newservice, "svc_slowstart", "silent")
        done = true
    end)
    local victim
    test.wait_until(function()
        for addr, desc in pairs(skynet.call(".launcher", "lua", "LIST")) do
            if desc == "snlua svc_slowstart silent" then
                victim = addr
                return true
            end
        end
    end, 100, "svc_slowstart in the launcher list")
    -- skynet.kill of a text address is the core KILL alone: no REMOVE reaches the launcher, so only
    -- its watch on the child can release the pending newservice
    skynet.kill(victim)
    test.wait_until(function() return done end, 100, "newservice to return")
    assert(not ok, "newservice of a killed child should raise")
    assert(tostring(err):find("call failed", 1, true), "error: " .. tostring(err))
end)

test.case("uniqueservice: 10 concurrent callers get one address, one launch", function()
    local results = {}
    local n = 0
    for i = 1, 10 do
        skynet.fork(function()
            results[i] = skynet.uniqueservice("svc_unique", "u1")
            n = n + 1
        end)
    end
    test.wait_until(function() return n == 10 end, 300, "10 uniqueservice calls")
    for i = 2, 10 do
        test.eq(results[i], results[1], "address of caller " .. i)
    end
    assert(math.type(results[1]) == "integer")
    test.eq(datacenter.get("svc_unique", "u1"), 1, "number of starts")
    local count = 0
    for _, desc in pairs(skynet.call(".launcher", "lua", "LIST")) do
        if desc:find("svc_unique u1", 1, true) then
            count = count + 1
        end
    end
    test.eq(count, 1, "svc_unique entries in the launcher list")
    -- a later call gets the same one without a new launch
    test.eq(skynet.uniqueservice("svc_unique", "u1"), results[1], "later uniqueservice")
    test.eq(skynet.queryservice("svc_unique"), results[1], "queryservice")
end)

test.case("queryservice blocks until the unique service exists", function()
    local got
    skynet.fork(function()
        got = skynet.queryservice("svc_unique2")
    end)
    skynet.sleep(30)
    test.eq(got, nil, "queryservice result before the launch")
    local addr = skynet.uniqueservice("svc_unique2")
    test.wait_until(function() return got ~= nil end, 100, "queryservice to return")
    test.eq(got, addr, "queried address")
end)

test.case("uniqueservice of an unknown name raises", function()
    test.raises("", skynet.uniqueservice, "svc_no_such_unique")
    -- service_mgr still serves
    test.eq(skynet.uniqueservice("svc_unique", "u1"), skynet.queryservice("svc_unique"), "after failure")
end)

test.case("global uniqueservice and queryservice", function()
    local addr = skynet.uniqueservice(true, "svc_unique", "g1")
    test.eq(skynet.uniqueservice(true, "svc_unique", "g1"), addr, "second global launch")
    test.eq(skynet.queryservice(true, "svc_unique"), addr, "global query")
    local list = skynet.call(".service", "lua", "LIST")
    test.eq(list["@svc_unique"], skynet.address(addr), "LIST entry of the global service")
end)

test.case("launcher LIST / STAT / MEM / GC", function()
    local addr = skynet.newservice("svc_echo", "listed")
    local me = skynet.address(skynet.self())
    local list = skynet.call(".launcher", "lua", "LIST")
    test.eq(list[skynet.address(addr)], "snlua svc_echo listed", "LIST entry of the new service")
    test.eq(list[me], "snlua services", "LIST entry of the test service")

    local stat = skynet.call(".launcher", "lua", "STAT")
    assert(type(stat[skynet.address(addr)]) == "table", "STAT entry: " .. tostring(stat[skynet.address(addr)]))

    local mem = skynet.call(".launcher", "lua", "MEM")
    local m = mem[skynet.address(addr)]
    assert(type(m) == "string" and m:find("^%d+%.%d%d Kb %(snlua svc_echo listed%)$"), "MEM entry: " .. tostring(m))

    local gc = skynet.call(".launcher", "lua", "GC")
    assert(type(gc[skynet.address(addr)]) == "string", "GC entry")

    skynet.kill(addr)
    test.wait_until(function()
        return skynet.call(".launcher", "lua", "LIST")[skynet.address(addr)] == nil
    end, 100, "killed service to leave the LIST")
end)

test.case("launcher KILL by text address", function()
    local addr = skynet.newservice("svc_echo")
    local r = skynet.call(".launcher", "lua", "KILL", skynet.address(addr))
    test.eq(r[skynet.address(addr)], "snlua svc_echo", "KILL answer")
    test.raises("", skynet.call, addr, "lua", "echo", 1)
end)

test.case("a service that exits after its start leaves the LIST", function()
    local addr = skynet.newservice("svc_echo")
    skynet.send(addr, "lua", "exit")
    test.wait_until(function()
        return skynet.call(".launcher", "lua", "LIST")[skynet.address(addr)] == nil
    end, 100, "exited service to leave the LIST")
end)

test.case("the launcher collects what services that ended left in its heap", function()
    -- its records of ended services are garbage that an idle launcher would keep (and with them the pages
    -- they share with the ended services' memory): it collects each time the live count halves
    local n = 512
    local list = {}
    for i = 1, n do
        list[i] = skynet.newservice("svc_echo")
    end
    local peak = skynet.call(".launcher", "debug", "MEM")
    for i = 1, n do
        skynet.send(list[i], "lua", "exit")
    end
    test.wait_until(function()
        local alive = skynet.call(".launcher", "lua", "LIST")
        for i = 1, n do
            if alive[skynet.address(list[i])] then
                return false
            end
        end
        return true
    end, 500, "the services to leave the LIST")
    local after = skynet.call(".launcher", "debug", "MEM")
    local gc = skynet.call(".launcher", "debug", "GC")
    -- 512 records are ~300 KB; what is left uncollected is a few of them, not all
    assert(after - gc < (peak - gc) / 4,
        string.format("launcher heap: %.0f KB at the peak, %.0f KB after the ends, %.0f KB live", peak, after, gc))
end)

test.case("unknown launcher command", function()
    local r = skynet.call(".launcher", "lua", "NOPE")
    test.eq(type(r) == "table" and r[1], "Unknown command", "answer")
end)

test.run()
