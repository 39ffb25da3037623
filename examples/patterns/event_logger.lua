-- Pattern 2.2, fire-and-forget: "log" arrives by skynet.send and is never answered; the sender goes
-- on at once. "entries" (a call) returns what was logged; since one sender's messages arrive in the
-- order it sent them, a call after some sends sees all of them.
--   send "log", event, user_id
--   call "entries"  -> { {event, user_id, time}, ... }
local skynet = require "skynet"

local entries = {}

local function write_to_log(event, user_id, time)
    entries[#entries + 1] = { event = event, user_id = user_id, time = time }
    skynet.error(string.format("event %s user %s", tostring(event), tostring(user_id)))
end

skynet.start(function()
    skynet.dispatch("lua", function(session, _, cmd, ...)
        if cmd == "log" then
            local event, user_id = ...
            write_to_log(event, user_id, skynet.time())
            -- no skynet.ret(): a send has nobody waiting (session 0)
        elseif cmd == "entries" then
            skynet.ret(skynet.pack(entries))
        elseif session ~= 0 then
            error("unknown command " .. tostring(cmd))
        end
    end)
end)
