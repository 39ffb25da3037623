-- Pattern 2.1, request/response: the service side. Registered as the global name USER_SERVICE; every
-- answer is `true, data` or `false, reason`, as the tutorial's client expects.
--   call "get_user", id  -> true, {id, name, level} | false, "User not found"
--   call "whoami"        -> the address the request came from (used by the redirect pattern to show
--                           that a forwarded request keeps its original sender)
local skynet = require "skynet"

local database = {
    users = {
        [1] = { id = 1, name = "alice", level = 12 },
        [2] = { id = 2, name = "bob", level = 3 },
        [3] = { id = 3, name = "carol", level = 40 },
    },
}

function database.get_user(user_id)
    return database.users[user_id]
end

skynet.start(function()
    skynet.dispatch("lua", function(_, source, cmd, ...)
        if cmd == "get_user" then
            local user_id = ...
            local user_data = database.get_user(user_id)
            if user_data then
                skynet.ret(skynet.pack(true, user_data))
            else
                skynet.ret(skynet.pack(false, "User not found"))
            end
        elseif cmd == "whoami" then
            skynet.ret(skynet.pack(source))
        else
            error("unknown command " .. tostring(cmd))
        end
    end)
    skynet.register("USER_SERVICE")
end)
