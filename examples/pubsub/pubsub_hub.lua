-- pubsub_hub: named channels. Whoever publishes to a channel reaches every subscriber of that channel:
-- Lua services (through the `pubsub` module) and outside processes connected on a Unix socket path or
-- TCP, speaking the framed protocol of examples/pubsub/README.md.
--
-- One service holds all the state, so a message is delivered to the subscribers in the order it was
-- published, and subscriptions take effect in the order they were asked for. Every connection has a
-- coroutine reading its frames; a connection that breaks the protocol gets one ERROR frame and is closed,
-- and nothing else changes.
--
-- Lua commands ("lua" protocol):
--   open({ socket = path, tcp_host = "127.0.0.1", tcp_port = n, max_frame = n, max_clients = n,
--          max_pending = bytes, hello_timeout = cs })  -> { unix = "unix:/path", tcp = "ip:port" }
--   subscribe(channel, type)   unsubscribe(channel)    -> true, or false, code, reason
--   publish(channel, type, body)                       -> number of subscribers reached, or false, code, reason
--   stats()                                            -> { channels = {...}, clients = n, ... }
--   close()                                            closes the listeners and every connection
local skynet = require "skynet"
local socket = require "skynet.socket"
local driver = require "skynet.socketdriver"
local wire = require "pubsub.wire"

local string_format = string.format
local string_unpack = string.unpack

local PTYPE_PUBSUB = 26   -- deliveries to Lua services (lualib pubsub.lua registers the same)
local SERVICE_BIT = 0x80000000   -- DELIVER's `from` of a Lua service: its handle with this bit set

local conf = {
    max_frame = wire.DEFAULT_MAX_FRAME,
    max_clients = 1000,
    max_subscriptions = 1024,          -- per client or service
    max_pending = 16 * 1024 * 1024,    -- unsent bytes to one client before it is dropped as too slow
    hello_timeout = 1000,              -- centiseconds a new connection has to say HELLO
    linger = 500,                      -- centiseconds an ERROR frame gets to leave before a hard close
}

local channels = {}      -- name -> { name, type, typed, count, members = { [member] = type } }
local nchannels = 0
local clients = {}       -- socket id -> member of kind "client"
local nclients = 0
local services = {}      -- handle -> member of kind "service"
local listeners = {}     -- socket ids
local next_client_id = 1
local counters = { published = 0, delivered = 0, refused = 0, dropped_clients = 0 }

skynet.register_protocol {
    name = "pubsub",
    id = PTYPE_PUBSUB,
    pack = skynet.pack,
    unpack = skynet.unpack,
}

local function log(fmt, ...)
    skynet.error(string_format("pubsub: " .. fmt, ...))
end

-------------------------------------------------------------------------------- channels

-- A member is a client connection or a Lua service: { kind, label, from, subs = { [name] = type }, nsubs }.
-- Each has at most one subscription per channel, with one type ("*" for any); subscribing again replaces
-- the type. A channel's type is the type of its typed subscriptions, which all agree.

local function get_channel(name)
    local ch = channels[name]
    if ch == nil then
        ch = { name = name, type = nil, typed = 0, count = 0, members = {} }
        channels[name] = ch
        nchannels = nchannels + 1
    end
    return ch
end

local function release_channel(ch)
    if ch.count == 0 then
        channels[ch.name] = nil
        nchannels = nchannels - 1
    end
end

local function remove_subscription(member, ch)
    local old = ch.members[member]
    if old == nil then
        return
    end
    ch.members[member] = nil
    ch.count = ch.count - 1
    if old ~= wire.ANY_TYPE then
        ch.typed = ch.typed - 1
        if ch.typed == 0 then
            ch.type = nil
        end
    end
    member.subs[ch.name] = nil
    member.nsubs = member.nsubs - 1
    release_channel(ch)
end

-- true, or false, code, reason
local function subscribe(member, name, msgtype)
    local ch = channels[name]
    local old = ch and ch.members[member]
    if old == nil and member.nsubs >= conf.max_subscriptions then
        return false, wire.E_LIMIT, string_format("at most %d subscriptions", conf.max_subscriptions)
    end
    if msgtype ~= wire.ANY_TYPE and ch and ch.type and ch.type ~= msgtype then
        -- Changing the type is fine when this member's own subscription is the only one that set it.
        local sole = old == ch.type and ch.typed == 1
        if not sole then
            return false, wire.E_TYPE_MISMATCH,
                string_format("channel '%s' carries '%s', not '%s'", name, ch.type, msgtype)
        end
    end
    if old == msgtype then
        return true
    end
    ch = get_channel(name)
    if old ~= nil then
        remove_subscription(member, ch)
        ch = get_channel(name)
    end
    ch.members[member] = msgtype
    ch.count = ch.count + 1
    if msgtype ~= wire.ANY_TYPE then
        ch.typed = ch.typed + 1
        ch.type = msgtype
    end
    member.subs[name] = msgtype
    member.nsubs = member.nsubs + 1
    return true
