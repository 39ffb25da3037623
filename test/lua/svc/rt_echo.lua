local skynet = require "skynet"

skynet.start(function()
    skynet.dispatch("lua", function(_, _, ...)
        skynet.retpack(...)
    end)
end)
