-- skynet.socket: sockets whose reads block the calling coroutine (spec §5.2), over skynet.socketdriver.
--
-- Every socket this service uses has an object in `sockets`. The network thread sends PTYPE_SOCKET
-- events; the handlers below fill the object's read buffer and wake the coroutine waiting on it.
-- A coroutine waits for at most one thing per socket at a time (read_required says what).
local skynet = require "skynet"
local driver = require "skynet.socketdriver"
local core = require "skynet.core"

local assert = assert
local type = type
local string_format = string.format

-- Unread bytes above this pause reading (unless a reader asked for more), so a fast peer cannot fill
-- the service's memory while nobody reads.
local BUFFER_LIMIT = 128 * 1024

local socket = {}

-- id -> socket object. Whatever is still open when the service's state closes gets closed.
local sockets = setmetatable({}, {
    __gc = function(p)
        for id in pairs(p) do
            driver.close(id)
            p[id] = nil
        end
    end,
})

local onclose_callbacks = {}
local handlers = {}

local function wakeup(s)
    local co = s.co
    if co then
        s.co = nil
        skynet.wakeup(co)
    end
end

local function pause_socket(s, size)
    if s.pause ~= nil then
        return
    end
    if size then
        skynet.error(string_format("Pause socket (%d) size : %d", s.id, size))
    else
        skynet.error(string_format("Pause socket (%d)", s.id))
    end
    driver.pause(s.id)
    s.pause = true
    -- More events of this socket may already be queued: let them in before going on.
    skynet.yield()
end

-- Waits until an event wakes the socket's reader. A paused socket is resumed first, since whoever
-- suspends here wants data.
local function suspend(s)
    assert(not s.co)
    s.co = coroutine.running()
    if s.pause then
        skynet.error(string_format("Resume socket (%d)", s.id))
        driver.start(s.id)
        skynet.wait(s.co)
        s.pause = nil
    else
        skynet.wait(s.co)
    end
    -- close() waits for the reader to finish with the buffer; tell it we did.
    if s.closing then
        skynet.wakeup(s.closing)
    end
end

-- DATA = 1
handlers[1] = function(id, size, data)
    local s = sockets[id]
    if s == nil or s.buffer == nil then
        skynet.error("socket: drop package from " .. id)
        driver.drop(data, size)
        return
    end
    local sz = driver.push(s.buffer, s.pool, data, size)
    -- The limit applies whatever the reader waits for: a huge read size must not let it grow unbounded.
    if s.buffer_limit and sz > s.buffer_limit then
        if not s.overflow then
            s.overflow = true
            skynet.error(string_format("socket buffer overflow: fd=%d size=%d", id, sz))
            driver.close(id)
        end
        return
    end
    local rr = s.read_required
    local rrt = type(rr)
    if rrt == "number" then
        if sz >= rr then
            s.read_required = nil
            if sz > BUFFER_LIMIT then
                pause_socket(s, sz)
            end
            wakeup(s)
        end
    elseif rrt == "string" then
        if driver.readline(s.buffer, nil, rr) then
            s.read_required = nil
            if sz > BUFFER_LIMIT then
                pause_socket(s, sz)
            end
            wakeup(s)
        end
    elseif rr ~= true and sz > BUFFER_LIMIT and not s.pause then
        -- (readall, rr == true, waits for the close: pausing would keep it waiting forever)
        pause_socket(s, sz)
    end
end

-- CONNECT = 2: connected, started, transferred, bound, or (for a listen socket) listening.
handlers[2] = function(id, ud, addr)
    local s = sockets[id]
    if s == nil then
        return
    end
    -- A resume also reports CONNECT; only the first one matters.
    if not s.connected then
        if s.listen then
            s.addr = addr
            s.port = ud
        end
        s.connected = true
        wakeup(s)
    end
end

local function closed(id)
    local cb = onclose_callbacks[id]
    if cb then
        onclose_callbacks[id] = nil
        cb(id)
    end
end

-- CLOSE = 3
handlers[3] = function(id)
    local s = sockets[id]
    if s then
        s.connected = false
        wakeup(s)
    else
        driver.close(id)
    end
    closed(id)
end

-- ACCEPT = 4
handlers[4] = function(id, newid, addr)
    local s = sockets[id]
    if s == nil then
        driver.close(newid)
        return
    end
    s.callback(newid, addr)
end

-- ERROR = 5
handlers[5] = function(id, _, err)
    local s = sockets[id]
    if s == nil then
        driver.shutdown(id)
        skynet.error("socket: error on unknown", id, err)
        return
    end
    if s.callback then
        skynet.error("socket: accept error:", err)
        return
    end
    local was_connected = s.connected
    if s.connected then
        skynet.error("socket: error on", id, err)
    elseif s.connecting then
        s.connecting = err
    end
    s.connected = false
    driver.shutdown(id)
    wakeup(s)
    -- The socket is gone as surely as after a CLOSE: onclose callbacks must hear of it.
    if was_connected then
        closed(id)
    end
