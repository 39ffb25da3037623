-- skynet.watch / skynet.unwatch (extension §8) and the other §8 extensions around naming.
local skynet = require "skynet"
local manager = require "skynet.manager"
local test = require "testlib"

-- Watches addr and returns a function that waits for the notification: reason, address, thread.
local function watcher(addr)
    local got
    local token = skynet.watch(addr, function(a, reason)
        got = { reason = reason, addr = a, thread = coroutine.running() }
    end)
    return token, function(ticks)
        test.wait_until(function() return got end, ticks or 300, "watch notification")
        return got.reason, got.addr, got.thread
    end
end

test.case("exit gives reason exit", function()
    local svc = skynet.newservice "ll_echo"
    local _, wait = watcher(svc)
    skynet.send(svc, "lua", "EXIT")
    local reason, addr, thread = wait()
    test.eq(reason, "exit", "reason")
    test.eq(addr, svc, "address")
    test.eq(thread ~= coroutine.running(), true, "runs in its own coroutine")
end)

test.case("kill gives reason killed", function()
    local svc = skynet.newservice "ll_echo"
    local _, wait = watcher(svc)
    skynet.kill(svc)
    test.eq(wait(), "killed", "reason")
end)

test.case("a failed start gives reason error", function()
    local svc = skynet.launch("snlua", "ll_initfail", "20")
    test.eq(type(svc), "number", "launched")
    local _, wait = watcher(svc)
    test.eq(wait(), "error", "reason")
end)

test.case("a handle that is already gone gives reason dead", function()
    local svc = skynet.newservice "ll_echo"
    skynet.kill(svc)
    skynet.sleep(5)
    local _, wait = watcher(svc)
    test.eq(wait(), "dead", "reason")
end)

test.case("a handle that never existed gives reason dead", function()
    local _, wait = watcher(0x00ffff00)
    test.eq(wait(), "dead", "reason")
end)

test.case("watch by local name", function()
    local svc = skynet.newservice "ll_echo"
    skynet.name(".ll_watched", svc)
    local _, wait = watcher ".ll_watched"
    skynet.send(svc, "lua", "EXIT")
    local reason, addr = wait()
    test.eq(reason, "exit", "reason")
    test.eq(addr, svc, "address")
end)

test.case("unwatch cancels the notification", function()
    local svc = skynet.newservice "ll_echo"
    local fired = false
    local token = skynet.watch(svc, function() fired = true end)
    skynet.unwatch(token)
    skynet.kill(svc)
    skynet.sleep(20)
    test.eq(fired, false, "no notification after unwatch")
end)

test.case("several watchers of one service are all told", function()
    local svc = skynet.newservice "ll_echo"
    local _, wait1 = watcher(svc)
    local _, wait2 = watcher(svc)
    skynet.send(svc, "lua", "EXIT")
    test.eq(wait1(), "exit", "first watcher")
    test.eq(wait2(), "exit", "second watcher")
end)

test.case("a watcher that ends leaves nothing behind", function()
    local svc = skynet.newservice "ll_echo"
    local w = skynet.newservice "ll_echo"
    -- w watches svc through RUN, then w exits; svc's later exit must not disturb anything
    local ok = skynet.call(w, "debug", "RUN",
        "local skynet = require 'skynet' skynet.watch(" .. svc .. ", function() end)", nil)
    test.eq(ok, true, "watch installed in w")
    skynet.send(w, "lua", "EXIT")
    skynet.sleep(5)
    skynet.send(svc, "lua", "EXIT")
    skynet.sleep(5)
    test.raises("call to invalid address", skynet.call, svc, "lua", "ECHO")
end)

test.case("register and name work without requiring skynet.manager; manager is skynet", function()
    test.eq(manager, skynet, "manager returns the skynet table")
    local svc = skynet.newservice "ll_echo"
    skynet.name(".ll_named", svc)
    test.eq(skynet.localname ".ll_named", svc, "localname")
    test.eq(skynet.query ".ll_named", svc, "query of a local name")
    test.eq(skynet.query ".ll_not_registered", nil, "query of a missing local name")
    skynet.register ".ll_self_name"
    test.eq(skynet.query ".ll_self_name", skynet.self(), "register")
    skynet.kill(svc)
end)

test.case("global names: name, query, call", function()
    local svc = skynet.newservice "ll_echo"
    skynet.name("LLGLOBAL", svc)
    test.eq(skynet.query "LLGLOBAL", svc, "query of a global name")
    test.eq(skynet.call("LLGLOBAL", "lua", "ECHO", "via global"), "via global", "call by global name")
    test.eq(skynet.query "LLNOTREGISTERED", nil, "missing global name")
    test.eq(require("skynet.harbor").queryname "LLGLOBAL", svc, "harbor.queryname")
    skynet.kill(svc)
end)

test.case("a call to a global name registered later is delivered", function()
    local result
    skynet.fork(function()
        result = skynet.call("LLLATE", "lua", "ECHO", "late")
    end)
    skynet.sleep(5)
    test.eq(result, nil, "waiting for the name")
    local svc = skynet.newservice "ll_echo"
    skynet.name("LLLATE", svc)
    test.wait_until(function() return result end, 200, "delivery")
    test.eq(result, "late", "reply")
    skynet.kill(svc)
end)

test.case("harbor.queryname blocks until the name is registered", function()
    local harbor = require "skynet.harbor"
    local found
    skynet.fork(function() found = harbor.queryname "LLWAITNAME" end)
    skynet.sleep(5)
    test.eq(found, nil, "blocked")
    local svc = skynet.newservice "ll_echo"
    skynet.name("LLWAITNAME", svc)
    test.wait_until(function() return found end, 200, "queryname")
    test.eq(found, svc, "handle")
    skynet.kill(svc)
end)

test.run()
