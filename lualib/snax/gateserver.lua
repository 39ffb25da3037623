-- snax.gateserver: the skeleton of a gate (spec §5.3). It listens, frames each connection's bytes with
-- skynet.netpack (2-byte big-endian length, so no packet exceeds 64 KiB) and calls the handler:
--
--   handler.connect(fd, addr)          required: a client connected (reading starts with openclient)
--   handler.message(fd, msg, sz)       required: a whole packet (msg is a malloc'ed pointer, now yours)
--   handler.open(source, conf)         optional: after CMD.open listened; its results are CMD.open's
--   handler.disconnect(fd)             handler.error(fd, msg)        handler.warning(fd, kb)
--   handler.command(cmd, source, ...)  other "lua" requests          handler.embed: no skynet.start
--
-- Lua commands: open(conf{ address = "0.0.0.0", port, maxclient = 1024, nodelay, backlog }) and close().
local skynet = require "skynet"
local netpack = require "skynet.netpack"
local socketdriver = require "skynet.socketdriver"

local gateserver = {}

local listen_fd -- the listen socket
local queue -- netpack's queue (created by the first filter)
local maxclient
local client_number = 0
local nodelay = false

-- Frees whatever netpack still holds when the service's state closes.
local CMD = setmetatable({}, { __gc = function() netpack.clear(queue) end })

-- fd -> true (connected), false (the peer closed its side); nil once closed here.
local connection = {}
-- fd -> true while the fd counts against maxclient: until its CLOSE or ERROR, even after a kick.
local counted = {}

local function uncount(fd)
    if counted[fd] then
        counted[fd] = nil
        client_number = client_number - 1
        return true
    end
    return false
end

function gateserver.openclient(fd)
    if connection[fd] then
        socketdriver.start(fd)
    end
end

function gateserver.closeclient(fd)
    if connection[fd] ~= nil then
        connection[fd] = nil
        socketdriver.close(fd)
    end
end

function gateserver.start(handler)
    assert(handler.message)
    assert(handler.connect)

    -- Set while CMD.open waits for the listen socket to be up.
    local listen_context

    function CMD.open(source, conf)
        assert(not listen_fd, "gate already listening")
        local address = conf.address or "0.0.0.0"
        local port = assert(conf.port, "gate: conf.port missing")
        maxclient = conf.maxclient or 1024
        nodelay = conf.nodelay
        skynet.error(string.format("Listen on %s:%d", address, port))
        listen_fd = socketdriver.listen(address, port, conf.backlog)
        listen_context = { co = coroutine.running(), fd = listen_fd }
        skynet.wait(listen_context.co)
        -- the address and port really bound (port 0 picks a free one)
        conf.address = listen_context.addr
        conf.port = listen_context.port
        listen_context = nil
        socketdriver.start(listen_fd)
        if handler.open then
            return handler.open(source, conf)
        end
    end

    function CMD.close()
        assert(listen_fd, "gate not listening")
        socketdriver.close(listen_fd)
    end

    local MSG = {}

    local function dispatch_msg(fd, msg, sz)
        if connection[fd] then
            handler.message(fd, msg, sz)
        else
            skynet.error(string.format("Drop message from fd (%d) : %s", fd, netpack.tostring(msg, sz)))
        end
    end

    MSG.data = dispatch_msg

    local function dispatch_queue()
        local fd, msg, sz = netpack.pop(queue)
        if fd then
            -- If handler.message blocks, the next packets still get dispatched by the forked copy.
            skynet.fork(dispatch_queue)
            dispatch_msg(fd, msg, sz)
            for fd2, msg2, sz2 in netpack.pop, queue do
                dispatch_msg(fd2, msg2, sz2)
            end
        end
    end

    MSG.more = dispatch_queue

    function MSG.open(fd, addr)
        if client_number >= maxclient then
            socketdriver.shutdown(fd)
            return
        end
        if nodelay then
            socketdriver.nodelay(fd)
        end
        connection[fd] = true
        counted[fd] = true
        client_number = client_number + 1
        handler.connect(fd, addr)
    end

    function MSG.close(fd)
        if fd ~= listen_fd then
            -- (a connection refused by maxclient was never announced: nothing to report)
            if uncount(fd) then
                if connection[fd] then
                    connection[fd] = false -- the peer closed; closeclient still closes our side
                end
                if handler.disconnect then
                    handler.disconnect(fd)
                end
            end
        else
            listen_fd = nil
        end
    end

    function MSG.error(fd, msg)
        if fd == listen_fd then
            skynet.error("gateserver accept error:", msg)
        else
            uncount(fd)
            if connection[fd] then
                connection[fd] = false
            end
            socketdriver.shutdown(fd)
            if handler.error then
                handler.error(fd, msg)
            end
        end
    end

    function MSG.warning(fd, size)
        if handler.warning then
            handler.warning(fd, size)
        end
    end

    function MSG.init(id, addr, port)
        local ctx = listen_context
        if ctx and ctx.co and id == ctx.fd then
            ctx.addr = addr
            ctx.port = port
            local co = ctx.co
            ctx.co = nil
            skynet.wakeup(co)
        end
    end

    skynet.register_protocol {
        name = "socket",
        id = skynet.PTYPE_SOCKET,
        unpack = function(msg, sz)
            return netpack.filter(queue, msg, sz)
        end,
        dispatch = function(_, _, q, type, ...)
            queue = q
            if type then
                MSG[type](...)
            end
        end,
    }

    local function init()
        skynet.dispatch("lua", function(_, address, cmd, ...)
            local f = CMD[cmd]
            if f then
                skynet.ret(skynet.pack(f(address, ...)))
            else
                skynet.ret(skynet.pack(handler.command(cmd, address, ...)))
            end
        end)
    end

    if handler.embed then
        init()
    else
        skynet.start(init)
    end
end

return gateserver