end

-- UDP = 6
handlers[6] = function(id, size, data, address)
    local s = sockets[id]
    if s == nil or s.callback == nil then
        skynet.error("socket: drop udp package from " .. id)
        driver.drop(data, size)
        return
    end
    local str = skynet.tostring(data, size)
    core.trash(data, size)
    s.callback(str, address)
end

local function default_warning(id, size)
    if sockets[id] then
        skynet.error(string_format("WARNING: %d K bytes need to send out (fd = %d)", size, id))
    end
end

-- WARNING = 7
handlers[7] = function(id, size)
    local s = sockets[id]
    if s then
        local warning = s.on_warning or default_warning
        warning(id, size)
    end
end

skynet.register_protocol {
    name = "socket",
    id = skynet.PTYPE_SOCKET,
    unpack = driver.unpack,
    dispatch = function(_, _, t, ...)
        local h = handlers[t]
        if h then
            h(...)
        end
    end,
}

-- Registers the object for `id` and waits for its CONNECT (or ERROR). `accept_cb` marks a listen socket
-- being started: it has no read buffer.
local function wait_connected(id, accept_cb)
    local buffer
    if accept_cb == nil then
        buffer = driver.buffer()
    end
    local s = {
        id = id,
        buffer = buffer,
        pool = buffer and {},
        connected = false,
        connecting = true,
        read_required = false,
        co = false,
        callback = accept_cb,
        protocol = "TCP",
    }
    assert(not onclose_callbacks[id], "socket has onclose callback")
    local old = sockets[id]
    if old and not old.listen then
        error("socket is not closed")
    end
    sockets[id] = s
    suspend(s)
    local err = s.connecting
    s.connecting = nil
    if s.connected then
        return id
    end
    sockets[id] = nil
    return nil, err
end

-- open("host:port") / open("[v6]:port") / open(host, port) -> id, or nil and the reason.
-- Extension: open("unix:/path") connects to a Unix domain socket.
function socket.open(addr, port)
    local id = driver.connect(addr, port)
    return wait_connected(id)
end

-- Wraps an OS descriptor (a pipe, a tty, a socket made elsewhere).
function socket.bind(os_fd)
    local id = driver.bind(os_fd)
    return wait_connected(id)
end

function socket.stdin()
    return socket.bind(0)
end

-- Starts reading an accepted (or handed over) socket and makes this service its owner; for a listen
-- socket, accept_cb(newid, "ip:port") runs for each connection.
function socket.start(id, accept_cb)
    driver.start(id)
    return wait_connected(id, accept_cb)
end

function socket.pause(id)
    local s = sockets[id]
    if s == nil then
        return
    end
    pause_socket(s)
end

-- Closes at once, dropping unsent data. CLOSE still arrives; call close(id) afterwards.
function socket.shutdown(id)
    local s = sockets[id]
    if s then
        driver.shutdown(id)
    end
end

-- Closes an id this service never opened with this module (an accepted id it will not start...).
function socket.close_fd(id)
    assert(sockets[id] == nil, "Use socket.close instead")
    driver.close(id)
end

-- Closes the socket; unsent data still goes out. Returns once the socket is closed for this service;
-- a coroutine blocked reading it gets what was left.
function socket.close(id)
    local s = sockets[id]
    if s == nil then
        return
    end
    local live = driver.close(id)
    if s.connected and live then
        s.pause = false -- never resume it
        if s.co then
            -- Another coroutine reads it: let that one take the rest of the buffer first.
            assert(not s.closing)
            s.closing = coroutine.running()
            skynet.wait(s.closing)
        else
            suspend(s)
        end
    end
    s.connected = false
    sockets[id] = nil
end

-- read(id): whatever is available (waits if nothing is); read(id, n): exactly n bytes.
-- On close: false and what was left.
function socket.read(id, sz)
    local s = sockets[id]
    assert(s)
    if sz == nil then
        local ret = driver.readall(s.buffer, s.pool)
        if ret ~= "" then
            return ret
        end
        if not s.connected then
            return false, ret
        end
        assert(not s.read_required)
        s.read_required = 0
        suspend(s)
        ret = driver.readall(s.buffer, s.pool)
        if ret ~= "" then
            return ret
        end
        return false, ret
    end

    local ret = driver.pop(s.buffer, s.pool, sz)
    if ret then
        return ret
    end
    if s.closing or not s.connected then
        return false, driver.readall(s.buffer, s.pool)
    end
    assert(not s.read_required)
    s.read_required = sz
    suspend(s)
    ret = driver.pop(s.buffer, s.pool, sz)
    if ret then
        return ret
    end
    return false, driver.readall(s.buffer, s.pool)
end

-- Everything until the peer closes.
function socket.readall(id)
    local s = sockets[id]
    assert(s)
    if not s.connected then
        local r = driver.readall(s.buffer, s.pool)
        return r ~= "" and r
    end
    assert(not s.read_required)
    s.read_required = true
    suspend(s)
    assert(s.connected == false)
    return driver.readall(s.buffer, s.pool)