end

local function unsubscribe(member, name)
    local ch = channels[name]
    if ch == nil or ch.members[member] == nil then
        return false, wire.E_NOT_SUBSCRIBED, string_format("not subscribed to '%s'", name)
    end
    remove_subscription(member, ch)
    return true
end

local function drop_all(member)
    for name in pairs(member.subs) do
        local ch = channels[name]
        if ch then
            remove_subscription(member, ch)
        end
    end
end

-- Delivers `body` to every subscriber of the channel: the number reached, or false, code, reason.
local function publish(member, name, msgtype, body)
    if msgtype == wire.ANY_TYPE then
        counters.refused = counters.refused + 1
        return false, wire.E_TYPE_MISMATCH, "'*' is not a message type"
    end
    local ch = channels[name]
    if ch and ch.type and ch.type ~= msgtype then
        counters.refused = counters.refused + 1
        return false, wire.E_TYPE_MISMATCH,
            string_format("channel '%s' carries '%s', not '%s'", name, ch.type, msgtype)
    end
    counters.published = counters.published + 1
    if ch == nil then
        return 0
    end
    local frame   -- built once, for the first client
    local n = 0
    for m in pairs(ch.members) do
        if m.kind == "client" then
            if not m.closing then
                frame = frame or wire.deliver(member.from, name, msgtype, body)
                socket.write(m.fd, frame)
                n = n + 1
            end
        else
            skynet.send(m.handle, "pubsub", name, msgtype, member.from, body)
            n = n + 1
        end
    end
    counters.delivered = counters.delivered + n
    return n
end

-------------------------------------------------------------------------------- client connections

-- Sends the last frame a client gets, and closes it. Sending goes first: socket.close still sends what
-- is queued. A peer that does not read gets a hard close after conf.linger.
local function fatal(conn, req, code, reason)
    if conn.closing then
        return
    end
    conn.closing = true
    conn.close_called = true
    conn.reason = string_format("%s: %s", wire.ERROR_NAMES[code] or code, reason)
    socket.write(conn.fd, wire.error_frame(req, code, reason))
    local fd = conn.fd
    skynet.timeout(conf.linger, function()
        driver.shutdown(fd)   -- false, and nothing done, when it is long gone
    end)
    socket.close(fd)
end

local handlers = {}

handlers[wire.HELLO] = function(conn, f)
    local version, name = f[1], f[2]
    if version ~= wire.VERSION then
        return fatal(conn, 0, wire.E_PROTOCOL, string_format("protocol version %d is not supported (this is %d)",
            version, wire.VERSION))
    end
    conn.hello = true
    conn.name = name
    conn.label = string_format("client %d (%s)", conn.id, name ~= "" and name or "?")
    socket.write(conn.fd, wire.welcome(conn.id, conf.max_frame))
    log("%s connected on %s", conn.label, conn.addr)
end

handlers[wire.SUBSCRIBE] = function(conn, f)
    local req, name, msgtype = f[1], f[2], f[3]
    local ok, code, reason = subscribe(conn, name, msgtype)
    if ok then
        socket.write(conn.fd, wire.ok(req, 0))
    else
        socket.write(conn.fd, wire.error_frame(req, code, reason))
    end
end

handlers[wire.UNSUBSCRIBE] = function(conn, f)
    local req, name = f[1], f[2]
    local ok, code, reason = unsubscribe(conn, name)
    if ok then
        socket.write(conn.fd, wire.ok(req, 0))
    else
        socket.write(conn.fd, wire.error_frame(req, code, reason))
    end
end

handlers[wire.PUBLISH] = function(conn, f)
    local req, name, msgtype, body = f[1], f[2], f[3], f[4]
    local n, code, reason = publish(conn, name, msgtype, body)
    if n then
        if req ~= 0 then
            socket.write(conn.fd, wire.ok(req, n))
        end
    else
        socket.write(conn.fd, wire.error_frame(req, code, reason))
    end
end

handlers[wire.PING] = function(conn, f)
    socket.write(conn.fd, wire.pong(f[1]))
end

