-- A Lua service using the `pubsub` module, for test/lua/pubsub.lua. Commands ("lua"):
--   subscribe(channel, type) -> true or false, error    unsubscribe(channel) -> true or false, error
--   publish(channel, type, ...) -> count or false, error
--   got() -> { {channel, type, from, n, values..., kinds = {...}}, ... } (and forgets them)
--   exit()
local skynet = require "skynet"
local pubsub = require "pubsub"

local received = {}
local tokens = {}   -- channel -> token

local function record(msg)
    local copy = { channel = msg.channel, type = msg.type, from = msg.from, n = msg.n, kinds = msg.kinds }
    for i = 1, msg.n do
        copy[i] = msg[i]
    end
    received[#received + 1] = copy
end

local cmd = {}

function cmd.subscribe(channel, msgtype)
    local ok, token = pcall(pubsub.subscribe, channel, msgtype, record)
    if not ok then
        return false, token
    end
    tokens[channel] = token
    return true
end

function cmd.unsubscribe(channel)
    local token = tokens[channel]
    if not token then
        return false, "no token"
    end
    tokens[channel] = nil
    return pcall(token.unsubscribe, token)
end

function cmd.publish(channel, msgtype, ...)
    local ok, n = pcall(pubsub.publish, channel, msgtype, ...)
    if not ok then
        return false, n
    end
    return n
end

function cmd.got()
    local r = received
    received = {}
    return r
end

function cmd.exit()
    skynet.exit()
end

skynet.start(function()
    skynet.dispatch("lua", function(_, _, command, ...)
        local f = assert(cmd[command], command)
        skynet.retpack(f(...))
    end)
end)