end

-- One line without its separator (default "\n"); on close: false and what was left.
function socket.readline(id, sep)
    sep = sep or "\n"
    local s = sockets[id]
    assert(s)
    local ret = driver.readline(s.buffer, s.pool, sep)
    if ret then
        return ret
    end
    if not s.connected then
        return false, driver.readall(s.buffer, s.pool)
    end
    assert(not s.read_required)
    s.read_required = sep
    suspend(s)
    if s.connected then
        return driver.readline(s.buffer, s.pool, sep)
    end
    return false, driver.readall(s.buffer, s.pool)
end

-- Waits for data or the close; true while the socket is connected.
function socket.block(id)
    local s = sockets[id]
    if not s or not s.connected then
        return false
    end
    assert(not s.read_required)
    s.read_required = 0
    suspend(s)
    return s.connected
end

socket.write = assert(driver.send)
socket.lwrite = assert(driver.lsend)
socket.header = assert(driver.header)

function socket.invalid(id)
    return sockets[id] == nil
end

function socket.disconnected(id)
    local s = sockets[id]
    if s then
        return not (s.connected or s.connecting)
    end
end

-- listen(host, port [, backlog]) or listen("host:port") -> id, address, port (the port really bound,
-- useful with port 0). Accepting starts with socket.start(id, accept_cb).
-- Extension: listen("unix:/path" [, nil, backlog]) listens on a Unix domain socket and returns
-- id, "unix:/path", 0; accept_cb then gets "unix:/path" as the address (the clients have none).
function socket.listen(host, port, backlog)
    if port == nil and string.sub(host, 1, 5) == "unix:" then
        -- the driver takes the path as it is; a ':' in it is not a port separator
    elseif port == nil then
        local h, p = string.match(host, "^%[(.*)%]:(%d+)$")
        if not h then
            h, p = string.match(host, "^(.*):(%d+)$")
        end
        host, port = h, tonumber(p)
        assert(host and port, "Invalid listen address")
    end
    local id = driver.listen(host, port, backlog)
    local s = {
        id = id,
        connected = false,
        listen = true,
    }
    assert(sockets[id] == nil)
    sockets[id] = s
    suspend(s)
    return id, s.addr, s.port
end

-- Forgets the socket here without closing it, so that another service can socket.start it.
function socket.abandon(id)
    local s = sockets[id]
    if s then
        s.connected = false
        wakeup(s)
        onclose_callbacks[id] = nil
        sockets[id] = nil
    end
end

-- Closes the socket when more than `limit` bytes wait unread; nil removes the limit (as on skynet).
-- A bad argument is refused here, by name: a negative or fractional limit would otherwise only show up
-- later as a connection closed on its first byte.
function socket.limit(id, limit)
    local s = sockets[id]
    if s == nil then
        error(string_format("socket.limit: unknown socket id %s", tostring(id)), 2)
    end
    if limit ~= nil then
        -- a whole float such as 1e6 is a byte count too
        local n = type(limit) == "number" and math.tointeger(limit) or nil
        if n == nil or n <= 0 then
            error(string_format("socket.limit: limit must be a positive integer, got %s", tostring(limit)), 2)
        end
        limit = n
    end
    s.buffer_limit = limit
end

---------------------------------------------------------------------------- UDP

local function new_udp(id, cb)
    assert(not sockets[id], "socket is not closed")
    sockets[id] = {
        id = id,
        connected = true,
        protocol = "UDP",
        callback = cb,
    }
end

-- A UDP socket, bound to host:port when given; callback(data, from) for each datagram.
function socket.udp(callback, host, port)
    local id = driver.udp(host, port)
    new_udp(id, callback)
    return id
end

-- Sets the default peer used by socket.write on a UDP socket.
function socket.udp_connect(id, addr, port, callback)
    local s = sockets[id]
    if s then
        assert(s.protocol == "UDP")
        if callback then
            s.callback = callback
        end
    else
        new_udp(id, callback)
    end
    driver.udp_connect(id, addr, port)
end

function socket.udp_listen(addr, port, callback)
    local id = driver.udp_listen(addr, port)
    new_udp(id, callback)
    return id
end

function socket.udp_dial(addr, port, callback)
    local id = driver.udp_dial(addr, port)
    new_udp(id, callback)
    return id
end

socket.sendto = assert(driver.udp_send)
socket.udp_address = assert(driver.udp_address)
socket.netstat = assert(driver.info)
socket.resolve = assert(driver.resolve)

-- callback(id, kb) when unsent data passes 1 MB, at each doubling, and with 0 when it is all sent.
function socket.warning(id, callback)
    local s = assert(sockets[id])
    s.on_warning = callback
end

-- callback(id) once, when the socket closes.
function socket.onclose(id, callback)
    onclose_callbacks[id] = callback
end

return socket
