-- A multicast subscriber for the tests. Lua commands:
--   sub(channel)      subscribe to the channel; what arrives on it is recorded under that channel
--   unsub(channel)    unsubscribe
--   received(channel) -> list of { publisher, ... } recorded for the channel
local skynet = require "skynet"
local multicast = require "skynet.multicast"

local channels = {}
local received = {}
local cmd = {}

function cmd.sub(id)
    local list = received[id] or {}
    received[id] = list
    local chan = multicast.new {
        channel = id,
        dispatch = function(chan, source, ...)
            assert(chan.channel == id, "dispatched to the wrong channel object")
            list[#list + 1] = table.pack(source, ...)
        end,
    }
    chan:subscribe()
    channels[id] = chan
    return true
end

function cmd.unsub(id)
    channels[id]:unsubscribe()
    return true
end

function cmd.received(id)
    return received[id] or {}
end

skynet.start(function()
    skynet.dispatch("lua", function(_, _, command, ...)
        skynet.retpack(assert(cmd[command], command)(...))
    end)
end)
