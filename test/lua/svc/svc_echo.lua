-- A general helper for the Lua integration tests: answers a few lua commands.
--   echo(...)            -> ...
--   args()               -> the launch arguments
--   register(name)       registers this service under `name` (local ".x" or global)
--   sleep(cs)            -> "slept" after cs centiseconds
--   dc_set(...)          datacenter.set(...)
--   exit()               skynet.exit() (no reply)
local skynet = require "skynet"

local args = table.pack(...)
local cmd = {}

function cmd.echo(...)
    return ...
end

function cmd.args()
    return table.unpack(args, 1, args.n)
end

function cmd.register(name)
    skynet.register(name)
    return true
end

function cmd.sleep(cs)
    skynet.sleep(cs)
    return "slept"
end

function cmd.dc_set(...)
    return require("skynet.datacenter").set(...)
end

function cmd.exit()
    skynet.exit()
end

skynet.start(function()
    skynet.dispatch("lua", function(_, _, command, ...)
        local f = assert(cmd[command], command)
        skynet.retpack(f(...))
    end)
end)
