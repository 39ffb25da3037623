-- multicastd: the channel registry of skynet.multicast (a unique service, started on first use).
--
-- Lua commands, `source` being the caller:
--   NEW()              -> a new channel id
--   DEL(c)             deletes a channel (sent, no reply)
--   SUB(c)             source subscribes to c (called)
--   USUB(c)            source unsubscribes (sent, no reply)
--   PUB(c, box, sz)    fans the packed message out to every subscriber (called; see
--                      lualib-src lua_multicast.cpp for the package life cycle)
--
-- Every channel is local here (single node), so skynet's remote-node commands are not needed. Channel
-- ids keep the harbor id in their low 8 bits, as in skynet.
local skynet = require "skynet"
local core = require "skynet.core"
local mc = require "skynet.multicast.core"

local channel = {}          -- id -> { [subscriber handle] = true }
local channel_n = {}        -- id -> number of subscribers
local next_channel = skynet.harbor(skynet.self())
local NORET = {}
local command = {}

function command.NEW()
    while channel[next_channel] do
        next_channel = mc.nextid(next_channel)
    end
    local id = next_channel
    channel[id] = {}
    channel_n[id] = 0
    next_channel = mc.nextid(next_channel)
    return id
end

function command.DEL(_, c)
    channel[c] = nil
    channel_n[c] = nil
    return NORET
end

-- Frees a package nobody will receive.
local function drop(box)
    mc.close(mc.bind(box, 1))
end

function command.PUB(source, c, box, size)
    local group = channel[c]
    if group == nil or channel_n[c] == 0 then
        -- A deleted or empty channel: the message goes nowhere.
        drop(box)
        return
    end
    -- The body of every message is the package pointer itself.
    local body = skynet.tostring(box, size)
    local pack = mc.bind(box, channel_n[c])
    local undelivered = 0
    for subscriber in pairs(group) do
        -- core.redirect returns nil when the subscriber no longer exists (spec §1.1).
        if not core.redirect(subscriber, source, skynet.PTYPE_MULTICAST, c, body) then
            -- The subscriber is gone: it will never close its reference, so close it for it, and
            -- forget it.
            undelivered = undelivered + 1
            group[subscriber] = nil
            channel_n[c] = channel_n[c] - 1
        end
    end
    for _ = 1, undelivered do
        mc.close(pack)
    end
end

function command.SUB(source, c)
    local group = channel[c]
    if group == nil then
        error(string.format("subscribe to unknown multicast channel %s", tostring(c)))
    end
    if not group[source] then
        group[source] = true
        channel_n[c] = channel_n[c] + 1
    end
end

function command.USUB(source, c)
    local group = channel[c]
    if group and group[source] then
        group[source] = nil
        channel_n[c] = channel_n[c] - 1
    end
    return NORET
end

skynet.start(function()
    skynet.dispatch("lua", function(_, source, cmd, ...)
        local f = command[cmd]
        if not f then
            error("multicastd: unknown command " .. tostring(cmd))
        end
        local result = f(source, ...)
        if result ~= NORET then
            skynet.ret(skynet.pack(result))
        end
    end)
end)
