-- The service sw_worker talks to in test/lua/session_wrap.lua: it answers each request with the session
-- the request came with (the worker's own session, so the worker can check what it was given), or keeps
-- the request pending until told to release it.
--   echo(...)    -> session, ...
--   hold(tag)    answered only by release: "held", tag, session
--   release()    answers every held request, oldest first, then -> how many it answered
local skynet = require "skynet"

local held = {}

skynet.start(function()
    skynet.dispatch("lua", function(session, _, cmd, ...)
        if cmd == "echo" then
            skynet.retpack(session, ...)
        elseif cmd == "hold" then
            held[#held + 1] = { respond = skynet.response(), tag = ..., session = session }
        elseif cmd == "release" then
            local list = held
            held = {}
            -- these answers leave before release's own, so the caller has them when release returns
            for _, h in ipairs(list) do
                h.respond(true, "held", h.tag, h.session)
            end
            skynet.retpack(#list)
        else
            error("sw_peer: unknown command " .. tostring(cmd))
        end
    end)
end)
