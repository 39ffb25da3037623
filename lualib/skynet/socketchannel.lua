-- skynet.socketchannel: a client connection with request/response transactions, automatic reconnection
-- and an auth hook, for protocols such as redis, mongo and mysql.
--
--   local channel = socketchannel.channel {
--       host = "127.0.0.1", port = 6379,
--       backup = { "10.0.0.2", { host = "10.0.0.3", port = 6380 } },   -- tried in turn when host fails
--       auth = function(channel) ... end,       -- runs after each (re)connect
--       response = function(sock) return session, ok, data [, padding] end,   -- session mode
--       nodelay = true,
--       overload = function(is_overloaded) ... end,   -- send buffer passed 1 MB / drained again
--   }
--   channel:connect(once)
--   local data = channel:request(request, response_reader_or_session [, padding])
--
-- Order mode (no desc.response): each request passes a reader function(sock) -> ok, data [, padding];
-- responses are read in request order. Session mode: requests pass a session, desc.response reads any
-- response and says which session it answers. sock:read(n) / sock:readline(sep) raise
-- socketchannel.error when the connection drops; a failed transaction raises the same error (or the
-- reader's own error message) in the requesting coroutine.
local skynet = require "skynet"
local socket = require "skynet.socket"
local socketdriver = require "skynet.socketdriver"

local socket_channel = {}
local channel = {}
local channel_meta = { __index = channel }

-- The value raised for socket failures; compare with `==`.
local socket_error = setmetatable({}, { __tostring = function() return "[Error: socket]" end })
socket_channel.error = socket_error

-- The object passed to auth / response readers: sock[1] is the socket id.
local channel_socket = {}
local channel_socket_meta = {
    __index = channel_socket,
    __gc = function(cs)
        local fd = cs[1]
        cs[1] = false
        if fd then
            socket.shutdown(fd)
        end
    end,
}

function socket_channel.channel(desc)
    local c = {
        __host = assert(desc.host),
        __port = assert(desc.port),
        __backup = desc.backup,
        __auth = desc.auth,
        __response = desc.response, -- session mode when set
        __request = {}, -- order mode: response readers, in request order
        __thread = {}, -- order mode: waiting coroutines in order; session mode: session -> coroutine
        __result = {}, -- coroutine -> true / false / socket_error
        __result_data = {}, -- coroutine -> data or error message
        __connecting = {},
        __sock = false,
        __closed = false,
        __authcoroutine = false,
        __nodelay = desc.nodelay,
        __overload_notify = desc.overload,
        __overload = false,
    }
    return setmetatable(c, channel_meta)
end

local function close_channel_socket(self)
    local so = self.__sock
    if so then
        self.__sock = false
        -- closing must never raise here: this runs on error paths
        pcall(socket.close, so[1])
    end
end

-- Fails every coroutine waiting for a response.
local function wakeup_all(self, errmsg)
    if self.__response then
        for session, co in pairs(self.__thread) do
            self.__thread[session] = nil
            self.__result[co] = socket_error
            self.__result_data[co] = errmsg
            skynet.wakeup(co)
        end
    else
        for i = 1, #self.__request do
            self.__request[i] = nil
        end
        for i = 1, #self.__thread do
            local co = self.__thread[i]
            self.__thread[i] = nil
            if co then -- false is the close signal, not a waiter
                self.__result[co] = socket_error
                self.__result_data[co] = errmsg
                skynet.wakeup(co)
            end
        end
    end
end

-- Session mode: read responses as they come and hand each to the coroutine of its session.
local function dispatch_by_session(self)
    local response = self.__response
    while self.__sock do
        local ok, session, result_ok, result_data, padding = pcall(response, self.__sock)
        if ok and session then
            local co = self.__thread[session]
            if co then
                if padding and result_ok then
                    -- a multi-part response: collect the parts until the last one
                    local parts = self.__result_data[co] or {}
                    self.__result_data[co] = parts
                    parts[#parts + 1] = result_data
                else
                    self.__thread[session] = nil
                    self.__result[co] = result_ok
                    if result_ok and self.__result_data[co] then
                        table.insert(self.__result_data[co], result_data)
                    else
                        self.__result_data[co] = result_data
                    end
                    skynet.wakeup(co)
                end
            else
                self.__thread[session] = nil
                skynet.error("socket: unknown session :", session)
            end
        else
            close_channel_socket(self)
            local errmsg
            if session ~= socket_error then
                errmsg = session
            end
            wakeup_all(self, errmsg)
        end
    end
end

-- Order mode: the next (reader, coroutine) pair, waiting for a request if there is none.
local function pop_response(self)
    while true do
        local func, co = table.remove(self.__request, 1), table.remove(self.__thread, 1)
        if func then
            return func, co
        end
        self.__wait_response = coroutine.running()
        skynet.wait(self.__wait_response)
    end
end

local function push_response(self, response, co)
    if self.__response then
        self.__thread[response] = co
    else
        table.insert(self.__request, response)
        table.insert(self.__thread, co)
        if self.__wait_response then
            skynet.wakeup(self.__wait_response)
            self.__wait_response = nil
        end
    end
end

-- Runs a reader; a reader that says "padding" is called again until the last part.
local function get_response(func, sock)
    local result_ok, result_data, padding = func(sock)
    if result_ok and padding then
        local parts = { result_data }
        repeat
            result_ok, result_data, padding = func(sock)
            if not result_ok then
                return result_ok, result_data
            end
            parts[#parts + 1] = result_data
        until not padding
        return true, parts
    end
    return result_ok, result_data
end

local function dispatch_by_order(self)
    while self.__sock do
        local func, co = pop_response(self)
        if not co then
            -- the close signal pushed by term_dispatch_thread
            wakeup_all(self, "channel_closed")
            break
        end
        local sock = self.__sock
        if not sock then
            -- closed by the peer while this request waited
            self.__result[co] = socket_error
            skynet.wakeup(co)
            wakeup_all(self)
            break
        end
        local ok, result_ok, result_data = pcall(get_response, func, sock)
        if ok then
            self.__result[co] = result_ok
            if result_ok and self.__result_data[co] then
                table.insert(self.__result_data[co], result_data)
            else
                self.__result_data[co] = result_data
            end
            skynet.wakeup(co)
        else
            close_channel_socket(self)
            local errmsg
            if result_ok ~= socket_error then
                errmsg = result_ok
            end
            self.__result[co] = socket_error
            self.__result_data[co] = errmsg
            skynet.wakeup(co)
            wakeup_all(self, errmsg)
        end
    end
end

-- The peer closed a connection on which the order-mode dispatcher waits for requests.
local function autoclose_cb(self, fd)
    local sock = self.__sock
    if self.__wait_response and sock and sock[1] == fd then
        skynet.error("socket closed by peer : ", self.__host, self.__port)
        close_channel_socket(self)
    end
end

local function dispatch_function(self)
    if self.__response then
        return dispatch_by_session
    end
    socket.onclose(self.__sock[1], function(fd)
        autoclose_cb(self, fd)
    end)
    return dispatch_by_order
end

-- Stops the order-mode dispatcher of the previous connection.
local function term_dispatch_thread(self)
    if not self.__response and self.__dispatch_thread then
        push_response(self, true, false)
    end
end

local function watch_overload(self, fd)
    local overload = self.__overload_notify
    if not overload then
        return
    end
    local function trigger(id, size)
        if id ~= (self.__sock and self.__sock[1]) then
            return
        end
        if size == 0 then
            if self.__overload then
                self.__overload = false
                overload(false)
            end
        elseif not self.__overload then
            self.__overload = true
            overload(true)
        else
            skynet.error(string.format("WARNING: %d K bytes need to send out (fd = %d %s:%s)", size, id,
                self.__host, self.__port))
        end
    end
    skynet.fork(trigger, fd, 0)
    socket.warning(fd, trigger)
end

local function connect_once(self)
    if self.__closed then
        return false
    end

    local candidates = {}
    local seen = {}
    local function add_backups()
        if not self.__backup then
            return
        end
        for _, addr in ipairs(self.__backup) do
            local host, port
            if type(addr) == "table" then
                host, port = addr.host, addr.port
            else
                host, port = addr, self.__port
            end
            local key = host .. ":" .. port
            if not seen[key] then
                seen[key] = true
                candidates[#candidates + 1] = { host = host, port = port }
            end
        end
    end

    local function next_candidate()
        local addr = table.remove(candidates, 1)
        if addr then
            skynet.error("socket: connect to backup host", addr.host, addr.port)
        end
        return addr
    end

    local function try_addr(addr)
        local fd, err = socket.open(addr.host, addr.port)
        if not fd then
            local nxt = next_candidate()
            if nxt == nil then
                return false, err
            end
            return try_addr(nxt)
        end

        self.__host = addr.host
        self.__port = addr.port
        assert(not self.__sock and not self.__authcoroutine)
        term_dispatch_thread(self)
        if self.__nodelay then
            socketdriver.nodelay(fd)
        end
        watch_overload(self, fd)
        -- the previous dispatcher must be gone before a new one reads
        while self.__dispatch_thread do
            skynet.yield()
        end
        self.__sock = setmetatable({ fd }, channel_socket_meta)
        self.__dispatch_thread = skynet.fork(function()
            pcall(dispatch_function(self), self)
            self.__dispatch_thread = nil
        end)

        if self.__auth then
            self.__authcoroutine = coroutine.running()
            local ok, message = pcall(self.__auth, self)
            if not ok then
                close_channel_socket(self)
                if message ~= socket_error then
                    self.__authcoroutine = false
                    skynet.error("socket: auth failed", message)
                end
            end
            self.__authcoroutine = false
            if ok then
                if not self.__sock then
                    -- auth changed the host (changehost): connect again
                    return connect_once(self)
                end
            else
                add_backups() -- auth may have added backups
                local nxt = next_candidate()
                if nxt == nil then
                    return false, "no more backup host"
                end
                return try_addr(nxt)
            end
        end
        return true
    end

    add_backups()
    return try_addr({ host = self.__host, port = self.__port })
end

-- Connects, retrying with a growing delay (reconnect) unless `once`.
local function try_connect(self, once)
    local t = 0
    while not self.__closed do
        local ok, err = connect_once(self)
        if ok then
            if not once then
                skynet.error("socket: connect to", self.__host, self.__port)
            end
            return
        elseif once then
            return err
        else
            skynet.error("socket: connect", err)
        end
        if t > 1000 then
            skynet.error("socket: try to reconnect", self.__host, self.__port)
            skynet.sleep(t)
            t = 0
        else
            skynet.sleep(t)
        end
        t = t + 100
    end
end

-- true: usable; false: closed for good; nil: needs a connect.
local function check_connection(self)
    if self.__sock then
        if socket.disconnected(self.__sock[1]) then
            skynet.error("socket: disconnect detected ", self.__host, self.__port)
            close_channel_socket(self)
            return
        end
        local authco = self.__authcoroutine
        if not authco or authco == coroutine.running() then
            return true
        end
    end
    if self.__closed then
        return false
    end
end

local function block_connect(self, once)
    local r = check_connection(self)
    if r ~= nil then
        return r
    end
    local err
    if #self.__connecting > 0 then
        -- another coroutine is connecting: wait for it
        local co = coroutine.running()
        table.insert(self.__connecting, co)
        skynet.wait(co)
    else
        self.__connecting[1] = true
        err = try_connect(self, once)
        for i = 2, #self.__connecting do
            local co = self.__connecting[i]
            self.__connecting[i] = nil
            skynet.wakeup(co)
        end
        self.__connecting[1] = nil
    end
    r = check_connection(self)
    if r == nil then
        skynet.error(string.format("Connect to %s:%d failed (%s)", self.__host, self.__port, err))
        error(socket_error)
    end
    return r
end

function channel:connect(once)
    self.__closed = false
    return block_connect(self, once)
end

local function wait_for_response(self, response)
    local co = coroutine.running()
    push_response(self, response, co)
    skynet.wait(co)
    local result = self.__result[co]
    self.__result[co] = nil
    local result_data = self.__result_data[co]
    self.__result_data[co] = nil
    if result == socket_error then
        error(result_data or socket_error)
    end
    assert(result, result_data)
    return result_data
end

local socket_write = socket.write
local socket_lwrite = socket.lwrite

local function sock_err(self)
    close_channel_socket(self)
    wakeup_all(self)
    error(socket_error)
end

-- Sends `request` (a string, or with `padding` a first part followed by more parts) and, unless response
-- is nil, waits for the answer.
function channel:request(request, response, padding)
    assert(block_connect(self, true))
    local fd = self.__sock[1]
    if padding then
        -- a multi-part request goes through the low-priority queue, so parts of other requests sent
        -- with write() are not interleaved with it
        if not socket_lwrite(fd, request) then
            sock_err(self)
        end
        for _, part in ipairs(padding) do
            if not socket_lwrite(fd, part) then
                sock_err(self)
            end
        end
    elseif not socket_write(fd, request) then
        sock_err(self)
    end
    if response == nil then
        return
    end
    return wait_for_response(self, response)
end

-- Waits for a response that no request asked for (pushed by the server).
function channel:response(response)
    assert(block_connect(self))
    return wait_for_response(self, response)
end

function channel:close()
    if not self.__closed then
        term_dispatch_thread(self)
        self.__closed = true
        close_channel_socket(self)
    end
end

function channel:changehost(host, port)
    self.__host = host
    if port then
        self.__port = port
    end
    if not self.__closed then
        close_channel_socket(self)
    end
end

function channel:changebackup(backup)
    self.__backup = backup
end

channel_meta.__gc = channel.close

-- sock:read / sock:readline raise socket_error instead of returning false.
local function raising(f)
    return function(self, ...)
        local result = f(self[1], ...)
        if not result then
            error(socket_error)
        end
        return result
    end
end

channel_socket.read = raising(socket.read)
channel_socket.readline = raising(socket.readline)

return socket_channel
