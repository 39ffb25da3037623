-- The skynet service API (spec §1.2, §3, §8), written over the C++ boundary `skynet.core`.
--
-- Every service runs its Lua code in coroutines driven by one message callback.  The tables below
-- are the whole scheduler state; nothing is global.  Hot paths (dispatch of a request, call, ret)
-- use local upvalues only and create no closures per message.

local c = require "skynet.core"
local profile = require "skynet.profile"

local type = type
local next = next
local pairs = pairs
local pcall = pcall
local error = error
local select = select
local tostring = tostring
local tonumber = tonumber
local setmetatable = setmetatable
local string_format = string.format
local table_pack = table.pack
local table_unpack = table.unpack
local table_move = table.move
local traceback = debug.traceback

-- snlua swaps coroutine.resume for a CPU-profiling version; take whichever is the real one now.
local cresume = profile.resume or coroutine.resume
local coyield = coroutine.yield
local cocreate = coroutine.create
local coclose = coroutine.close
local corunning = coroutine.running

local csend = c.send
local cgenid = c.genid
local cintcommand = c.intcommand
local ctrace = c.trace

local PTYPE_RESPONSE = 1
local PTYPE_SYSTEM = 4
local PTYPE_ERROR = 7
local PTYPE_TRACE = 12

local skynet = {
    PTYPE_TEXT = 0,
    PTYPE_RESPONSE = PTYPE_RESPONSE,
    PTYPE_MULTICAST = 2,
    PTYPE_CLIENT = 3,
    PTYPE_SYSTEM = PTYPE_SYSTEM,
    PTYPE_HARBOR = 5,
    PTYPE_SOCKET = 6,
    PTYPE_ERROR = PTYPE_ERROR,
    PTYPE_QUEUE = 8,
    PTYPE_DEBUG = 9,
    PTYPE_LUA = 10,
    PTYPE_SNAX = 11,
    PTYPE_TRACE = PTYPE_TRACE,
}

local proto = {}
skynet._proto = proto
skynet.cache = require "skynet.codecache"

local skynet_require = require "skynet.require"

---------------------------------------------------------------------------------------------------
-- Scheduler state

-- session (allocated by us) -> the thread waiting for it, or "BREAK" when its answer must be dropped
local session_id_coroutine = {}
-- thread handling a request -> the request's session / source (the session is cleared once answered)
local session_coroutine_id = {}
local session_coroutine_address = {}
-- thread -> trace tag (string), or false when tracing is forced off for it
local session_coroutine_tracetag = {}
-- open response() closures -> the address they answer
local unresponse = {}
-- sleep/wait token -> session it sleeps on
local sleep_session = {}
-- sessions taken by skynet.wait: they never get an answer, so killing their thread frees them
local wait_session = {}
-- session of a pending call -> the address called; lets "service down" fail the right calls
local watching_session = {}
-- next request's trace tag, sent ahead by a PTYPE_TRACE message from that source
local trace_source = {}

-- Three FIFO queues kept as head/tail indexed arrays so that push and pop are O(1).
local wakeup_queue, wake_head, wake_tail = {}, 1, 0
local error_queue, err_head, err_tail = {}, 1, 0
-- fork_queue holds the threads, fork_body the functions they will run
local fork_queue, fork_body, fork_head, fork_tail = {}, {}, 1, 0

-- An error unwound a chain of resumptions: queued wakeups and errors still have to be served.
local flush_pending = false

local running_thread = nil   -- the skynet thread resumed last (user coroutines run inside it)
local init_thread = nil
local timeout_traceback = nil -- thread -> creation traceback, when trace_timeout is on
local unpacking = nil         -- request thread whose message is being unpacked

local suspend   -- forward declaration: suspend and the dispatchers call each other

local function resume(co, ...)
    running_thread = co
    return cresume(co, ...)
end

---------------------------------------------------------------------------------------------------
-- Session allocation that survives the 2^31 rewind.
--
-- The core hands out sessions from one counter that wraps back to 1.  Until it gets near the top,
-- a fresh session can never equal a pending one, so sends simply let the core allocate.  From
-- DANGER on every allocation is checked against the pending sessions (which may include very old
-- sleeps or calls) until the counter has wrapped and climbed past all of them.

local DANGER = 0x7fff0000
local SESSION_MAX = 0x7fffffff
local careful = false
local last_session = 0
local wrap_top = nil

local function observe(s)
    if s < last_session then
        -- Only pending sessions below DANGER can be met on this lap; those above it are met after
        -- the next climb to DANGER, which switches careful mode on again.
        local top = 0
        for k in pairs(session_id_coroutine) do
            if k > top and k < DANGER then
                top = k
            end
        end
        wrap_top = top
    end
    last_session = s
    if wrap_top and s > wrap_top and s < DANGER then
        careful = false
        wrap_top = nil
    end
end

local function free_session()
    while true do
        local s = cgenid()
        observe(s)
        if session_id_coroutine[s] == nil then
            return s
        end
    end
end

local function enter_careful(s)
    careful = true
    last_session = s
end

