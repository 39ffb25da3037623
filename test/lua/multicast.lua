-- skynet.multicast: channels through multicastd, one shared packed message per publish.
local skynet = require "skynet"
require "skynet.manager"
local multicast = require "skynet.multicast"
local test = require "testlib"

local function received(sub, channel, n)
    local list
    test.wait_until(function()
        list = skynet.call(sub, "lua", "received", channel)
        return #list >= n
    end, 200, n .. " messages at " .. skynet.address(sub))
    return list
end

test.case("publish reaches every subscriber, in order", function()
    local chan = multicast.new()
    assert(math.type(chan.channel) == "integer", "channel id")
    local subs = {}
    for i = 1, 3 do
        subs[i] = skynet.newservice("svc_mc_sub")
        skynet.call(subs[i], "lua", "sub", chan.channel)
    end
    for i = 1, 5 do
        chan:publish("msg", i, { n = i })
    end
    for i = 1, 3 do
        local list = received(subs[i], chan.channel, 5)
        test.eq(#list, 5, "messages at subscriber " .. i)
        for j = 1, 5 do
            local m = list[j]
            test.eq(m[1], skynet.self(), "publisher")
            test.eq(m[2], "msg", "payload 1")
            test.eq(m[3], j, "order")
            test.eq(m[4].n, j, "table payload")
        end
    end
    for i = 1, 3 do
        skynet.kill(subs[i])
    end
    chan:delete()
end)

test.case("a subscriber in the publishing service itself", function()
    local got = {}
    local chan = multicast.new {
        dispatch = function(c, source, ...)
            got[#got + 1] = table.pack(c, source, ...)
        end,
    }
    chan:subscribe()
    chan:publish("self", 1)
    test.wait_until(function() return #got == 1 end, 100, "own message")
    test.eq(got[1][1], chan, "channel object")
    test.eq(got[1][2], skynet.self(), "source")
    test.eq(got[1][3], "self", "payload")
    chan:unsubscribe()
    chan:publish("after", 2)
    skynet.sleep(10)
    test.eq(#got, 1, "messages after unsubscribe")
    chan:delete()
end)

test.case("unsubscribe stops deliveries to that subscriber only", function()
    local chan = multicast.new()
    local a = skynet.newservice("svc_mc_sub")
    local b = skynet.newservice("svc_mc_sub")
    skynet.call(a, "lua", "sub", chan.channel)
    skynet.call(b, "lua", "sub", chan.channel)
    chan:publish(1)
    received(a, chan.channel, 1)
    received(b, chan.channel, 1)
    skynet.call(a, "lua", "unsub", chan.channel)
    chan:publish(2)
    local lb = received(b, chan.channel, 2)
    test.eq(lb[2][2], 2, "b got the second message")
    skynet.sleep(10)
    test.eq(#skynet.call(a, "lua", "received", chan.channel), 1, "a after unsubscribing")
    skynet.kill(a)
    skynet.kill(b)
    chan:delete()
end)

test.case("one dispatch per channel", function()
    local c1 = multicast.new()
    local c2 = multicast.new()
    assert(c1.channel ~= c2.channel, "distinct channel ids")
    local sub = skynet.newservice("svc_mc_sub")
    skynet.call(sub, "lua", "sub", c1.channel)
    skynet.call(sub, "lua", "sub", c2.channel)
    c1:publish("one")
    c2:publish("two")
    c2:publish("two again")
    test.eq(received(sub, c1.channel, 1)[1][2], "one", "channel 1")
    local l2 = received(sub, c2.channel, 2)
    test.eq(l2[1][2], "two", "channel 2")
    test.eq(l2[2][2], "two again", "channel 2 again")
    skynet.sleep(5)
    test.eq(#skynet.call(sub, "lua", "received", c1.channel), 1, "channel 1 got only its message")
    skynet.kill(sub)
    c1:delete()
    c2:delete()
end)

test.case("publish with no subscribers, to a deleted channel, and to a dead subscriber", function()
    local chan = multicast.new()
    chan:publish("nobody")            -- no subscriber: the package is freed by multicastd
    local sub = skynet.newservice("svc_mc_sub")
    skynet.call(sub, "lua", "sub", chan.channel)
    skynet.kill(sub)
    chan:publish("dead")              -- the subscriber is gone
    chan:publish("dead again")
    local other = multicast.new { channel = chan.channel }
    chan:delete()
    other:publish("deleted")          -- a deleted channel
    test.raises("", function() chan:publish("x") end)   -- this object has no channel any more
    -- multicastd is still fine
    local c2 = multicast.new()
    local s2 = skynet.newservice("svc_mc_sub")
    skynet.call(s2, "lua", "sub", c2.channel)
    c2:publish("alive")
    test.eq(received(s2, c2.channel, 1)[1][2], "alive", "after the odd publishes")
    skynet.kill(s2)
    c2:delete()
end)

test.case("a custom pack / unpack", function()
    local got
    local chan = multicast.new {
        pack = function(s) return s end,                 -- a string message
        unpack = function(msg, sz) return skynet.tostring(msg, sz) end,
        dispatch = function(_, _, s) got = s end,
    }
    chan:subscribe()
    chan:publish("raw text")
    test.wait_until(function() return got ~= nil end, 100, "the message")
    test.eq(got, "raw text", "custom packed message")
    chan:unsubscribe()
    chan:delete()
end)

test.case("many publishes to many subscribers", function()
    local chan = multicast.new()
    local subs = {}
    for i = 1, 8 do
        subs[i] = skynet.newservice("svc_mc_sub")
        skynet.call(subs[i], "lua", "sub", chan.channel)
    end
    for i = 1, 200 do
        chan:publish(i, string.rep("x", i))
    end
    for i = 1, 8 do
        local list = received(subs[i], chan.channel, 200)
        test.eq(list[200][2], 200, "last message at subscriber " .. i)
        test.eq(#list[200][3], 200, "payload size")
        skynet.kill(subs[i])
    end
    chan:delete()
end)

test.run()
