-- gate: a gateserver that reports connections to a watchdog and forwards packets to agents (spec §5.3).
--
-- The watchdog (conf.watchdog, or whoever sent "open") gets skynet.send(watchdog, "lua", "socket", ...):
--   "open", fd, addr    "close", fd    "error", fd, msg    "warning", fd, kb
--   "data", fd, packet  (only while the connection is not forwarded to an agent)
-- Commands: open(conf) -> address, port (really bound); close(); forward(fd [, client [, agent]]);
-- accept(fd) (read, but report packets to the watchdog); kick(fd).
-- A forwarded packet reaches the agent as PTYPE_CLIENT with session = fd, source = client.
local skynet = require "skynet"
local gateserver = require "snax.gateserver"
local netpack = require "skynet.netpack"

local watchdog
local connection = {} -- fd -> { fd, client, agent, ip }
local forwarding = {} -- agent -> connection

skynet.register_protocol {
    name = "client",
    id = skynet.PTYPE_CLIENT,
}

local handler = {}

function handler.open(source, conf)
    watchdog = conf.watchdog or source
    return conf.address, conf.port
end

function handler.message(fd, msg, sz)
    local c = connection[fd]
    local agent = c and c.agent
    if agent then
        -- the packet's buffer goes to the agent as it is
        skynet.redirect(agent, c.client, "client", fd, msg, sz)
    else
        skynet.send(watchdog, "lua", "socket", "data", fd, netpack.tostring(msg, sz))
    end
end

function handler.connect(fd, addr)
    connection[fd] = { fd = fd, ip = addr }
    skynet.send(watchdog, "lua", "socket", "open", fd, addr)
end

local function unforward(c)
    if c.agent then
        forwarding[c.agent] = nil
        c.agent = nil
        c.client = nil
    end
end

local function close_fd(fd)
    local c = connection[fd]
    if c then
        unforward(c)
        connection[fd] = nil
    end
end

function handler.disconnect(fd)
    close_fd(fd)
    skynet.send(watchdog, "lua", "socket", "close", fd)
end

function handler.error(fd, msg)
    close_fd(fd)
    skynet.send(watchdog, "lua", "socket", "error", fd, msg)
end

function handler.warning(fd, size)
    skynet.send(watchdog, "lua", "socket", "warning", fd, size)
end

local CMD = {}

function CMD.forward(source, fd, client, address)
    local c = assert(connection[fd], "forward: unknown fd")
    unforward(c)
    c.client = client or 0
    c.agent = address or source
    forwarding[c.agent] = c
    gateserver.openclient(fd)
end

function CMD.accept(_, fd)
    local c = assert(connection[fd], "accept: unknown fd")
    unforward(c)
    gateserver.openclient(fd)
end

function CMD.kick(_, fd)
    gateserver.closeclient(fd)
end

function handler.command(cmd, source, ...)
    local f = assert(CMD[cmd], "gate: unknown command " .. tostring(cmd))
    return f(source, ...)
end

gateserver.start(handler)
