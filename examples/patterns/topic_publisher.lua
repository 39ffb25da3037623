-- Pattern 2.3, pub/sub: subscribers register per topic with "subscribe"; "publish" sends "notify" to
-- every subscriber of the topic. The subscriber is the caller's address (`source`).
--   call "subscribe", topic     -> true
--   call "unsubscribe", topic   -> true
--   call "publish", topic, msg  -> how many subscribers it was sent to
-- Beyond the tutorial: the publisher watches each subscriber (skynet.watch) and drops it from every
-- topic when it ends, so topics do not fill up with dead addresses.
local skynet = require "skynet"

local subscribers = {}  -- topic -> { [address] = true }
local watching = {}     -- address -> watch token

local function forget(address)
    watching[address] = nil
    for _, set in pairs(subscribers) do
        set[address] = nil
    end
end

skynet.start(function()
    skynet.dispatch("lua", function(_, source, cmd, ...)
        if cmd == "subscribe" then
            local topic = ...
            subscribers[topic] = subscribers[topic] or {}
            subscribers[topic][source] = true
            if not watching[source] then
                watching[source] = skynet.watch(source, forget)
            end
            skynet.ret(skynet.pack(true))
        elseif cmd == "unsubscribe" then
            local topic = ...
            if subscribers[topic] then
                subscribers[topic][source] = nil
            end
            skynet.ret(skynet.pack(true))
        elseif cmd == "publish" then
            local topic, message = ...
            local n = 0
            if subscribers[topic] then
                for subscriber in pairs(subscribers[topic]) do
                    skynet.send(subscriber, "lua", "notify", topic, message)
                    n = n + 1
                end
            end
            skynet.ret(skynet.pack(n))
        else
            error("unknown command " .. tostring(cmd))
        end
    end)
end)
