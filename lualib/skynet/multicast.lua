-- skynet.multicast: publish/subscribe channels through multicastd.
--
--   local mc = require "skynet.multicast"
--   local chan = mc.new { channel = id?, dispatch = function(chan, source, ...) end, pack?, unpack? }
--   chan.channel          the channel id (pass it to other services; they mc.new{channel = id, ...})
--   chan:subscribe()      start receiving; chan:unsubscribe()
--   chan:publish(...)     every subscriber's dispatch gets (chan, publisher, ...)
--   chan:delete()         removes the channel
--
-- A published message is packed once and the same buffer is shared by all subscribers
-- (skynet.multicast.core); each subscriber closes its reference after its dispatch ran.
local skynet = require "skynet"
local mc = require "skynet.multicast.core"

local multicast = {}
local multicastd
local subscribed = {}   -- channel id -> the channel object whose dispatch receives it

local chan = {}
local chan_meta = {
    __index = chan,
    -- A channel object dropped while still subscribed stops the deliveries to this service.
    __gc = function(self)
        self:unsubscribe()
    end,
    __tostring = function(self)
        return string.format("[Multicast:%x]", self.channel or 0)
    end,
}

function multicast.new(conf)
    assert(multicastd, "Init first")
    conf = conf or {}
    local self = {}
    self.channel = conf.channel
    if self.channel == nil then
        self.channel = skynet.call(multicastd, "lua", "NEW")
    end
    self.__pack = conf.pack or skynet.pack
    self.__unpack = conf.unpack or skynet.unpack
    self.__dispatch = conf.dispatch
    return setmetatable(self, chan_meta)
end

function chan:delete()
    local c = assert(self.channel, "channel deleted")
    skynet.send(multicastd, "lua", "DEL", c)
    if subscribed[c] == self then
        subscribed[c] = nil
    end
    self.channel = nil
    self.__subscribe = nil
end

function chan:publish(...)
    local c = assert(self.channel, "channel deleted")
    skynet.call(multicastd, "lua", "PUB", c, mc.pack(self.__pack(...)))
end

function chan:subscribe()
    local c = assert(self.channel, "channel deleted")
    if self.__subscribe then
        return
    end
    skynet.call(multicastd, "lua", "SUB", c)
    self.__subscribe = true
    subscribed[c] = self
end

function chan:unsubscribe()
    if not self.__subscribe then
        return
    end
    local c = assert(self.channel)
    skynet.send(multicastd, "lua", "USUB", c)
    self.__subscribe = nil
    if subscribed[c] == self then
        subscribed[c] = nil
    end
end

local function deliver(self, source, msg, sz)
    return self.__dispatch(self, source, self.__unpack(msg, sz))
end

-- PTYPE_MULTICAST: the session is the channel id, and there is no reply.
local function dispatch_subscribe(channel, source, pack, msg, sz)
    skynet.ignoreret()
    local self = subscribed[channel]
    if not (self and self.__subscribe and self.__dispatch) then
        -- Unsubscribed after the message was sent out (or nobody listens): just drop our reference.
        mc.close(pack)
        return
    end
    -- Our reference is dropped whatever the dispatch (or the unpack) does.
    local ok, err = pcall(deliver, self, source, msg, sz)
    mc.close(pack)
    if not ok then
        error(err, 0)
    end
end

skynet.init(function()
    multicastd = skynet.uniqueservice "multicastd"
    skynet.register_protocol {
        name = "multicast",
        id = skynet.PTYPE_MULTICAST,
        unpack = mc.unpack,
        dispatch = dispatch_subscribe,
    }
end)

return multicast
