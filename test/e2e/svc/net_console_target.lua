-- A service the debug console test calls: "echo" returns its arguments, "add" their sum.
local skynet = require "skynet"

local cmd = {}

function cmd.echo(...)
    return ...
end

function cmd.add(a, b)
    return a + b
end

skynet.start(function()
    skynet.dispatch("lua", function(_, _, c, ...)
        skynet.retpack(assert(cmd[c], c)(...))
    end)
end)