local function auxsend(addr, id, msg, sz)
    if careful then
        return csend(addr, id, free_session(), msg, sz)
    end
    local s = csend(addr, id, nil, msg, sz)
    if s and s >= DANGER then
        enter_careful(s)
    end
    return s
end

local function auxtimeout(ti)
    if careful then
        -- TIMEOUT takes the next session itself: burn ids until the one after is free.
        while true do
            local probe = cgenid()
            observe(probe)
            local nxt = probe >= SESSION_MAX and 1 or probe + 1
            if session_id_coroutine[nxt] == nil then
                break
            end
        end
        local s = cintcommand("TIMEOUT", ti)
        observe(s)
        if session_id_coroutine[s] ~= nil then
            error("session " .. s .. " collides with a pending one")
        end
        return s
    end
    local s = cintcommand("TIMEOUT", ti)
    if s >= DANGER then
        enter_careful(s)
    end
    return s
end

local function auxgenid()
    if careful then
        return free_session()
    end
    local s = cgenid()
    if s >= DANGER then
        enter_careful(s)
    end
    return s
end

---------------------------------------------------------------------------------------------------
-- Protocols

function skynet.register_protocol(class)
    local name = class.name
    local id = class.id
    if type(name) ~= "string" or math.type(id) ~= "integer" or id < 0 or id > 255 then
        error("register_protocol needs a string name and an integer id in 0..255", 2)
    end
    if proto[name] ~= nil or proto[id] ~= nil then
        error("protocol " .. name .. " (" .. id .. ") is already registered", 2)
    end
    proto[name] = class
    proto[id] = class
end

function skynet.dispatch(typename, func)
    local p = proto[typename]
    if func then
        if p == nil then
            error("unknown protocol " .. tostring(typename), 2)
        end
        local old = p.dispatch
        p.dispatch = func
        return old
    end
    return p and p.dispatch
end

---------------------------------------------------------------------------------------------------
-- The coroutine pool.  A pooled thread runs one body, cleans its request bookkeeping, parks
-- itself in the pool and waits for the next body; reusing threads keeps dispatch allocation-free.
-- The body travels with the first resume, as resume(co, body, args...), so starting a task costs
-- one resume whether the thread is new or recycled.

local coroutine_pool = setmetatable({}, { __mode = "kv" })

local function forgot_response(co, session, body)
    local info = debug.getinfo(body, "S")
    c.error(string_format("Maybe forgot response session %s from %s : %s:%d", session,
        skynet.address(session_coroutine_address[co]), info.source, info.linedefined))
end

local function release(co, body)
    local session = session_coroutine_id[co]
    if session then
        if session ~= 0 then
            forgot_response(co, session, body)
        end
        session_coroutine_id[co] = nil
    end
    session_coroutine_address[co] = nil
    local tag = session_coroutine_tracetag[co]
    if tag ~= nil then
        if tag then
            ctrace(tag, "end")
        end
        session_coroutine_tracetag[co] = nil
    end
end

