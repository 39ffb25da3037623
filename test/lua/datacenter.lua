-- skynet.datacenter: get / set / wait through datacenterd (global name DATACENTER).
local skynet = require "skynet"
local datacenter = require "skynet.datacenter"
local test = require "testlib"

test.case("set then get", function()
    test.eq(datacenter.get("dc_k1"), nil, "unset key")
    test.eq(datacenter.set("dc_k1", "v1"), nil, "set returns the old value (none)")
    test.eq(datacenter.get("dc_k1"), "v1", "get")
    test.eq(datacenter.set("dc_k1", "v2"), "v1", "set returns the old value")
    test.eq(datacenter.get("dc_k1"), "v2", "get after overwrite")
    datacenter.set("dc_k1", false)
    test.eq(datacenter.get("dc_k1"), false, "false is a value")
end)

test.case("nested keys", function()
    datacenter.set("dc_a", "b", "c", 42)
    test.eq(datacenter.get("dc_a", "b", "c"), 42, "leaf")
    local branch = datacenter.get("dc_a", "b")
    test.eq(type(branch), "table", "branch")
    test.eq(branch.c, 42, "branch content")
    test.eq(datacenter.get("dc_a", "x", "y"), nil, "missing path")
    datacenter.set("dc_a", "b", "d", "x")
    test.eq(datacenter.get("dc_a", "b", "c"), 42, "sibling kept")
    test.eq(datacenter.get("dc_a", "b", "d"), "x", "sibling")
end)

test.case("set of a single key removes it", function()
    datacenter.set("dc_rm", 1)
    datacenter.set("dc_rm")
    test.eq(datacenter.get("dc_rm"), nil, "removed")
end)

test.case("a value set from another service", function()
    local addr = skynet.newservice("svc_echo")
    skynet.call(addr, "lua", "dc_set", "dc_other", { x = 1 })
    test.eq(datacenter.get("dc_other", "x"), 1, "value set by another service")
end)

test.case("wait returns at once when the value exists", function()
    datacenter.set("dc_w0", "here")
    test.eq(datacenter.wait("dc_w0"), "here", "wait")
end)

test.case("wait blocks until set, and every waiter is woken", function()
    local got = {}
    for i = 1, 3 do
        skynet.fork(function()
            got[i] = datacenter.wait("dc_w1")
        end)
    end
    skynet.sleep(20)
    test.eq(next(got), nil, "no waiter returned before the set")
    datacenter.set("dc_w1", "go")
    test.wait_until(function() return got[1] and got[2] and got[3] end, 100, "the waiters")
    for i = 1, 3 do
        test.eq(got[i], "go", "waiter " .. i)
    end
end)

test.case("wait on a nested path woken by a set from another service", function()
    local got
    skynet.fork(function()
        got = datacenter.wait("dc_w2", "inner", "leaf")
    end)
    skynet.sleep(10)
    test.eq(got, nil, "before the set")
    datacenter.set("dc_w2", "inner", "other", 1)
    skynet.sleep(10)
    test.eq(got, nil, "after setting a sibling")
    local addr = skynet.newservice("svc_echo")
    skynet.call(addr, "lua", "dc_set", "dc_w2", "inner", "leaf", 99)
    test.wait_until(function() return got ~= nil end, 100, "the waiter")
    test.eq(got, 99, "waited value")
end)

test.case("a waiter below a path set to a table is woken", function()
    local got
    skynet.fork(function()
        got = datacenter.wait("dc_w3", "k")
    end)
    skynet.sleep(10)
    datacenter.set("dc_w3", { k = "from table" })
    test.wait_until(function() return got ~= nil end, 100, "the waiter")
    test.eq(got, "from table", "waited value")
end)

test.run()
