-- A line-protocol server for the socketchannel tests. Per connection:
--   "AUTH <pw>"             -> "+OK" for "secret", else "-ERR" and the connection closes
--   "PING" -> "+PONG"       "ECHO <x>" -> "+<x>"        "QUIT" -> closes the connection, no answer
--   "S <session> <cs> <x>"  -> "<session> <x>" after <cs> centiseconds (answers come out of order)
-- Lua commands: port() -> the listen port; stats() -> connections accepted, AUTH lines seen;
-- kick() closes every open connection.
local skynet = require "skynet"
local socket = require "skynet.socket"

local port
local accepted, auths = 0, 0
local open = {}

local function serve(fd)
    socket.start(fd)
    open[fd] = true
    while true do
        local line = socket.readline(fd)
        if not line then
            break
        end
        local cmd, rest = line:match("^(%S+)%s?(.*)$")
        if cmd == "AUTH" then
            auths = auths + 1
            if rest == "secret" then
                socket.write(fd, "+OK\n")
            else
                socket.write(fd, "-ERR\n")
                break
            end
        elseif cmd == "PING" then
            socket.write(fd, "+PONG\n")
        elseif cmd == "ECHO" then
            socket.write(fd, "+" .. rest .. "\n")
        elseif cmd == "QUIT" then
            break
        elseif cmd == "S" then
            local session, delay, payload = rest:match("^(%d+) (%d+) (.*)$")
            skynet.fork(function()
                skynet.sleep(tonumber(delay))
                socket.write(fd, session .. " " .. payload .. "\n")
            end)
        else
            socket.write(fd, "-ERR unknown\n")
        end
    end
    open[fd] = nil
    socket.close(fd)
end

local cmd = {}

function cmd.port()
    return port
end

function cmd.stats()
    return accepted, auths
end

function cmd.kick()
    for fd in pairs(open) do
        open[fd] = nil
        socket.close(fd)
    end
    return true
end

skynet.start(function()
    local id
    id, _, port = socket.listen("127.0.0.1", 0)
    socket.start(id, function(fd)
        accepted = accepted + 1
        skynet.fork(serve, fd)
    end)
    skynet.dispatch("lua", function(_, _, c, ...)
        skynet.retpack(assert(cmd[c], c)(...))
    end)
end)
