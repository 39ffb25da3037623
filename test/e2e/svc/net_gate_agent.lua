-- Agent of the gate end-to-end test: gets the frames of forwarded clients as PTYPE_CLIENT messages
-- (session = the client's fd) and answers "agent:<frame>:<fd>".
local skynet = require "skynet"
local netpack = require "skynet.netpack"
local socket = require "skynet.socket"

skynet.register_protocol {
    name = "client",
    id = skynet.PTYPE_CLIENT,
    unpack = skynet.tostring,
    dispatch = function(fd, _, msg)
        -- the session is the fd, not a request to answer
        skynet.ignoreret()
        socket.write(fd, netpack.pack("agent:" .. msg .. ":" .. fd))
    end,
}

skynet.start(function() end)