handlers[wire.BYE] = function(conn)
    conn.reason = "said bye"
    socket.write(conn.fd, wire.bye_ack())
    return "bye"
end

-- The request id of a frame that failed to parse, when there is one, so the client can match the error.
local function request_id(frame)
    local kind = string.byte(frame, 1)
    if kind and kind >= wire.SUBSCRIBE and kind <= wire.PING and #frame >= 5 then
        return (string_unpack(">I4", frame, 2))
    end
    return 0
end

-- One frame (without its length). Returns "bye" or nothing.
local function handle_frame(conn, frame)
    local kind, f, reason = wire.parse_client_frame(frame)
    if not kind then
        return fatal(conn, request_id(frame), f, reason)
    end
    if not conn.hello then
        if kind ~= wire.HELLO then
            return fatal(conn, request_id(frame), wire.E_PROTOCOL, "the first frame must be HELLO")
        end
    elseif kind == wire.HELLO then
        return fatal(conn, 0, wire.E_PROTOCOL, "HELLO twice")
    end
    return handlers[kind](conn, f)
end

local function serve(conn)
    local fd = conn.fd
    while not conn.closing do
        local head = socket.read(fd, 4)
        if not head then
            conn.reason = conn.reason or "closed by the peer"
            break
        end
        local len = string_unpack(">I4", head)
        if len == 0 then
            fatal(conn, 0, wire.E_MALFORMED, "empty frame (length 0)")
        elseif len > conf.max_frame then
            fatal(conn, 0, wire.E_TOO_LARGE, string_format("frame of %d bytes; the limit is %d", len,
                conf.max_frame))
        else
            local frame = socket.read(fd, len)
            if not frame then
                conn.reason = conn.reason or "closed in the middle of a frame"
                break
            end
            if handle_frame(conn, frame) == "bye" then
                break
            end
        end
    end
    -- Gone: its subscriptions with it.
    drop_all(conn)
    clients[fd] = nil
    nclients = nclients - 1
    conn.closing = true
    if not conn.close_called then
        conn.close_called = true
        socket.close(fd)
    end
    log("%s disconnected (%s)", conn.label, conn.reason or "closed")
end

local function accept(fd, addr)
    if nclients >= conf.max_clients then
        counters.dropped_clients = counters.dropped_clients + 1
        log("refusing a connection on %s: %d clients already", addr, nclients)
        if socket.start(fd) then
            socket.write(fd, wire.error_frame(0, wire.E_LIMIT,
                string_format("too many clients (%d)", conf.max_clients)))
            socket.close(fd)
        end
        return
    end
    local id = next_client_id
    next_client_id = next_client_id + 1 < SERVICE_BIT and next_client_id + 1 or 1
    local conn = {
        kind = "client", fd = fd, id = id, from = id, addr = addr,
        label = string_format("client %d", id), subs = {}, nsubs = 0,
        hello = false,
        closing = false,        -- no more frames to or from it
        close_called = false,   -- socket.close was called (exactly once, by whoever set this)
    }
    clients[fd] = conn
    nclients = nclients + 1
    if not socket.start(fd) then
        clients[fd] = nil
        nclients = nclients - 1
        return
    end
    -- A client that does not read while others publish would make the node buffer without bound.
    socket.warning(fd, function(_, kb)
        if kb * 1024 >= conf.max_pending and not conn.closing then
            counters.dropped_clients = counters.dropped_clients + 1
            conn.closing = true
            conn.reason = string_format("too slow: %d KB unsent", kb)
            socket.shutdown(fd)
        end
    end)
    skynet.timeout(conf.hello_timeout, function()
        if not conn.hello and clients[fd] == conn then
            fatal(conn, 0, wire.E_PROTOCOL, string_format("no HELLO within %g s", conf.hello_timeout / 100))
        end
    end)
    skynet.fork(serve, conn)
end

-------------------------------------------------------------------------------- Lua services

local function service_member(handle, create)
    local m = services[handle]
    if m == nil and create then
        m = {
            kind = "service", handle = handle, from = SERVICE_BIT | handle,
            label = skynet.address(handle), subs = {}, nsubs = 0,
        }
        services[handle] = m
        -- A service that ends takes its subscriptions along.
        m.watch = skynet.watch(handle, function()
            if services[handle] == m then
                drop_all(m)
                services[handle] = nil
            end
        end)
    end
    return m
end

local function forget_if_idle(m)
    if m.nsubs == 0 and services[m.handle] == m then
        services[m.handle] = nil
        skynet.unwatch(m.watch)
    end
end

local CMD = {}

