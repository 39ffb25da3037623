-- A service that empties package.path before it uses any lazy part (test/lua/lazy_api.lua):
--   time()   -> type(skynet.time()) (lazy/node.lua)
--   fail()   raises: the caller must get an error (lazy/errors.lua)
--   exit()   -> "exiting", then skynet.exit() (lazy/exit.lua)
local skynet = require "skynet"

skynet.start(function()
    package.path = "/nowhere/?.lua"
    skynet.dispatch("lua", function(_, _, command)
        if command == "time" then
            skynet.retpack(type(skynet.time()))
        elseif command == "fail" then
            error("failing on purpose")
        elseif command == "exit" then
            skynet.retpack("exiting")
            skynet.exit()
        end
    end)
end)
