-- A plain unique service for the queryservice test.
local skynet = require "skynet"
skynet.start(function()
    skynet.dispatch("lua", function()
        skynet.retpack(skynet.self())
    end)
end)
