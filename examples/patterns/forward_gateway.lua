-- Pattern 3.2, forwarding with skynet.redirect: the gateway passes a request on to another service
-- without unpacking it. The target sees the original sender as the source and the original session,
-- so its skynet.ret goes straight back to the caller; the gateway never answers.
--
--   local msg, sz = skynet.pack("get_user", 1)          -- the request for the target, packed once
--   local ok, user = skynet.call(gateway, "lua", "forward", target, msg, sz)
--
-- The packed request travels as a pointer (msg) and a size (sz); skynet.redirect hands that buffer
-- to the target, which frees it. If the target is gone, the caller gets an error instead of waiting
-- forever.
--   call "forwarded"  -> how many requests were forwarded
local skynet = require "skynet"

local forwarded = 0

skynet.start(function()
    skynet.dispatch("lua", function(session, source, cmd, ...)
        if cmd == "forward" then
            local target_service, msg, sz = ...
            -- Forward without unpacking/repacking
            if skynet.redirect(target_service, source, "lua", session, msg, sz) then
                forwarded = forwarded + 1
                -- the target answers the caller: nothing to answer here, and no "forgot response"
                skynet.ignoreret()
            else
                skynet.response()(false)    -- no such target: the caller's call fails
            end
        elseif cmd == "forwarded" then
            skynet.ret(skynet.pack(forwarded))
        else
            error("unknown command " .. tostring(cmd))
        end
    end)
end)
