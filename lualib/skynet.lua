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
-- token of a skynet.wait -> its session: nothing ever answers those, so killing the thread frees them
local wait_token = {}
-- session of a pending call -> the address called; lets "service down" fail the right calls
local watching_session = {}
-- next request's trace tag, sent ahead by a PTYPE_TRACE message from that source
local trace_source = {}
local trace_pending = 0   -- entries in trace_source: requests check it before looking there

-- Three FIFO queues kept as head/tail indexed arrays so that push and pop are O(1).  A pop that empties
-- a queue rewinds it to 1, 0 at once: in a chain of wakeups (or forks that fork) the queue never looks
-- empty at the end of a loop, and ever-growing indexes would land in the table's hash part, where each
-- new key can force a rehash that walks the whole array part.
local wakeup_queue = {}   -- indexes S[WAKE_HEAD] .. S[WAKE_TAIL]
local error_queue = {}    -- indexes S[ERR_HEAD] .. S[ERR_TAIL]
-- fork_queue holds the threads, fork_body the functions they will run; S[FORK_HEAD] .. S[FORK_TAIL]
local fork_queue, fork_body = {}, {}
-- parked pooled threads (weak: an idle service's pool may be collected)
local coroutine_pool = setmetatable({}, { __mode = "kv" })

-- An error unwound a chain of resumptions: queued wakeups and errors still have to be served.
local flush_pending = false

-- The state the C side (skynet.dispatcher: lua_dispatch.cpp and its neighbours) shares with this file,
-- in one table it reads and writes by index (the order is its contract, scheduler_shared.h): cheaper
-- for it than a closure's upvalues, whose look-up also touches the function's prototype, a cache miss
-- per message in a service that was idle for a while.
-- S[RUNNING]: the skynet thread resumed last (user coroutines run inside it).
-- S[UNPACKING]: the request thread whose message is being unpacked.
-- S[TRACING]: set for good once any thread gets a trace tag (or `false`); until then the hot paths
--   skip the session_coroutine_tracetag look-ups, and the dispatcher handles every message it can.
-- S[BUSY]: set whenever a wakeup, an error or a fork is queued (or flush_pending set): the dispatcher
--   calls back into Lua after a message only while it is true.
-- S[WAKE_HEAD], S[WAKE_TAIL], S[ERR_HEAD], S[ERR_TAIL], S[FORK_HEAD], S[FORK_TAIL]: the indexes of the
--   wakeup, error and fork queues.  The first two are served by dispatch_wakeup (skynet.dispatcher.wake_loop,
--   in C); skynet.fork (C) pushes to the third.
-- S[CAREFUL]: a copy of `careful` (below) for the C functions, which leave careful mode to this file.
-- The slots from 12 on hold the tables and the Lua functions for the unusual cases that the scheduler
-- API in C (skynet.dispatcher.api: send, call, ret, fork, timeout, sleep, wakeup) works with.
local RUNNING <const> = 1
local UNPACKING <const> = 2
local TRACING <const> = 3
local BUSY <const> = 4
local WAKE_HEAD <const> = 5
local WAKE_TAIL <const> = 6
local ERR_HEAD <const> = 7
local ERR_TAIL <const> = 8
local CAREFUL <const> = 9
local FORK_HEAD <const> = 10
local FORK_TAIL <const> = 11
local POOLED_ENTRY <const> = 23
local RELEASE <const> = 24
local FREE_SESSION <const> = 26
local ENTER_CAREFUL <const> = 27
local CAREFUL_TIMEOUT <const> = 28
local TIMEOUT_TRACEBACK <const> = 29
local NOTE_TIMEOUT <const> = 30
local S = {
    nil, nil, false, false, 1, 0, 1, 0, false, 1, 0,
    proto, session_id_coroutine, session_coroutine_id, session_coroutine_address, session_coroutine_tracetag,
    watching_session, sleep_session, wakeup_queue, fork_queue, fork_body, coroutine_pool,
    false, false, c.trace, false, false, false, false, false,   -- functions set below
}
local init_thread = nil

local watch_message = nil   -- set when skynet.watch is first used (lazy/watch.lua)
local suspend   -- forward declaration: suspend and the dispatchers call each other

local function resume(co, ...)
    S[RUNNING] = co
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
        S[CAREFUL] = false
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
    S[CAREFUL] = true
    last_session = s
end
S[FREE_SESSION] = free_session
S[ENTER_CAREFUL] = enter_careful

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

-- TIMEOUT in careful mode: it takes the next session itself, so burn ids until the one after is free.
local function careful_timeout(ti)
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
S[CAREFUL_TIMEOUT] = careful_timeout

local function auxtimeout(ti)
    if careful then
        return careful_timeout(ti)
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

local function forgot_response(co, session, body)
    local info = debug.getinfo(body, "S")
    c.error(string_format("Maybe forgot response session %s from %s : %s:%d", session,
        skynet.address(session_coroutine_address[co]), info.source, info.linedefined))
end

local function end_trace(co)
    local tag = session_coroutine_tracetag[co]
    if tag then
        ctrace(tag, "end")
    end
    session_coroutine_tracetag[co] = nil
end

-- A task ended: its request bookkeeping goes.  The pooled threads' body (pooled_entry) does the plain
-- case itself and calls this for the rest.
local function release(co, body)
    local session = session_coroutine_id[co]
    if session then
        if session ~= 0 then
            forgot_response(co, session, body)
        end
        session_coroutine_id[co] = nil
    end
    session_coroutine_address[co] = nil
    if S[TRACING] and session_coroutine_tracetag[co] ~= nil then
        end_trace(co)
    end
end

-- The function every pooled thread runs (skynet.dispatcher.pooled_entry, in C): called as
-- (body, args...), it runs body(args...), releases the task, appends the thread to coroutine_pool and
-- yields "SUSPEND"; the next resume(co, body, args...) starts the next task on the same stack.
local dispatcher = require "skynet.dispatcher"
local pooled_entry = dispatcher.pooled_entry(session_coroutine_id, session_coroutine_address,
    coroutine_pool, S, release)
S[POOLED_ENTRY] = pooled_entry
S[RELEASE] = release

---------------------------------------------------------------------------------------------------
-- Wakeups and errors are served whenever a thread suspends (spec §3.6).

-- Serves the wakeup queue, then the error queue: skynet.dispatcher.wake_loop (C), made below once
-- suspend exists.  A woken thread gets (false, "BREAK", nil, session) and its session is left as "BREAK"
-- (its timer, if any, still fires and the answer is dropped); a thread whose call failed gets
-- (false, nil, nil, session).  A thread that suspends again lets the loop go on; any other outcome is
-- suspend's, and the loop returns what suspend returns.
local dispatch_wakeup

-- The "resume" trace line of a woken traced thread (the loop calls it while tracing is on).
local function trace_resume(co)
    local tag = session_coroutine_tracetag[co]
    if tag then
        ctrace(tag, "resume")
    end
end

local function push_error(session)
    local t = S[ERR_TAIL] + 1
    S[ERR_TAIL] = t
    error_queue[t] = session
    S[BUSY] = true
end

function suspend(co, ok, cmd)
    -- whatever ran was resumed, so no message is being unpacked any more
    S[UNPACKING] = nil
    if ok then
        if cmd == "SUSPEND" then
            if S[WAKE_HEAD] <= S[WAKE_TAIL] or S[ERR_HEAD] <= S[ERR_TAIL] then
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
    S[BUSY] = true
    local tb = traceback(co, tostring(cmd))
    -- closing runs the thread's to-be-closed variables
    coclose(co)
    error(tb, 0)
end

dispatch_wakeup = dispatcher.wake_loop(S, wakeup_queue, error_queue, sleep_session, session_id_coroutine,
    suspend, cresume, trace_resume)

---------------------------------------------------------------------------------------------------
-- Sending, calling, answering

function skynet.address(addr)
    if type(addr) == "number" then
        return string_format(":%08x", addr)
    end
    return tostring(addr)
end

-- skynet itself fails with "attempt to index a nil value" here; name the protocol instead.
local function unknown_protocol(typename)
    error("unknown protocol " .. tostring(typename), 3)
end

function skynet.rawsend(addr, typename, msg, sz)
    local p = proto[typename]
    if p == nil then
        unknown_protocol(typename)
    end
    return csend(addr, p.id, 0, msg, sz)
end

function skynet.redirect(dest, source, typename, ...)
    local p = proto[typename]
    if p == nil then
        unknown_protocol(typename)
    end
    return c.redirect(dest, source, p.id, ...)
end

skynet.genid = auxgenid
skynet.pack = c.pack
skynet.unpack = c.unpack
skynet.packstring = c.packstring
skynet.tostring = c.tostring
skynet.trash = c.trash

local function yield_call(addr, session)
    watching_session[session] = addr
    session_id_coroutine[session] = S[RUNNING]
    local ok, msg, sz = coyield "SUSPEND"
    watching_session[session] = nil
    if not ok then
        error "call failed"
    end
    return msg, sz
end

function skynet.context()
    local co = S[RUNNING]
    return session_coroutine_id[co], session_coroutine_address[co]
end

function skynet.ignoreret()
    session_coroutine_id[S[RUNNING]] = nil
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
-- Message dispatch

-- Tracing decisions for a request; only when the protocol has a trace flag or a trace tag was sent.
local function trace_request(co, p, source)
    local traceflag = p.trace
    if traceflag == false then
        if trace_source[source] ~= nil then
            trace_source[source] = nil
            trace_pending = trace_pending - 1
        end
        S[TRACING] = true
        session_coroutine_tracetag[co] = false
    else
        local tag = trace_source[source]
        if tag then
            trace_source[source] = nil
            trace_pending = trace_pending - 1
            ctrace(tag, "request")
            S[TRACING] = true
            session_coroutine_tracetag[co] = tag
        elseif traceflag then
            S[RUNNING] = co
            skynet.trace()
        end
    end
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
        if S[TRACING] then
            local tag = session_coroutine_tracetag[co]
            if tag then
                ctrace(tag, "resume")
            end
        end
        S[RUNNING] = co
        return suspend(co, cresume(co, true, msg, sz, session))
    end

    if prototype == PTYPE_SYSTEM and watch_message and watch_message(msg, sz, source) then
        return
    end

    local p = proto[prototype]
    if p == nil then
        if prototype == PTYPE_TRACE then
            if trace_source[source] == nil then
                trace_pending = trace_pending + 1
            end
            S[TRACING] = true   -- from now on the C++ dispatcher leaves every message to us
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
        if trace_source[source] ~= nil then
            trace_source[source] = nil
            trace_pending = trace_pending - 1
        end
        if session ~= 0 then
            csend(source, PTYPE_ERROR, session, "")
        else
            unknown_request(session, source, msg, sz, p.name)
        end
        return
    end

    -- co_get, written out
    local n = #coroutine_pool
    local co = coroutine_pool[n]
    if co then
        coroutine_pool[n] = nil
    else
        co = cocreate(pooled_entry)
    end
    session_coroutine_id[co] = session
    session_coroutine_address[co] = source
    if trace_pending > 0 or p.trace ~= nil then
        trace_request(co, p, source)
    end
    -- until suspend clears it, an error means p.unpack failed (see dispatch_message)
    S[UNPACKING] = co
    S[RUNNING] = co
    return suspend(co, cresume(co, f, session, source, p.unpack(msg, sz)))
end

-- The request thread co is handling will never be answered: its requester gets an error (unless it was
-- a send) and the thread's request bookkeeping goes.
local function fail_request(co)
    local session = session_coroutine_id[co]
    if session and session ~= 0 then
        csend(session_coroutine_address[co], PTYPE_ERROR, session, "")
    end
    session_coroutine_id[co] = nil
    session_coroutine_address[co] = nil
    session_coroutine_tracetag[co] = nil
end

-- The message could not be unpacked: answer the requester and drop the thread.
local function abort_unpacking()
    local co = S[UNPACKING]
    S[UNPACKING] = nil
    fail_request(co)
    coclose(co)
end

local function join_error(ok, err, more)
    if ok then
        return false, tostring(more)
    end
    return false, tostring(err) .. "\n" .. tostring(more)
end

-- Forks run after the handler yielded or finished, first in first out; so do the wakeups that an
-- error left behind.  Errors of all of them are joined to the handler's.
-- Starts queued forks until none is left.  A fork that dies makes suspend raise, which ends this
-- loop; run_forks then serves the wakeups left behind and starts the loop again.
local function fork_loop()
    while S[FORK_HEAD] <= S[FORK_TAIL] do
        local h = S[FORK_HEAD]
        local co, body = fork_queue[h], fork_body[h]
        fork_queue[h] = nil
        fork_body[h] = nil
        if h == S[FORK_TAIL] then
            S[FORK_HEAD], S[FORK_TAIL] = 1, 0
        else
            S[FORK_HEAD] = h + 1
        end
        S[RUNNING] = co
        suspend(co, cresume(co, body))
    end
end

local function run_forks(ok, err)
    while true do
        if flush_pending then
            flush_pending = false
            local fok, ferr = pcall(dispatch_wakeup)
            if not fok then
                ok, err = join_error(ok, err, ferr)
            end
        elseif S[FORK_HEAD] <= S[FORK_TAIL] then
            local fok, ferr = pcall(fork_loop)
            if not fok then
                ok, err = join_error(ok, err, ferr)
            end
        else
            break
        end
    end
    S[FORK_HEAD], S[FORK_TAIL] = 1, 0
    return ok, err
end

-- What follows a message's handling, failed or not: a request whose unpack failed is answered, queued
-- forks and left-over wakeups run, and any error raised (joined) for snlua to log.
local function finish_message(ok, err)
    if not ok and S[UNPACKING] then
        abort_unpacking()
    end
    if flush_pending or S[FORK_HEAD] <= S[FORK_TAIL] then
        ok, err = run_forks(ok, err)
    end
    if not ok then
        error(tostring(err), 0)
    end
end

local function dispatch_message(prototype, msg, sz, session, source)
    return finish_message(pcall(raw_dispatch_message, prototype, msg, sz, session, source))
end
skynet.dispatch_message = dispatch_message

-- The callback of skynet.start is skynet.dispatcher (lua_dispatch.cpp): it does in C++ what
-- raw_dispatch_message does for a response to a waiting thread and for a request with a dispatch
-- function, and gives every other message to dispatch_message.  It shares the scalars of S.

-- After a thread the fast path resumed suspended: the wakeups and errors it queued (what suspend does
-- on "SUSPEND"), then what dispatch_message does after its pcall.
local function dispatch_pending()
    local ok, err = true, nil
    if S[WAKE_HEAD] <= S[WAKE_TAIL] or S[ERR_HEAD] <= S[ERR_TAIL] then
        ok, err = pcall(dispatch_wakeup)
    end
    -- forks queued from here on set it again: at worst one more call that finds nothing to do
    S[BUSY] = false
    return finish_message(ok, err)
end

local fast_dispatch = dispatcher.new(S, dispatch_message, suspend,
    finish_message, dispatch_pending, proto, coroutine_pool, session_id_coroutine, session_coroutine_id,
    session_coroutine_address, pooled_entry)

---------------------------------------------------------------------------------------------------
-- Scheduling

-- While trace_timeout is on, S[TIMEOUT_TRACEBACK] maps each skynet.timeout thread to where it was set,
-- in skynet's wording: when, for how long, and the stack of whoever set it.  Called by the C timeout,
-- whose frame sits between this function and that caller.
S[NOTE_TIMEOUT] = function(co, ti)
    S[TIMEOUT_TRACEBACK][co] = traceback(string_format("TIMER %d+%s : ", c.now(), math.tointeger(ti) or ti), 3)
end

function skynet.trace_timeout(on)
    if on then
        S[TIMEOUT_TRACEBACK] = S[TIMEOUT_TRACEBACK] or setmetatable({}, { __mode = "k" })
    else
        S[TIMEOUT_TRACEBACK] = false
    end
end

-- The scheduler API in C (lua_api.cpp): send, call, ret, retpack, fork, wakeup, timeout, sleep, yield.
for name, f in pairs(dispatcher.api(S)) do
    skynet[name] = f
end

-- skynet.wait is skynet.dispatcher.wait (C) below; this is what it does, and it does it this way itself
-- while sessions are near the wrap (careful mode) or a thread is traced.  It is only ever called by
-- that C function, whose frame sits between it and the caller of skynet.wait.
local function lua_wait(token)
    local session = auxgenid()
    token = token or corunning()
    if sleep_session[token] ~= nil then
        error("token duplicative", 3)
    end
    local co = S[RUNNING]
    if S[TRACING] then
        local tag = session_coroutine_tracetag[co]
        if tag then
            ctrace(tag, "sleep", 3)   -- from the caller of skynet.wait, past the C frame
        end
    end
    session_id_coroutine[session] = co
    sleep_session[token] = session
    wait_token[token] = session
    coyield "SUSPEND"
    wait_token[token] = nil
    sleep_session[token] = nil
    session_id_coroutine[session] = nil
end

skynet.wait = dispatcher.wait(S, session_id_coroutine, sleep_session, wait_token, lua_wait, enter_careful)

-- Takes a fork that has not started yet out of the queue (skynet.killthread).
local function unfork(thread)
    local tail = S[FORK_TAIL]
    for i = S[FORK_HEAD], tail do
        if fork_queue[i] == thread then
            table_move(fork_queue, i + 1, tail, i)
            table_move(fork_body, i + 1, tail, i)
            fork_queue[tail] = nil
            fork_body[tail] = nil
            S[FORK_TAIL] = tail - 1
            return true
        end
    end
    return false
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

skynet.error = c.error

function skynet.getenv(key)
    return (c.command("GETENV", key))
end

skynet.pcall = pcall

---------------------------------------------------------------------------------------------------
-- Services

function skynet.newservice(name, ...)
    return skynet.call(".launcher", "lua", "LAUNCH", "snlua", name, ...)
end

-- Answers every request still held and tells every service being called that we are gone, so
-- nobody waits for us forever.  Shared by skynet.exit and the kill hook.
local function abandon_all()
    for i = S[FORK_HEAD], S[FORK_TAIL] do
        fork_queue[i] = nil
        fork_body[i] = nil
    end
    S[FORK_HEAD], S[FORK_TAIL] = 1, 0
    for co, session in pairs(session_coroutine_id) do
        local addr = session_coroutine_address[co]
        if session ~= 0 and addr then
            csend(addr, PTYPE_ERROR, session, "")
        end
        -- answered now: a to-be-closed handler calling ret later must find no session
        session_coroutine_id[co] = nil
    end
    for _, co in pairs(session_id_coroutine) do
        if type(co) == "thread" and co ~= S[RUNNING] then
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
    c.callback(fast_dispatch)
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
        S[RUNNING] = nil
        abandon_all()
    end)
