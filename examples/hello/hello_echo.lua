local skynet = require "skynet"

skynet.start(function()
    skynet.dispatch("lua", function(_, _, cmd, ...)
        skynet.retpack(cmd .. " " .. table.concat({ ... }, " "))
    end)
end)