function CMD.subscribe(source, name, msgtype)
    local ok, why = wire.check_name(name, "channel")
    if ok then
        ok, why = wire.check_name(msgtype, "message type")
    end
    if not ok then
        return false, wire.E_MALFORMED, why
    end
    local m = service_member(source, true)
    local code
    ok, code, why = subscribe(m, name, msgtype)
    forget_if_idle(m)
    return ok, code, why
end

function CMD.unsubscribe(source, name)
    local m = service_member(source, false)
    if m == nil then
        return false, wire.E_NOT_SUBSCRIBED, string_format("not subscribed to '%s'", tostring(name))
    end
    local ok, code, why = unsubscribe(m, name)
    forget_if_idle(m)
    return ok, code, why
end

-- A publishing service needs no subscription: it is known by its handle only.
function CMD.publish(source, name, msgtype, body)
    local ok, why = wire.check_name(name, "channel")
    if ok then
        ok, why = wire.check_name(msgtype, "message type")
    end
    if ok and type(body) ~= "string" then
        ok, why = false, "the body must be a string"
    end
    if ok then
        local values, err = wire.decode_fields(body, 1)
        ok, why = values ~= nil, err
    end
    if not ok then
        return false, wire.E_MALFORMED, why
    end
    local sender = services[source] or { from = SERVICE_BIT | source }
    return publish(sender, name, msgtype, body)
end

function CMD.stats()
    local list = {}
    for name, ch in pairs(channels) do
        list[name] = { type = ch.type, subscribers = ch.count }
    end
    local nservices = 0
    for _ in pairs(services) do
        nservices = nservices + 1
    end
    return {
        channels = list, nchannels = nchannels, clients = nclients, services = nservices,
        published = counters.published, delivered = counters.delivered, refused = counters.refused,
        dropped_clients = counters.dropped_clients,
    }
end

local function listen(address, label)
    local id, addr, port = socket.listen(address)
    listeners[#listeners + 1] = id
    socket.start(id, function(fd, addr)
        -- socket.start blocks: each connection is taken over in its own coroutine
        skynet.fork(accept, fd, addr)
    end)
    if port and port ~= 0 then
        addr = addr:find(":", 1, true) and string_format("[%s]:%d", addr, port) or string_format("%s:%d", addr, port)
    end
    log("listening for %s on %s", label, addr)
    return addr
end

local function set_number(opts, key, min, max)
    local v = opts[key]
    if v ~= nil then
        v = math.tointeger(tonumber(v))
        assert(v and v >= min and v <= max, string_format("pubsub: %s must be an integer in %d..%d", key, min, max))
        conf[key] = v
    end
end

function CMD.open(_, opts)
    set_number(opts, "max_frame", wire.MIN_MAX_FRAME, wire.MAX_MAX_FRAME)
    set_number(opts, "max_clients", 1, 65536)
    set_number(opts, "max_subscriptions", 1, 1 << 20)
    set_number(opts, "max_pending", 1024 * 1024, 1 << 40)
    set_number(opts, "hello_timeout", 1, 100 * 3600)
    local addresses = {}
    if opts.socket and opts.socket ~= "" then
        addresses.unix = listen("unix:" .. opts.socket, "clients")
    end
    if opts.tcp_port then
        local port = math.tointeger(tonumber(opts.tcp_port))
        assert(port and port >= 0 and port <= 65535, "pubsub: tcp_port must be a port number")
        addresses.tcp = listen(string_format("%s:%d", opts.tcp_host or "127.0.0.1", port), "TCP clients")
    end
    return addresses
end

function CMD.close()
    for _, id in ipairs(listeners) do
        socket.close(id)
    end
    listeners = {}
    for fd, conn in pairs(clients) do
        if not conn.close_called then
            conn.closing = true
            conn.close_called = true
            conn.reason = "the hub closed"
            socket.close(fd)
        end
    end
    return true
end

skynet.start(function()
    skynet.dispatch("lua", function(session, source, command, ...)
        local f = CMD[command]
        if f == nil then
            log("unknown command %s from %s", tostring(command), skynet.address(source))
            if session ~= 0 then
                skynet.retpack(false, wire.E_PROTOCOL, "unknown command " .. tostring(command))
            end
            return
        end
        if session ~= 0 then
            skynet.retpack(f(source, ...))
            return
        end
        -- skynet.send: nobody waits for the answer, so a refusal is logged.
        local ok, code, why = f(source, ...)
        if ok == false then
            log("%s from %s refused: %s", command, skynet.address(source), tostring(why or code))
        end
    end)
end)
