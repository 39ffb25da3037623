-- socket.stdin(): prints "STDIN <line>" for each line of the process's standard input, then
-- "STDIN CLOSED".
local skynet = require "skynet"
local socket = require "skynet.socket"

skynet.start(function()
    skynet.fork(function()
        local id = assert(socket.stdin(), "socket.stdin")
        while true do
            local line = socket.readline(id)
            if not line then
                break
            end
            print("STDIN " .. line)
            io.stdout:flush()
        end
        print("STDIN CLOSED")
        io.stdout:flush()
        socket.close(id)
    end)
end)