end

---------------------------------------------------------------------------------------------------
-- Lazy parts.  Most services never call skynet.request, watch, killthread, trace and the like;
-- their code (lualib/skynet/lazy/) is loaded the first time one of their names is read, so an idle
-- service holds only what it uses.  They share the scheduler state through this table.

local internal = {
    c = c,
    proto = proto,
    session_id_coroutine = session_id_coroutine,
    session_coroutine_id = session_coroutine_id,
    session_coroutine_address = session_coroutine_address,
    session_coroutine_tracetag = session_coroutine_tracetag,
    unresponse = unresponse,
    sleep_session = sleep_session,
    wait_token = wait_token,
    watching_session = watching_session,
    auxsend = auxsend,
    auxtimeout = auxtimeout,
    yield_call = yield_call,
    cresume = cresume,
    unfork = unfork,
    fail_request = fail_request,
    -- lazy/trace.lua calls this before it gives a thread its first tag
    start_tracing = function() S[TRACING] = true end,
    running = function() return S[RUNNING] end,
    init_thread = function() return init_thread end,
    timeout_traceback = function() return S[TIMEOUT_TRACEBACK] or nil end,
}

local lazy_part = {
    response = "response", rawcall = "response", tracecall = "response",
    request = "request",
    watch = "watch", unwatch = "watch",
    task = "tasks", uniqtask = "tasks", killthread = "tasks",
    trace = "trace", tracetag = "trace", tracelog = "trace", traceproto = "trace",
    query = "node", register = "node", name = "node", harbor = "node", setenv = "node", endless = "node",
    mqlen = "node", stat = "node", memlimit = "node", uniqueservice = "node", queryservice = "node",
    info_func = "debug",
}

-- The debug protocol (PTYPE_DEBUG) answers every service's console commands; its handler is loaded
-- with the first debug message, or when skynet.info_func is set.
local function load_debug()
    local dispatch = require("skynet.debug").init(skynet, {
        dispatch = dispatch_message,
        suspend = suspend,
        resume = resume,
    })
    local p = proto.debug
    if p.lazy then
        p.lazy = nil
        p.dispatch = dispatch
    end
end

local function install(part)
    if part == "debug" then
        load_debug()
        return
    end
    require("skynet.lazy." .. part)(skynet, internal)
    if part == "watch" then
        watch_message = internal.watch_message
    end
end

setmetatable(skynet, {
    __index = function(t, name)
        local part = lazy_part[name]
        if part == nil then
            return nil
        end
        install(part)
        return rawget(t, name)
    end,
})

skynet.register_protocol {
    name = "debug",
    id = skynet.PTYPE_DEBUG,
    pack = c.pack,
    unpack = c.unpack,
    lazy = true,
    dispatch = function(...)
        load_debug()
        return proto.debug.dispatch(...)
    end,
}

return skynet
