-- Pattern 2.3, pub/sub: a subscriber. It subscribes itself (so the publisher sees its address as the
-- source) and keeps what it was notified of.
--   call "subscribe", publisher, topic     call "unsubscribe", publisher, topic
--   send "notify", topic, message          (from the publisher)
--   call "received"  -> { {topic, message}, ... } in arrival order
local skynet = require "skynet"

local received = {}

skynet.start(function()
    skynet.dispatch("lua", function(_, _, cmd, ...)
        if cmd == "notify" then
            local topic, message = ...
            received[#received + 1] = { topic = topic, message = message }
        elseif cmd == "subscribe" or cmd == "unsubscribe" then
            local publisher, topic = ...
            skynet.ret(skynet.pack(skynet.call(publisher, "lua", cmd, topic)))
        elseif cmd == "received" then
            skynet.ret(skynet.pack(received))
        elseif cmd == "exit" then
            skynet.exit()
        else
            error("unknown command " .. tostring(cmd))
        end
    end)
end)
