-- A Unix socket listener in its own service, for test/lua/socket_unix.lua:
--   listen(path) -> id, address, port   accepts connections and echoes each line back with "unix:"
--   exit()                              skynet.exit(): its listener must close and its file go
local skynet = require "skynet"
local socket = require "skynet.socket"

local cmd = {}

local function echo_lines(id)
    while true do
        local line = socket.readline(id)
        if not line then
            break
        end
        socket.write(id, "unix:" .. line .. "\n")
    end
    socket.close(id)
end

function cmd.listen(path)
    local id, addr, port = socket.listen(path)
    socket.start(id, function(fd)
        socket.start(fd)
        skynet.fork(echo_lines, fd)
    end)
    return id, addr, port
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
