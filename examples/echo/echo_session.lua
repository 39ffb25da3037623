-- One client of the echo server: echoes every line back, logs the connection, each packet and the
-- close, then exits.
local skynet = require "skynet"
local socket = require "skynet.socket"

local fd, addr = ...
fd = math.tointeger(tonumber(fd))

local function serve()
    while true do
        local line, rest = socket.readline(fd)
        if not line then
            -- The client closed. A last line without its newline is still echoed (the write side stays
            -- open until we close it, so `nc -N` gets it back).
            if rest and rest ~= "" then
                skynet.error("Got packet " .. rest)
                socket.write(fd, rest)
            end
            break
        end
        skynet.error("Got packet " .. line:gsub("\r$", ""))
        socket.write(fd, line .. "\n")
    end
    skynet.error("Error receiving a packet: closed")
    socket.close(fd)
    skynet.exit()
end

skynet.start(function()
    socket.start(fd)
    skynet.error("Got connection from a client: " .. tostring(addr))
    -- The loop runs in its own coroutine so that the start function returns (newservice waits for it).
    skynet.fork(serve)
end)
