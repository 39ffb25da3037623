-- A service that answers questions about itself (test/lua/prepared_state.lua).
--   self()          -> skynet.self() as this service sees it
--   mark(v)         -> sets a field on its skynet table and a global; returns what was there before
--   env(key)        -> skynet.getenv(key)
--   same_module()   -> whether require "skynet" and package.loaded.skynet are the table it got first
--   loaded()        -> the names in package.loaded that start with "skynet."
local skynet = require "skynet"

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
            local names = {}
            for name in pairs(package.loaded) do
                if name:sub(1, 7) == "skynet." then
                    names[#names + 1] = name
                end
            end
            table.sort(names)
            skynet.retpack(names)
        else
            error("unknown command " .. tostring(command))
        end
    end)
end)
