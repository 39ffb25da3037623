-- A service with its own skynet.lua next to it (test/lua/prepared_state.lua): the loader puts this
-- directory first in package.path, so require "skynet" must load that file.
local skynet = require "skynet"

skynet.start(function()
    skynet.dispatch("lua", function()
        skynet.retpack(skynet.own_copy == true)
    end)
end)
