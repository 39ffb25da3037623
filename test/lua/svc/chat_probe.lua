-- A member of CHAT_HUB for test/lua/chat_hub.lua, written like the tutorial's clients: it joins with
-- itself as the session, says things with skynet.send(hub, "chat", ...), and records every "chat"
-- message the hub sends it.
--   join(user, room [, n])   -> the answer of join_room
--   say(user, room, text)    sends a chat message (no answer from the hub)
--   take()                   -> the messages received so far (and forgets them)
--   count()                  -> how many are waiting
local skynet = require "skynet"

skynet.register_protocol {
    name = "chat",
    id = 25,
    pack = skynet.pack,
    unpack = skynet.unpack,
}

local got = {}
local CMD = {}

function CMD.join(user, room, n)
    return skynet.call("CHAT_HUB", "lua", "join_room", user, room, skynet.self(), n)
end

function CMD.say(user, room, text)
    skynet.send("CHAT_HUB", "chat", "message", user, room, text)
end

function CMD.take()
    local list = got
    got = {}
    return list
end

function CMD.count()
    return #got
end

skynet.start(function()
    skynet.dispatch("chat", function(_, _, cmd, message)
        if cmd == "message" then
            got[#got + 1] = message
        end
    end)
    skynet.dispatch("lua", function(_, _, cmd, ...)
        local f = assert(CMD[cmd], cmd)
        skynet.ret(skynet.pack(f(...)))
    end)
end)
