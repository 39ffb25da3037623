-- A length-prefixed protocol server for the robustness tests: 4-byte big-endian length, then the
-- payload, echoed back. It trusts the length (as naive code does) and relies on socket.limit to stay
-- bounded: a length of ff ff ff ff must close the connection, not allocate 4 GB.
-- Prints "FRAME_PORT <port>".
local skynet = require "skynet"
local socket = require "skynet.socket"

local LIMIT = 64 * 1024

local function serve(fd)
    socket.start(fd)
    socket.limit(fd, LIMIT)
    while true do
        local head = socket.read(fd, 4)
        if not head then
            break
        end
        local n = socket.header(head)
        local body = socket.read(fd, n)
        if not body then
            skynet.error(string.format("frame reader: connection %d closed waiting for %d bytes", fd, n))
            break
        end
        socket.write(fd, head .. body)
    end
    socket.close(fd)
end

skynet.start(function()
    local id, _, port = socket.listen("127.0.0.1", 0)
    socket.start(id, function(fd)
        skynet.fork(serve, fd)
    end)
    print("FRAME_PORT " .. port)
    io.stdout:flush()
end)
