-- snax services: accept / response methods, init / exit, unique and global services, hotfix.
local skynet = require "skynet"
local snax = require "skynet.snax"
local datacenter = require "skynet.datacenter"
local test = require "testlib"

test.case("newservice runs init with its arguments", function()
    local obj = snax.newservice("svc_snax_counter", 10, "extra")
    test.eq(obj.type, "svc_snax_counter", "type")
    assert(math.type(obj.handle) == "integer", "handle")
    local a, b = obj.req.init_args()
    test.eq(a, 10, "first init argument")
    test.eq(b, "extra", "second init argument")
    test.eq(obj.req.get(), 10, "state set by init")
    test.eq(tostring(obj), string.format("[svc_snax_counter:%x]", obj.handle), "tostring")
    snax.kill(obj)
end)

test.case("accept (post) and response (req)", function()
    local obj = snax.newservice("svc_snax_counter", 1)
    obj.post.add(2)
    obj.post.add(3)
    test.eq(obj.req.get(), 6, "count after two posts")
    local log = obj.req.log()
    test.eq(table.concat(log, ","), "init,add,add", "order of calls")
    snax.kill(obj)
end)

test.case("errors in methods", function()
    local obj = snax.newservice("svc_snax_counter")
    test.raises("call failed", obj.req.fail)
    obj.post.fail()                 -- logged by the service, no reply
    test.eq(obj.req.get(), 0, "service alive after errors")
    test.raises("request svc_snax_counter:nope no exist", function() return obj.req.nope end)
    test.raises("post svc_snax_counter:nope no exist", function() return obj.post.nope end)
    snax.kill(obj)
end)

test.case("kill runs exit and ends the service", function()
    local obj = snax.newservice("svc_snax_counter")
    snax.kill(obj, "killed by test")
    test.eq(datacenter.get("svc_snax_counter", "exit"), "killed by test", "exit argument")
    test.raises("", obj.req.get)
end)

test.case("snax.self and snax.exit inside the service", function()
    local obj = snax.newservice("svc_snax_counter")
    local h, t, s = obj.req.whoami()
    test.eq(h, obj.handle, "self handle")
    test.eq(t, "svc_snax_counter", "self type")
    test.eq(s, tostring(obj), "self tostring")
    test.eq(obj.req.quit("self exit"), "bye", "quit")
    test.wait_until(function()
        return datacenter.get("svc_snax_counter", "exit") == "self exit"
    end, 100, "exit to run")
    test.wait_until(function() return not pcall(obj.req.get) end, 100, "service to end")
end)

test.case("uniqueservice / queryservice", function()
    local found
    skynet.fork(function()
        found = snax.queryservice("svc_snax_counter")
    end)
    local a = snax.uniqueservice("svc_snax_counter", 5)
    local b = snax.uniqueservice("svc_snax_counter", 7)
    test.eq(a.handle, b.handle, "same service")
    test.eq(a, b, "same bound object")
    test.eq(b.req.get(), 5, "initialised once, by the first launch")
    test.wait_until(function() return found ~= nil end, 100, "queryservice")
    test.eq(found.handle, a.handle, "queried service")
end)

test.case("globalservice / queryglobal", function()
    local a = snax.globalservice("svc_snax_counter", 100)
    local b = snax.queryglobal("svc_snax_counter")
    test.eq(a.handle, b.handle, "same global service")
    test.eq(b.req.get(), 100, "state")
    local unique = snax.queryservice("svc_snax_counter")
    assert(unique.handle ~= a.handle, "global and local unique services are distinct")
end)

test.case("bind gives the object of a handle", function()
    local obj = snax.newservice("svc_snax_counter", 3)
    local bound = snax.bind(obj.handle, "svc_snax_counter")
    test.eq(bound.req.get(), 3, "bound object")
    snax.kill(obj)
end)

test.case("hotfix replaces a method and keeps the state", function()
    local obj = snax.newservice("svc_snax_counter", 4)
    obj.post.add(1)
    local r1, r2 = snax.hotfix(obj, [[
        local count
        function response.get()
            return count * 100
        end
        function hotfix(...)
            return "patched", ...
        end
    ]], "arg")
    test.eq(r1, "patched", "hotfix result")
    test.eq(r2, "arg", "hotfix argument")
    test.eq(obj.req.get(), 500, "patched method sees the old state")
    obj.post.add(1)
    test.eq(obj.req.get(), 600, "state shared with the unpatched methods")
    snax.kill(obj)
end)

test.case("hotfix errors", function()
    local obj = snax.newservice("svc_snax_counter")
    test.raises("Patch mismatch", snax.hotfix, obj, [[
        function response.no_such_method() end
    ]])
    test.raises("", snax.hotfix, obj, "this is not lua")
    test.eq(obj.req.get(), 0, "service fine after failed patches")
    snax.kill(obj)
end)

test.case("newservice of an unknown snax name raises", function()
    test.raises("", snax.newservice, "svc_no_such_snax")
end)

test.run()
