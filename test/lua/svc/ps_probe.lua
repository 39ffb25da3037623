-- A service that answers questions about itself (test/lua/prepared_state.lua).
--   self()          -> skynet.self() as this service sees it
--   mark(v)         -> sets a field on its skynet table and a global; returns what was there before
--   env(key)        -> skynet.getenv(key)
--   same_module()   -> whether require "skynet" and package.loaded.skynet are the table it got first
--   loaded()        -> the names in package.loaded that start with "skynet."
local skynet = require "skynet"
local loaded_skynet_modules = require "loaded_skynet_modules"

skynet.start(function()
    skynet.dispatch("lua", function(_, _, command, arg)
        if command == "self" then
            skynet.retpack(skynet.self())
        elseif command == "mark" then
            local before = { skynet.ps_mark, PS_MARK }
            skynet.ps_mark, PS_MARK = arg, arg
            skynet.retpack(before[1], before[2])
        elseif command == "env" then
            skynet.retpack(skynet.getenv(arg))
        elseif command == "same_module" then
            skynet.retpack(require "skynet" == skynet and package.loaded.skynet == skynet)
        elseif command == "loaded" then
            skynet.retpack(loaded_skynet_modules())
        else
            error("unknown command " .. tostring(command))
        end
    end)
end)
