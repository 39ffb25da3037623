-- Local (.x) and global names: registration, lookup, calls by name, waiting for a global name.
local skynet = require "skynet"
require "skynet.manager"
local harbor = require "skynet.harbor"
local test = require "testlib"

test.case("local name: register, localname, query, call by name", function()
    local addr = skynet.newservice("svc_echo")
    skynet.call(addr, "lua", "register", ".names_echo")
    test.eq(skynet.localname(".names_echo"), addr, "localname")
    test.eq(skynet.query(".names_echo"), addr, "skynet.query")
    test.eq(skynet.call(".names_echo", "lua", "echo", "by name"), "by name", "call by local name")
    skynet.kill(addr)
end)

test.case("local name given to another service with skynet.name", function()
    local addr = skynet.newservice("svc_echo")
    skynet.name(".names_other", addr)
    test.eq(skynet.localname(".names_other"), addr, "localname")
    test.eq(skynet.call(".names_other", "lua", "echo", 5), 5, "call")
    skynet.kill(addr)
end)

test.case("register of our own local name", function()
    skynet.register(".names_self")
    test.eq(skynet.localname(".names_self"), skynet.self(), "localname of self")
end)

test.case("the local name of a dead service", function()
    local addr = skynet.newservice("svc_echo")
    skynet.call(addr, "lua", "register", ".names_dead")
    test.eq(skynet.localname(".names_dead"), addr, "before the kill")
    skynet.kill(addr)
    test.wait_until(function() return skynet.localname(".names_dead") == nil end, 100,
        "the name to go with its service")
    test.raises("", skynet.call, ".names_dead", "lua", "echo", 1)
    test.eq(skynet.send(".names_dead", "lua", "echo", 1), nil, "send to the dead name")
end)

test.case("unknown local name", function()
    test.eq(skynet.localname(".names_never"), nil, "localname")
    test.raises("call to invalid address", skynet.call, ".names_never", "lua", "echo")
end)

test.case("global name: register and call by name", function()
    local addr = skynet.newservice("svc_echo")
    skynet.call(addr, "lua", "register", "CHAT_HUB")
    test.wait_until(function() return skynet.query("CHAT_HUB") == addr end, 100, "CHAT_HUB to be registered")
    test.eq(skynet.call("CHAT_HUB", "lua", "echo", "hub"), "hub", "call by global name")
    test.eq(harbor.queryname("CHAT_HUB"), addr, "harbor.queryname of a registered name")
end)

test.case("global name given with skynet.name", function()
    local addr = skynet.newservice("svc_echo")
    skynet.name("NAMES_G2", addr)
    test.eq(skynet.call("NAMES_G2", "lua", "echo", 7), 7, "call")
    test.eq(harbor.queryname("NAMES_G2"), addr, "queryname")
end)

test.case("a call to a global name registered 50 cs later waits and succeeds", function()
    local t0 = skynet.now()
    local addr = skynet.newservice("svc_late_name", "LATE_NAME", 50)
    local pong, who = skynet.call("LATE_NAME", "lua", "ping")
    test.eq(pong, "pong", "answer")
    test.eq(who, addr, "answering service")
    assert(skynet.now() - t0 >= 40, "the call returned after " .. (skynet.now() - t0) .. " cs only")
end)

test.case("skynet.term ends a wait on an unregistered global name with call failed", function()
    local done, ok, err
    skynet.fork(function()
        ok, err = pcall(skynet.call, "NEVER_NAME", "lua", "ping")
        done = true
    end)
    skynet.sleep(20)
    assert(not done, "the call to an unregistered name returned: " .. tostring(ok) .. " " .. tostring(err))
    skynet.term("NEVER_NAME")
    test.wait_until(function() return done end, 100, "the call to end")
    assert(not ok, "the call should fail")
    assert(tostring(err):find("call failed", 1, true), "error: " .. tostring(err))
end)

test.case("harbor.queryname blocks until the name is registered", function()
    local got
    skynet.fork(function()
        got = harbor.queryname("QUERY_LATER")
    end)
    skynet.sleep(20)
    test.eq(got, nil, "queryname before registration")
    local addr = skynet.newservice("svc_late_name", "QUERY_LATER", 0)
    test.wait_until(function() return got ~= nil end, 200, "queryname to return")
    test.eq(got, addr, "queried handle")
end)

test.case("harbor.queryname of a local name", function()
    skynet.register(".names_q")
    test.eq(harbor.queryname(".names_q"), skynet.self(), "local name")
    test.eq(harbor.queryname(".names_q_none"), nil, "unknown local name")
end)

test.case("harbor.linkmaster fails at once on a single node", function()
    test.raises("call failed", harbor.linkmaster)
end)

test.case("harbor.link answers at once on a single node", function()
    harbor.link(1)
end)

test.case("harbor.connect fails at once: no other harbor can ever connect", function()
    test.raises("call failed", harbor.connect, 2)
end)

test.run()
