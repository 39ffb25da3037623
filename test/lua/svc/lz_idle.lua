-- A service that does nothing but answer questions about its own Lua state (test/lua/lazy_api.lua):
--   loaded()      -> the names in package.loaded that start with "skynet."
--   heap()        -> its Lua heap in KB after a full collection
--   touch(name)   -> type(skynet[name]) (reading the name loads its lazy part)
local skynet = require "skynet"
local loaded_skynet_modules = require "loaded_skynet_modules"

skynet.start(function()
    skynet.dispatch("lua", function(_, _, command, arg)
        if command == "loaded" then
            skynet.retpack(loaded_skynet_modules())
        elseif command == "heap" then
            collectgarbage "collect"
            skynet.retpack(collectgarbage "count")
        elseif command == "touch" then
            skynet.retpack(type(skynet[arg]))
        else
            error("unknown command " .. tostring(command))
        end
    end)
end)
