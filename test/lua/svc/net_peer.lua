-- A socket peer for the socket tests: does socket operations on request, in its own service.
--   open(host, port)           -> id or nil, err      (a paused open: open_paused)
--   write(id, data) -> bool    readline(id) / read(id [, n]) / readall(id) -> as skynet.socket
--   close(id)   pause(id)   abandon(id)   start(id) -> id or nil, err
--   serve(id, prefix)          takes the socket over and echoes each line back with prefix, closing
--                              when the peer closes; returns once it is started
--   listen(host) -> id, port   accepts one connection at a time with serve(.., "peer:")
--   exit()                     skynet.exit() (its sockets must close with it)
local skynet = require "skynet"
local socket = require "skynet.socket"

local cmd = {}

function cmd.open(host, port)
    return socket.open(host, port)
end

function cmd.open_paused(host, port)
    local id, err = socket.open(host, port)
    if id then
        socket.pause(id)
    end
    return id, err
end

function cmd.write(id, data)
    return socket.write(id, data)
end

function cmd.readline(id)
    return socket.readline(id)
end

function cmd.read(id, n)
    return socket.read(id, n)
end

function cmd.readall(id)
    return socket.readall(id)
end

function cmd.close(id)
    socket.close(id)
    return true
end

function cmd.pause(id)
    socket.pause(id)
    return true
end

function cmd.abandon(id)
    socket.abandon(id)
    return true
end

function cmd.start(id)
    return socket.start(id)
end

local function echo_lines(id, prefix)
    while true do
        local line = socket.readline(id)
        if not line then
            break
        end
        socket.write(id, prefix .. line .. "\n")
    end
    socket.close(id)
end

function cmd.serve(id, prefix)
    local ok, err = socket.start(id)
    if not ok then
        return nil, err
    end
    skynet.fork(echo_lines, id, prefix or "")
    return id
end

function cmd.listen(host)
    local id, _, port = socket.listen(host, 0)
    socket.start(id, function(fd)
        socket.start(fd)
        skynet.fork(echo_lines, fd, "peer:")
    end)
    return id, port
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