local function pooled_run(co, body, ...)
    body(...)
    release(co, body)
    coroutine_pool[#coroutine_pool + 1] = co
    -- parked here until the next task: a tail call, so the stack does not grow
    return pooled_run(co, coyield "SUSPEND")
end

local function pooled_entry(body, ...)
    return pooled_run(corunning(), body, ...)
end

-- A parked (or new) thread; start it with resume(co, body, args...).
local function co_get()
    local n = #coroutine_pool
    local co = coroutine_pool[n]
    if co then
        coroutine_pool[n] = nil
        return co
    end
    return cocreate(pooled_entry)
end

-- Threads made by skynet.timeout are never pooled: the thread is the handle that killthread and
-- kill accept, and a recycled one could belong to somebody else by the time it is used.
local function co_create_timeout(f)
    local co
    co = cocreate(function(...)
        if timeout_traceback then
            timeout_traceback[co] = nil
        end
        f(...)
        release(co, f)
        return "SUSPEND"
    end)
    return co
end

---------------------------------------------------------------------------------------------------
-- Wakeups and errors are served whenever a thread suspends (spec §3.6).

local function dispatch_error_queue()
    while err_head <= err_tail do
        local session = error_queue[err_head]
        error_queue[err_head] = nil
        err_head = err_head + 1
        local co = session_id_coroutine[session]
        -- the thread may have been killed, or answered, since the error was queued
        if type(co) == "thread" then
            session_id_coroutine[session] = nil
            return suspend(co, resume(co, false, nil, nil, session))
        end
    end
    err_head, err_tail = 1, 0
end

local function dispatch_wakeup()
    while wake_head <= wake_tail do
        local token = wakeup_queue[wake_head]
        wakeup_queue[wake_head] = nil
        wake_head = wake_head + 1
        local session = sleep_session[token]
        if session then
            local co = session_id_coroutine[session]
            if type(co) == "thread" then
                local tag = session_coroutine_tracetag[co]
                if tag then
                    ctrace(tag, "resume")
                end
                -- the timer (if any) still fires later; its answer must be dropped
                session_id_coroutine[session] = "BREAK"
                return suspend(co, resume(co, false, "BREAK", nil, session))
            end
        end
    end
    wake_head, wake_tail = 1, 0
    if err_head <= err_tail then
        return dispatch_error_queue()
    end
end

local function push_error(session)
    err_tail = err_tail + 1
    error_queue[err_tail] = session
end

function suspend(co, ok, cmd)
    if ok then
        if cmd == "SUSPEND" then
            if wake_head <= wake_tail or err_head <= err_tail then
                return dispatch_wakeup()
            end
            return
        elseif cmd == "QUIT" then
            coclose(co)
            return
        elseif cmd == "USER" then
            error("Call skynet.coroutine.yield out of skynet.coroutine.resume\n" .. traceback(co))
        elseif cmd == nil then
            -- a bare coroutine.yield() in a skynet thread: it stays parked (debug hooks do this)
            return
        end
        error("Unknown command : " .. tostring(cmd) .. "\n" .. traceback(co))
    end
    -- The thread died with an error: the requester (if any) gets PTYPE_ERROR so it doesn't hang.
    local session = session_coroutine_id[co]
    if session then
        session_coroutine_id[co] = nil
        if session ~= 0 then
            local tag = session_coroutine_tracetag[co]
            if tag then
                ctrace(tag, "error")
            end
            csend(session_coroutine_address[co], PTYPE_ERROR, session, "")
        end
    end
    session_coroutine_address[co] = nil
    session_coroutine_tracetag[co] = nil
    flush_pending = true
    local tb = traceback(co, tostring(cmd))
    -- closing runs the thread's to-be-closed variables
    coclose(co)
    error(tb, 0)
end

---------------------------------------------------------------------------------------------------
-- Sending, calling, answering

function skynet.address(addr)
    if type(addr) == "number" then
        return string_format(":%08x", addr)
    end
    return tostring(addr)
end

function skynet.send(addr, typename, ...)
    local p = proto[typename]
    return csend(addr, p.id, 0, p.pack(...))
end

function skynet.rawsend(addr, typename, msg, sz)
    local p = proto[typename]
    return csend(addr, p.id, 0, msg, sz)
end

function skynet.redirect(dest, source, typename, ...)
    return c.redirect(dest, source, proto[typename].id, ...)
end

skynet.genid = auxgenid
skynet.pack = c.pack
skynet.unpack = c.unpack
skynet.packstring = c.packstring
skynet.tostring = c.tostring
skynet.trash = c.trash

local function yield_call(addr, session)
    watching_session[session] = addr
    session_id_coroutine[session] = running_thread
    local ok, msg, sz = coyield "SUSPEND"
    watching_session[session] = nil
    if not ok then
        error "call failed"
    end
    return msg, sz
end

local function bad_call(addr, session)
    if session == false then
        error("call failed: message to " .. skynet.address(addr) .. " is too large", 3)
    end
    error("call to invalid address " .. skynet.address(addr), 3)
end

-- The hottest function: auxsend and yield_call are written out inline here.
function skynet.call(addr, typename, ...)
    local co = running_thread
    local tag = session_coroutine_tracetag[co]
    if tag then
        ctrace(tag, "call", 2)
        csend(addr, PTYPE_TRACE, 0, tag)
    end
    local p = proto[typename]
    local session
    if careful then
        session = csend(addr, p.id, free_session(), p.pack(...))
    else
        session = csend(addr, p.id, nil, p.pack(...))
        if session and session >= DANGER then
            enter_careful(session)
        end
    end
    if not session then
        bad_call(addr, session)
    end
    watching_session[session] = addr
    session_id_coroutine[session] = co
    local ok, msg, sz = coyield "SUSPEND"
    watching_session[session] = nil
    if not ok then
        error "call failed"
    end
    return p.unpack(msg, sz)
end

function skynet.rawcall(addr, typename, msg, sz)
    local tag = session_coroutine_tracetag[running_thread]
    if tag then
        ctrace(tag, "call", 2)
        csend(addr, PTYPE_TRACE, 0, tag)
    end
    local p = proto[typename]
    local session = auxsend(addr, p.id, msg, sz)
    if not session then
        error("call to invalid address", 2)
    end
    return yield_call(addr, session)
end

function skynet.tracecall(tag, addr, typename, msg, sz)
    ctrace(tag, "tracecall begin")
    csend(addr, PTYPE_TRACE, 0, tag)
    local p = proto[typename]
    local session = auxsend(addr, p.id, msg, sz)
    if not session then
        error("call to invalid address", 2)
    end
    local rmsg, rsz = yield_call(addr, session)
    ctrace(tag, "tracecall end")
    return rmsg, rsz
end

function skynet.ret(msg, sz)
    msg = msg or ""
    local co = running_thread
    local tag = session_coroutine_tracetag[co]
    if tag then
        ctrace(tag, "response")
    end
    local session = session_coroutine_id[co]
    if session == nil then
        -- the packed message would be lost: free it before raising
        if sz ~= nil then
            c.trash(msg, sz)
        end
        error "No session"
    end
    session_coroutine_id[co] = nil
    if session == 0 then
        -- the request was a send: nobody waits for the answer
        if sz ~= nil then
            c.trash(msg, sz)
        end
        return false
    end
    local addr = session_coroutine_address[co]
    local r = csend(addr, PTYPE_RESPONSE, session, msg, sz)
    if r then
        return true
    elseif r == false then
        -- too large to deliver: the requester must not hang
        csend(addr, PTYPE_ERROR, session, "")
    end
    return false
end

function skynet.retpack(...)
    return skynet.ret(c.pack(...))
end

local function noop() end

function skynet.response(pack)
    pack = pack or c.pack
    local co = running_thread
    local session = session_coroutine_id[co]
    if session == nil then
        error("no session", 2)
    end
    session_coroutine_id[co] = nil
    if session == 0 then
        return noop
    end
    local addr = session_coroutine_address[co]
    local function response(ok, ...)
        if ok == "TEST" then
            return unresponse[response] ~= nil
        end
        if not pack then
            error "Can't response more than once"
        end
        local delivered = false
        if unresponse[response] then
            if ok then
                -- pack first: if it raises, the closure is still usable
                local msg, sz = pack(...)
                unresponse[response] = nil
                local r = csend(addr, PTYPE_RESPONSE, session, msg, sz)
                if r == false then
                    csend(addr, PTYPE_ERROR, session, "")
                end
                delivered = r and true or false
            else
                unresponse[response] = nil
                delivered = csend(addr, PTYPE_ERROR, session, "") ~= nil
            end
        end
        pack = nil
        return delivered
    end
    unresponse[response] = addr
    return response
end

function skynet.context()
    local co = running_thread
    return session_coroutine_id[co], session_coroutine_address[co]
end

function skynet.ignoreret()
    session_coroutine_id[running_thread] = nil
end

---------------------------------------------------------------------------------------------------
-- Errors and "service down"

-- Fails every call waiting on `addr` and forgets the response() closures that would answer it.
local function service_down(addr)
    for resp, a in pairs(unresponse) do
        if a == addr then
            unresponse[resp] = nil
        end
    end
    for session, a in pairs(watching_session) do
        if a == addr then
            push_error(session)
        end
    end
end

local function error_dispatch(error_session, error_source)
    skynet.ignoreret()
    if error_session == 0 then
        service_down(error_source)
    elseif watching_session[error_session] then
        push_error(error_session)
    elseif session_id_coroutine[error_session] == "BREAK" then
        -- an abandoned call failed: nothing else will ever arrive for it
        session_id_coroutine[error_session] = nil
    end
end

function skynet.term(service)
    return service_down(service)
end

local function unknown_request(session, address, msg, sz, prototype)
    c.error(string_format("Unknown request (%s): %s", prototype, tostring((c.tostring(msg, sz)))))
    error(string_format("Unknown session : %d from %x", session, address))
end

local function unknown_response(session, address, msg, sz)
    c.error(string_format("Response message : %s", tostring((c.tostring(msg, sz)))))
    error(string_format("Unknown session : %d from %x", session, address))
end

function skynet.dispatch_unknown_request(f)
    local old = unknown_request
    unknown_request = f
    return old
end

function skynet.dispatch_unknown_response(f)
    local old = unknown_response
    unknown_response = f
    return old
end

---------------------------------------------------------------------------------------------------
-- Watching other services (§8): the core sends PTYPE_SYSTEM "WATCH <id> <reason>" from the
-- watched handle when it ends.

local watchers = {}   -- watched handle -> { [id] = token }

local function watch_message(msg, sz, source)
    local text = c.tostring(msg, sz)
    if text == nil then
        return false
    end
    local id, reason = text:match "^WATCH (%d+) (%S+)"
    if id == nil then
        return false
    end
    id = tonumber(id)
    local byid = watchers[source]
    local token = byid and byid[id]
    if token then
        byid[id] = nil
        if next(byid) == nil then
            watchers[source] = nil
        end
        skynet.fork(token.f, source, reason)
    end
    return true
end

local function to_handle(addr)
    if type(addr) == "number" then
        return addr
    end
    if type(addr) == "string" then
        local first = addr:sub(1, 1)
        if first == ":" then
            return tonumber(addr:sub(2), 16)
        end
        return skynet.query(addr)
    end
    error("invalid service address " .. tostring(addr), 3)
end

function skynet.watch(addr, f)
    if type(f) ~= "function" then
        error("skynet.watch needs a function", 2)
    end
    local handle = to_handle(addr)
    if handle == nil then
        -- a name that resolves to nothing: it is as dead as a vanished handle
        skynet.fork(f, addr, "dead")
        return { addr = addr }
    end
    local r = c.command("WATCH", string_format(":%x", handle))
    local id = tonumber(r)
    if id == nil then
        error("the core refused WATCH " .. skynet.address(handle) .. " (" .. tostring(r) .. ")", 2)
    end
    local token = { addr = handle, id = id, f = f }
    local byid = watchers[handle]
    if byid == nil then
        byid = {}
        watchers[handle] = byid
    end
    byid[id] = token
    return token
end

function skynet.unwatch(token)
    local handle, id = token.addr, token.id
    if id == nil then
        return
    end
    local byid = watchers[handle]
    if byid and byid[id] == token then
        byid[id] = nil
        if next(byid) == nil then
            watchers[handle] = nil
        end
        c.command("UNWATCH", string_format(":%x %d", handle, id))
    end
end

---------------------------------------------------------------------------------------------------
-- Message dispatch

-- Entered only once the message unpacked cleanly.
local function start_request(co, ...)
    unpacking = nil
    running_thread = co
    return cresume(co, ...)
end

local function raw_dispatch_message(prototype, msg, sz, session, source)
    if prototype == PTYPE_RESPONSE then
        local co = session_id_coroutine[session]
        if co == nil then
            return unknown_response(session, source, msg, sz)
        end
        session_id_coroutine[session] = nil
        if co == "BREAK" then
            return
        end
        local tag = session_coroutine_tracetag[co]
        if tag then
            ctrace(tag, "resume")
        end
        return suspend(co, resume(co, true, msg, sz, session))
    end

    if prototype == PTYPE_SYSTEM and watch_message(msg, sz, source) then
        return
    end

    local p = proto[prototype]
    if p == nil then
        if prototype == PTYPE_TRACE then
            trace_source[source] = c.tostring(msg, sz)
        elseif session ~= 0 then
            csend(source, PTYPE_ERROR, session, "")
        else
            unknown_request(session, source, msg, sz, prototype)
        end
        return
    end

    local f = p.dispatch
    if f == nil then
        trace_source[source] = nil
        if session ~= 0 then
            csend(source, PTYPE_ERROR, session, "")
        else
            unknown_request(session, source, msg, sz, p.name)
        end
        return
    end

    local co = co_get()
    session_coroutine_id[co] = session
    session_coroutine_address[co] = source
    local traceflag = p.trace
    if traceflag == false then
        trace_source[source] = nil
        session_coroutine_tracetag[co] = false
    else
        local tag = trace_source[source]
        if tag then
            trace_source[source] = nil
            ctrace(tag, "request")
            session_coroutine_tracetag[co] = tag
        elseif traceflag then
            running_thread = co
            skynet.trace()
        end
    end
    unpacking = co
    return suspend(co, start_request(co, f, session, source, p.unpack(msg, sz)))
end

-- The message could not be unpacked: answer the requester and drop the thread.
local function abort_unpacking()
    local co = unpacking
    unpacking = nil
    local session = session_coroutine_id[co]
    if session and session ~= 0 then
        csend(session_coroutine_address[co], PTYPE_ERROR, session, "")
    end
    session_coroutine_id[co] = nil
    session_coroutine_address[co] = nil
    session_coroutine_tracetag[co] = nil
    coclose(co)
end

local function join_error(ok, err, more)
    if ok then
        return false, tostring(more)
    end
    return false, tostring(err) .. "\n" .. tostring(more)
end

function skynet.dispatch_message(...)
    local ok, err = pcall(raw_dispatch_message, ...)
    if not ok and unpacking then
        abort_unpacking()
    end
    -- forks run after the handler yielded or finished, first in first out
    while true do
        if flush_pending then
            flush_pending = false
            local fok, ferr = pcall(dispatch_wakeup)
            if not fok then
                ok, err = join_error(ok, err, ferr)
            end
        elseif fork_head <= fork_tail then
            local h = fork_head
            local co, body = fork_queue[h], fork_body[h]
            fork_queue[h] = nil
            fork_body[h] = nil
            fork_head = h + 1
            local fok, ferr = pcall(suspend, co, resume(co, body))
            if not fok then
                ok, err = join_error(ok, err, ferr)
            end
        else
            break
        end
    end
    fork_head, fork_tail = 1, 0
    if not ok then
        error(tostring(err), 0)
    end
end

local dispatch_message = skynet.dispatch_message

---------------------------------------------------------------------------------------------------
-- Scheduling

function skynet.fork(func, ...)
    local n = select("#", ...)
    local body = func
    if n > 0 then
        local args = { ... }
        body = function()
            func(table_unpack(args, 1, n))
        end
    end
    local co = co_get()
    local t = fork_tail + 1
    fork_tail = t
    fork_queue[t] = co
    fork_body[t] = body
    return co
end

function skynet.timeout(ti, func)
    local session = auxtimeout(ti)
    local co = co_create_timeout(func)
    session_id_coroutine[session] = co
    if timeout_traceback then
        -- skynet's wording: when the timer was set, for how long, and the stack of whoever set it
        timeout_traceback[co] = traceback(string_format("TIMER %d+%s : ", c.now(), math.tointeger(ti) or ti), 2)
    end
    return co
end

function skynet.trace_timeout(on)
    if on then
        timeout_traceback = timeout_traceback or setmetatable({}, { __mode = "k" })
    else
        timeout_traceback = nil
    end
end

-- Parks the running thread on `session` under `token` until an answer or a wakeup arrives.
local function sleep_on(session, token)
    local co = running_thread
    if sleep_session[token] ~= nil then
        return nil, "token duplicative"
    end
    local tag = session_coroutine_tracetag[co]
    if tag then
        ctrace(tag, "sleep", 2)
    end
    session_id_coroutine[session] = co
    sleep_session[token] = session
    return coyield "SUSPEND"
end

function skynet.sleep(ti, token)
    local session = auxtimeout(ti)
    token = token or corunning()
    local ok, err = sleep_on(session, token)
    if ok == nil then
        -- the timer is already armed: its answer must not look like an unknown session
        session_id_coroutine[session] = "BREAK"
        error(err, 2)
    end
    sleep_session[token] = nil
    if ok then
        return
    end
    if err == "BREAK" then
        return "BREAK"
    end
    error(err)
end

function skynet.yield()
    return skynet.sleep(0)
end

function skynet.wait(token)
    local session = auxgenid()
    token = token or corunning()
    wait_session[session] = true
    local ok, err = sleep_on(session, token)
    wait_session[session] = nil
    if ok == nil then
        error(err, 2)
    end
    sleep_session[token] = nil
    session_id_coroutine[session] = nil
end

function skynet.wakeup(token)
    if sleep_session[token] then
        wake_tail = wake_tail + 1
        wakeup_queue[wake_tail] = token
        return true
    end
end

function skynet.killthread(thread)
    local session
    if type(thread) == "string" then
        for s, co in pairs(session_id_coroutine) do
            if co ~= "BREAK" and tostring(co):find(thread, 1, true) then
                session = s
                break
            end
        end
    else
        -- a fork that has not started yet is simply taken out of the queue
        for i = fork_head, fork_tail do
            if fork_queue[i] == thread then
                table_move(fork_queue, i + 1, fork_tail, i)
                table_move(fork_body, i + 1, fork_tail, i)
                fork_queue[fork_tail] = nil
                fork_body[fork_tail] = nil
                fork_tail = fork_tail - 1
                return thread
            end
        end
        for s, co in pairs(session_id_coroutine) do
            if co == thread then
                session = s
                break
            end
        end
    end
    if session == nil then
        return
    end
    local co = session_id_coroutine[session]
    local req = session_coroutine_id[co]
    if req and req ~= 0 then
        csend(session_coroutine_address[co], PTYPE_ERROR, req, "")
    end
    session_coroutine_id[co] = nil
    session_coroutine_address[co] = nil
    session_coroutine_tracetag[co] = nil
    if wait_session[session] then
        -- nothing will ever answer a wait session
        wait_session[session] = nil
        session_id_coroutine[session] = nil
    else
        -- a call's answer or a timer's expiry is still coming: swallow it silently
        session_id_coroutine[session] = "BREAK"
    end
    watching_session[session] = nil
    for token, s in pairs(sleep_session) do
        if s == session then
            sleep_session[token] = nil
            break
        end
    end
    if timeout_traceback then
        timeout_traceback[co] = nil
    end
    coclose(co)
    return co
end

skynet.now = c.now
skynet.hpc = c.hpc

local starttime
function skynet.starttime()
    if not starttime then
        starttime = cintcommand "STARTTIME"
    end
    return starttime
end

function skynet.time()
    return c.now() / 100 + (starttime or skynet.starttime())
end

---------------------------------------------------------------------------------------------------
-- request():select -- parallel calls

local request_meta = {}
request_meta.__index = request_meta

function request_meta:add(obj)
    if type(obj) ~= "table" then
        error("request:add needs a table { addr, typename, ... }", 2)
    end
    if self._thread then
        error("request already selected", 2)
    end
    self[#self + 1] = obj
    return self
end

request_meta.__call = request_meta.add

local function unpack_response(p, ok, msg, sz)
    if not ok then
        return false
    end
    local r = table_pack(pcall(p.unpack, msg, sz))
    if not r[1] then
        return false
    end
    return table_pack(table_unpack(r, 2, r.n))
end

-- One collector thread receives every answer of a select and wakes the iterating thread.
local function collector(self)
    while true do
        local ok, msg, sz, session = coyield "SUSPEND"
        if session == self._timeout_session then
            self._timeout_session = nil
            self.timeout = true
        else
            watching_session[session] = nil
            local req = self._sessions[session]
            if req then
                self._resp[session] = unpack_response(proto[req[2]], ok, msg, sz)
            end
        end
        skynet.wakeup(self)
    end
end

local function request_iter(self)
    local bad = self._bad
    if bad then
        local i = self._bad_next
        local req = bad[i]
        if req then
            self._bad_next = i + 1
            return req, nil
        end
        self._bad = nil
    end
    while true do
        local resp = self._resp
        local session, r = next(resp)
        if session ~= nil then
            resp[session] = nil
            local req = self._sessions[session]
            self._sessions[session] = nil
            self._pending = self._pending - 1
            return req, r
        end
        if self._pending <= 0 or self.timeout then
            return nil
        end
        skynet.wait(self)
    end
end

function request_meta:close()
    local sessions = self._sessions
    if sessions then
        local resp = self._resp
        for session in pairs(sessions) do
            if resp[session] == nil then
                session_id_coroutine[session] = "BREAK"
                watching_session[session] = nil
            end
        end
        self._sessions = {}
        self._resp = {}
        self._pending = 0
    end
    local t = self._timeout_session
    if t then
        session_id_coroutine[t] = "BREAK"
        self._timeout_session = nil
    end
end

request_meta.__close = request_meta.close

function request_meta:select(timeout)
    if self._thread then
        error("request already selected", 2)
    end
    local thread = cocreate(collector)
    self._thread = thread
    local sessions, bad, pending = {}, nil, 0
    self._sessions = sessions
    self._resp = {}
    local tag = session_coroutine_tracetag[running_thread]
    for i = 1, #self do
        local req = self[i]
        local addr = req[1]
        local p = proto[req[2]]
        if tag then
            ctrace(tag, "call", 2)
            csend(addr, PTYPE_TRACE, 0, tag)
        end
        local session = auxsend(addr, p.id, p.pack(table_unpack(req, 3, req.n)))
        if session then
            sessions[session] = req
            watching_session[session] = addr
            session_id_coroutine[session] = thread
            pending = pending + 1
        else
            bad = bad or {}
            bad[#bad + 1] = req
        end
    end
    self._pending = pending
    self._bad = bad
    self._bad_next = 1
    if timeout then
        local s = auxtimeout(timeout)
        self._timeout_session = s
        session_id_coroutine[s] = thread
    end
    -- run the collector up to its first yield
    local saved = running_thread
    cresume(thread, self)
    running_thread = saved
    return request_iter, self, nil, self
end

function skynet.request(obj)
    local r = setmetatable({}, request_meta)
    if obj then
        r:add(obj)
    end
    return r
end

---------------------------------------------------------------------------------------------------
-- Tracing

local traceid = 0

function skynet.trace(info)
    local co = running_thread
    skynet.error("TRACE", session_coroutine_tracetag[co])
    if session_coroutine_tracetag[co] == false then
        return
    end
    traceid = traceid + 1
    local tag = string_format(":%08x-%d", skynet.self(), traceid)
    session_coroutine_tracetag[co] = tag
    if info then
        ctrace(tag, "trace " .. info)
    else
        ctrace(tag, "trace")
    end
end

function skynet.tracetag()
    return session_coroutine_tracetag[running_thread]
end

skynet.tracelog = ctrace

function skynet.traceproto(name, flag)
    local p = proto[name]
    if p == nil then
        error("unknown protocol " .. tostring(name), 2)
    end
    p.trace = flag
end

---------------------------------------------------------------------------------------------------
-- Names, environment, node information

local self_handle
function skynet.self()
    if not self_handle then
        self_handle = c.addresscommand "REG"
    end
    return self_handle
end

function skynet.localname(name)
    return c.addresscommand("QUERY", name)
end

-- Extension §8: the handle behind a local (.x) or global name, nil when none.
function skynet.query(name)
    local first = name:sub(1, 1)
    if first == "." then
        return c.addresscommand("QUERY", name)
    elseif first == ":" then
        return tonumber(name:sub(2), 16)
    end
    return c.addresscommand("GQUERY", name)
end

-- A global name has no leading dot; the harbor module registers it (§4.3).
local function globalname(name, handle)
    local first = name:sub(1, 1)
    if first == ":" then
        error("can't name a service " .. name, 3)
    end
    if first == "." then
        return false
    end
    if #name >= 16 then
        error("global name " .. name .. " is too long (max 15)", 3)
    end
    if tonumber(name) ~= nil then
        error("global name can't be a number: " .. name, 3)
    end
    require("skynet.harbor").globalname(name, handle)
    return true
end

-- skynet.register / skynet.name work without skynet.manager (extension §8).
function skynet.register(name)
    if not globalname(name) then
        c.command("REG", name)
    end
end

function skynet.name(name, handle)
    if not globalname(name, handle) then
        c.command("NAME", name .. " " .. skynet.address(handle))
    end
end

function skynet.harbor(addr)
    return c.harbor(addr)
end

skynet.error = c.error

function skynet.getenv(key)
    return (c.command("GETENV", key))
end

function skynet.setenv(key, value)
    -- the core would abort the whole process on an existing key; refuse here instead
    if c.command("GETENV", key) ~= nil then
        error("Can't setenv exist key : " .. key, 2)
    end
    c.command("SETENV", key .. " " .. value)
end

function skynet.endless()
    return cintcommand("STAT", "endless") == 1
end

function skynet.mqlen()
    return cintcommand("STAT", "mqlen")
end

function skynet.stat(what)
    return cintcommand("STAT", what)
end

local memlimit_set = false
function skynet.memlimit(bytes)
    if memlimit_set then
        error("skynet.memlimit can be set only once", 2)
    end
    memlimit_set = true
    debug.getregistry().memlimit = bytes
end

skynet.pcall = pcall

---------------------------------------------------------------------------------------------------
-- Tasks

function skynet.task(ret)
    if ret == nil then
        local n = 0
        for _, co in pairs(session_id_coroutine) do
            if co ~= "BREAK" then
                n = n + 1
            end
        end
        return n
    end
    if ret == "init" then
        if init_thread then
            return traceback(init_thread)
        end
        return
    end
    local t = type(ret)
    if t == "table" then
        for session, co in pairs(session_id_coroutine) do
            local key = string_format("%s session: %d", tostring(co), session)
            if co == "BREAK" then
                ret[key] = "BREAK"
            elseif timeout_traceback and timeout_traceback[co] then
                ret[key] = timeout_traceback[co]
            else
                ret[key] = traceback(co)
            end
        end
        return
    elseif t == "number" then
        local co = session_id_coroutine[ret]
        if co == nil then
            return "No session"
        elseif co == "BREAK" then
            return "BREAK"
        end
        return traceback(co)
    elseif t == "thread" then
        for session, co in pairs(session_id_coroutine) do
            if co == ret then
                return session
            end
        end
    end
end

-- Pending tasks grouped by identical stack: "<count>\tsessions:[s1,s2,...]\n" -> stack
function skynet.uniqtask()
    local groups = {}
    for session, co in pairs(session_id_coroutine) do
        local stack = co == "BREAK" and "BREAK" or traceback(co)
        local g = groups[stack]
        if g == nil then
            g = { count = 0, sessions = {} }
            groups[stack] = g
        end
        g.count = g.count + 1
        if g.count <= 10 then
            g.sessions[#g.sessions + 1] = session
        end
    end
    local result = {}
    for stack, g in pairs(groups) do
        local list = table.concat(g.sessions, ",")
        if g.count > 10 then
            list = list .. "..."
        end
        result[string_format("%d\tsessions:[%s]\n", g.count, list)] = stack
    end
    return result
end

---------------------------------------------------------------------------------------------------
-- Services

function skynet.newservice(name, ...)
    return skynet.call(".launcher", "lua", "LAUNCH", "snlua", name, ...)
end

function skynet.uniqueservice(global, ...)
    if global == true then
        return assert(skynet.call(".service", "lua", "GLAUNCH", ...))
    end
    return assert(skynet.call(".service", "lua", "LAUNCH", global, ...))
end

function skynet.queryservice(global, ...)
    if global == true then
        return assert(skynet.call(".service", "lua", "GQUERY", ...))
    end
    return assert(skynet.call(".service", "lua", "QUERY", global, ...))
end

-- Answers every request still held and tells every service being called that we are gone, so
-- nobody waits for us forever.  Shared by skynet.exit and the kill hook.
local function abandon_all()
    fork_queue, fork_body, fork_head, fork_tail = {}, {}, 1, 0
    for co, session in pairs(session_coroutine_id) do
        local addr = session_coroutine_address[co]
        if session ~= 0 and addr then
            csend(addr, PTYPE_ERROR, session, "")
        end
        -- answered now: a to-be-closed handler calling ret later must find no session
        session_coroutine_id[co] = nil
    end
    for _, co in pairs(session_id_coroutine) do
        if type(co) == "thread" and co ~= running_thread then
            -- runs their to-be-closed variables; a thread that is not closable is left alone
            pcall(coclose, co)
        end
    end
    for resp in pairs(unresponse) do
        resp(false)
    end
    local called = {}
    for _, addr in pairs(watching_session) do
        called[addr] = true
    end
    for addr in pairs(called) do
        csend(addr, PTYPE_ERROR, 0, "")
    end
end

-- After exit anything addressed to us that expects an answer gets an error (never a response or
-- an error message: replying to those would hit an unrelated session of the sender).
local function refuse(prototype, _, _, session, source)
    if session ~= 0 and source ~= 0 and prototype ~= PTYPE_RESPONSE and prototype ~= PTYPE_ERROR then
        csend(source, PTYPE_ERROR, session, "")
    end
end

local function exit_service(reason)
    skynet.send(".launcher", "lua", "REMOVE", skynet.self(), false)
    abandon_all()
    c.callback(refuse)
    c.command("EXIT", reason)
    if coroutine.isyieldable() then
        coyield "QUIT"
    end
    -- called from the main chunk: unwind it, the service is gone anyway
    error("service exited", 0)
end

function skynet.exit()
    exit_service(nil)
end

skynet.init = skynet_require.init

function skynet.init_service(start)
    local ok, err = xpcall(function()
        skynet_require.init_all()
        start()
    end, traceback)
    if not ok then
        c.error("init service failed: " .. tostring(err))
        skynet.send(".launcher", "lua", "ERROR")
        exit_service("error")
    else
        skynet.send(".launcher", "lua", "LAUNCHOK")
    end
end

function skynet.start(start_func)
    c.callback(dispatch_message)
    init_thread = skynet.timeout(0, function()
        skynet.init_service(start_func)
        init_thread = nil
    end)
end

---------------------------------------------------------------------------------------------------
-- Built-in protocols

skynet.register_protocol {
    name = "lua",
    id = skynet.PTYPE_LUA,
    pack = c.pack,
    unpack = c.unpack,
}

skynet.register_protocol {
    name = "response",
    id = PTYPE_RESPONSE,
}

skynet.register_protocol {
    name = "error",
    id = PTYPE_ERROR,
    unpack = function(...) return ... end,
    dispatch = error_dispatch,
}

-- Killed from outside (spec §0.3): the core calls this before closing the state.
if c.killhook then
    c.killhook(function()
        -- runs in the main thread: no skynet thread is current
        running_thread = nil
        abandon_all()
    end)
end

require("skynet.debug").init(skynet, {
    dispatch = dispatch_message,
    suspend = suspend,
    resume = resume,
})

return skynet
