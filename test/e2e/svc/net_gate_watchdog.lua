-- Watchdog of the gate end-to-end test. Opens service/gate on a free port of 127.0.0.1 (printed as
-- "GATE_PORT <port>") and answers the frames of accepted clients itself:
--   "echo:<x>" -> "echo:<x>"      "big" -> a 65535-byte frame      "kick" -> the gate kicks the client
--   "agent"    -> forwards the connection to net_gate_agent, which answers what comes next
local skynet = require "skynet"
local netpack = require "skynet.netpack"
local socket = require "skynet.socket"

local gate, agent
local SOCKET = {}

local function reply(fd, text)
    -- the gate's sockets accept writes from any service (that is how agents answer)
    socket.write(fd, netpack.pack(text))
end

function SOCKET.open(fd, addr)
    print("WATCHDOG open " .. fd .. " " .. addr)
    skynet.call(gate, "lua", "accept", fd)
end

function SOCKET.close(fd)
    print("WATCHDOG close " .. fd)
end

function SOCKET.error(fd, msg)
    print("WATCHDOG error " .. fd .. " " .. tostring(msg))
end

function SOCKET.warning(fd, size)
    print("WATCHDOG warning " .. fd .. " " .. size)
end

function SOCKET.data(fd, msg)
    if msg:sub(1, 5) == "echo:" then
        reply(fd, msg)
    elseif msg == "big" then
        reply(fd, string.rep("B", 65535))
    elseif msg == "kick" then
        skynet.call(gate, "lua", "kick", fd)
    elseif msg == "agent" then
        skynet.call(gate, "lua", "forward", fd, 0, agent)
        reply(fd, "forwarded")
    else
        reply(fd, "unknown:" .. msg)
    end
end

skynet.start(function()
    skynet.dispatch("lua", function(_, _, cmd, sub, ...)
        if cmd == "socket" then
            SOCKET[sub](...)
        end
        -- the gate sends, it never calls: no reply
    end)
    agent = skynet.newservice("net_gate_agent")
    gate = skynet.newservice("gate")
    local addr, port = skynet.call(gate, "lua", "open", {
        address = "127.0.0.1",
        port = 0,
        maxclient = tonumber(skynet.getenv("gate_maxclient")) or 64,
        nodelay = true,
    })
    print("GATE_PORT " .. tostring(port) .. " " .. tostring(addr))
    io.stdout:flush()
end)
