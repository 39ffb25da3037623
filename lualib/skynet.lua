-- The skynet service API (spec §1.2, §3, §8), written over the C++ boundary `skynet.core`.
--
-- Every service runs its Lua code in coroutines driven by one message callback.  The tables below
-- are the whole scheduler state; nothing is global.  What nearly every message needs is in C
-- (skynet.dispatcher: the message callback, the pooled threads' body, wakeups, wait, and send, call,
-- ret, fork, timeout, sleep); this file holds the scheduler's state and what ties it together, and
-- the rest of the API is in lazy parts (lualib/skynet/lazy/) that a service loads when it first uses
-- them.  Every Lua function here is a prototype in every service's state, so what is rarely run lives
-- there instead (docs/core-boundary.md).

local c = require "skynet.core"
local profile = require "skynet.profile"

local pcall = pcall
local error = error
local tostring = tostring

-- snlua swaps coroutine.resume for a CPU-profiling version; take whichever is the real one now.
local cresume = profile.resume or coroutine.resume
local coclose = coroutine.close

local PTYPE_RESPONSE = 1
local PTYPE_ERROR = 7

local skynet = {
    PTYPE_TEXT = 0,
    PTYPE_RESPONSE = PTYPE_RESPONSE,
    PTYPE_MULTICAST = 2,
    PTYPE_CLIENT = 3,
    PTYPE_SYSTEM = 4,
    PTYPE_HARBOR = 5,
    PTYPE_SOCKET = 6,
    PTYPE_ERROR = PTYPE_ERROR,
    PTYPE_QUEUE = 8,
    PTYPE_DEBUG = 9,
    PTYPE_LUA = 10,
    PTYPE_SNAX = 11,
    PTYPE_TRACE = 12,
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

-- What the lazy parts share with this file (filled in below): the tables, S and its slot numbers, and
-- the functions they define for each other.  Reading a name a part defines loads that part.
local I = {}

-- The state the C side (skynet.dispatcher: lua_dispatch.cpp and its neighbours) shares with this file,
-- in one table it reads and writes by index (the order is its contract, scheduler_shared.h): cheaper
-- for it than a closure's upvalues, whose look-up also touches the function's prototype, a cache miss
-- per message in a service that was idle for a while.
-- S[RUNNING]: the skynet thread resumed last (user coroutines run inside it).
-- S[UNPACKING]: the request thread whose message is being unpacked.
-- S[TRACING]: set for good once any thread gets a trace tag (or `false`); until then the hot paths
--   skip the session_coroutine_tracetag look-ups, and the dispatcher handles every message it can.
-- S[BUSY]: set whenever a wakeup, an error or a fork is queued (or S[FLUSH] set): the dispatcher
--   calls back into Lua after a message only while it is true.
-- S[WAKE_HEAD], S[WAKE_TAIL], S[ERR_HEAD], S[ERR_TAIL], S[FORK_HEAD], S[FORK_TAIL]: the indexes of the
--   wakeup, error and fork queues.  The first two are served by dispatch_wakeup (skynet.dispatcher.wake_loop,
--   in C); skynet.fork (C) pushes to the third.
-- S[CAREFUL]: sessions are near the 2^31 wrap; allocation goes through lazy/sessions.lua.
-- S[12] .. S[23]: the tables and the pooled threads' body, for the C functions.
-- S[INTERNAL]: I, where the C functions find the Lua functions of the unusual cases by name.
-- S[TIMEOUT_TRACEBACK]: thread -> where skynet.timeout was called, while trace_timeout is on; else false.
-- S[FLUSH]: an error unwound a chain of resumptions: queued wakeups and errors still have to be served.
local RUNNING <const> = 1
local UNPACKING <const> = 2
local TRACING <const> = 3
local BUSY <const> = 4
local WAKE_HEAD <const> = 5
local WAKE_TAIL <const> = 6
local ERR_HEAD <const> = 7
local ERR_TAIL <const> = 8
local FORK_HEAD <const> = 10
local FORK_TAIL <const> = 11
local POOLED_ENTRY <const> = 23
local FLUSH <const> = 27
local S = {
    nil, nil, false, false, 1, 0, 1, 0, false, 1, 0,
    proto, session_id_coroutine, session_coroutine_id, session_coroutine_address, session_coroutine_tracetag,
    watching_session, sleep_session, wakeup_queue, fork_queue, fork_body, coroutine_pool,
    false,   -- POOLED_ENTRY, set below
    I, c.trace, false, false,
}

local init_thread = nil
local suspend   -- forward declaration: suspend and the dispatchers call each other

local function resume(co, ...)
    S[RUNNING] = co
    return cresume(co, ...)
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

-- A task ended: its request bookkeeping goes.  The pooled threads' body (pooled_entry) does the plain
-- case itself and calls this for the rest.
local function release(co, body)
    local session = session_coroutine_id[co]
    if session then
        if session ~= 0 then
            I.forgot_response(co, session, body)
        end
        session_coroutine_id[co] = nil
    end
    session_coroutine_address[co] = nil
    if S[TRACING] and session_coroutine_tracetag[co] ~= nil then
        I.end_trace(co)
    end
end

-- The function every pooled thread runs (skynet.dispatcher.pooled_entry, in C): called as
-- (body, args...), it runs body(args...), releases the task, appends the thread to coroutine_pool and
-- yields "SUSPEND"; the next resume(co, body, args...) starts the next task on the same stack.
local dispatcher = require "skynet.dispatcher"
local pooled_entry = dispatcher.pooled_entry(session_coroutine_id, session_coroutine_address,
    coroutine_pool, S, release)
S[POOLED_ENTRY] = pooled_entry

---------------------------------------------------------------------------------------------------
-- Wakeups and errors are served whenever a thread suspends (spec §3.6).

-- Serves the wakeup queue, then the error queue: skynet.dispatcher.wake_loop (C), made below once
-- suspend exists.  A woken thread gets (false, "BREAK", nil, session) and its session is left as "BREAK"
-- (its timer, if any, still fires and the answer is dropped); a thread whose call failed gets
-- (false, nil, nil, session).  A thread that suspends again lets the loop go on; any other outcome is
-- suspend's, and the loop returns what suspend returns.
local dispatch_wakeup

-- What a resumed skynet thread's outcome asks for.  A thread that died, or yielded anything else than
-- the commands below, is lazy/errors.lua's: it answers the requester and raises.
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
        elseif cmd == nil then
            -- a bare coroutine.yield() in a skynet thread: it stays parked (debug hooks do this)
            return
        end
    end
    return I.thread_failed(co, ok, cmd)
end

dispatch_wakeup = dispatcher.wake_loop(S, wakeup_queue, error_queue, sleep_session, session_id_coroutine,
    suspend, cresume)

---------------------------------------------------------------------------------------------------
-- Message dispatch

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
        if S[FLUSH] then
            S[FLUSH] = false
            local fok, ferr = pcall(dispatch_wakeup)
            if not fok then
                ok, err = I.join_error(ok, err, ferr)
            end
        elseif S[FORK_HEAD] <= S[FORK_TAIL] then
            local fok, ferr = pcall(fork_loop)
            if not fok then
                ok, err = I.join_error(ok, err, ferr)
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
        I.abort_unpacking()
    end
    if S[FLUSH] or S[FORK_HEAD] <= S[FORK_TAIL] then
        ok, err = run_forks(ok, err)
    end
    if not ok then
        error(tostring(err), 0)
    end
end

-- A whole message the Lua way (lazy/dispatch.lua's raw_dispatch_message).
local function dispatch_message(prototype, msg, sz, session, source)
    return finish_message(pcall(I.raw_dispatch_message, prototype, msg, sz, session, source))
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
-- The scheduler API in C (lua_api.cpp, lua_wakeup.cpp): send, call, ret, retpack, fork, wakeup,
-- timeout, sleep, yield, wait.  The C functions of skynet.core that are skynet API as they are.

for name, f in pairs(dispatcher.api(S)) do
    skynet[name] = f
end
skynet.wait = dispatcher.wait(S, session_id_coroutine, sleep_session, wait_token)

skynet.now = c.now
skynet.hpc = c.hpc
skynet.error = c.error
skynet.pcall = pcall
skynet.pack = c.pack
skynet.unpack = c.unpack
skynet.packstring = c.packstring
skynet.tostring = c.tostring
skynet.trash = c.trash

-- Used by most services, and by every one on its way out: kept here so that exiting loads no more.
local self_handle
function skynet.self()
    if not self_handle then
        self_handle = c.addresscommand "REG"
    end
    return self_handle
end

---------------------------------------------------------------------------------------------------
-- Starting a service

skynet.init = skynet_require.init

function skynet.init_service(start)
    local ok, err = xpcall(function()
        skynet_require.init_all()
        start()
    end, debug.traceback)
    if not ok then
        c.error("init service failed: " .. tostring(err))
        skynet.send(".launcher", "lua", "ERROR")
        I.exit_service("error")
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
-- Lazy parts.  Most services never call skynet.request, watch, killthread, trace and the like, and
-- rarely meet an unknown session or a dying thread; that code (lualib/skynet/lazy/) is loaded the first
-- time one of its names is read from `skynet` (the API) or from I (what the parts define for this file
-- and for each other), so an idle service holds only what it uses.

I.c = c
I.S = S
I.slot = {
    RUNNING = RUNNING, UNPACKING = UNPACKING, TRACING = TRACING, BUSY = BUSY, ERR_TAIL = ERR_TAIL,
    CAREFUL = 9, FORK_HEAD = FORK_HEAD, FORK_TAIL = FORK_TAIL, TIMEOUT_TRACEBACK = 26, FLUSH = FLUSH,
}
I.proto = proto
I.session_id_coroutine = session_id_coroutine
I.session_coroutine_id = session_coroutine_id
I.session_coroutine_address = session_coroutine_address
I.session_coroutine_tracetag = session_coroutine_tracetag
I.unresponse = unresponse
I.sleep_session = sleep_session
I.wait_token = wait_token
I.watching_session = watching_session
I.error_queue = error_queue
I.fork_queue = fork_queue
I.fork_body = fork_body
I.coroutine_pool = coroutine_pool
I.pooled_entry = pooled_entry
I.suspend = suspend
I.release = release
I.cresume = cresume
I.init_thread = function() return init_thread end

-- part -> the names it defines, each between commas: the API's (read from `skynet`), and those it defines
-- in I.  Kept as strings, searched only when a name is missing: a table of every name would cost each
-- service a few KB.
local api_names = {
    response = ",response,rawcall,tracecall,",
    request = ",request,",
    watch = ",watch,unwatch,",
    tasks = ",task,uniqtask,killthread,",
    trace = ",trace,tracetag,tracelog,traceproto,trace_timeout,",
    node = ",query,register,name,harbor,setenv,endless,mqlen,stat,memlimit,uniqueservice,queryservice,"
        .. "address,context,ignoreret,genid,rawsend,redirect,starttime,time,localname,getenv,newservice,",
    dispatch = ",dispatch_unknown_request,dispatch_unknown_response,",
    errors = ",term,",
    exit = ",exit,",
    debug = ",info_func,",
}
local internal_names = {
    sessions = ",free_session,enter_careful,careful_timeout,auxsend,auxtimeout,auxgenid,yield_call,lua_wait,",
    dispatch = ",raw_dispatch_message,",
    errors = ",error_dispatch,forgot_response,fail_request,abort_unpacking,join_error,thread_failed,",
    exit = ",abandon_all,exit_service,",
    trace = ",end_trace,trace_resume,note_timeout,",
}

-- The debug protocol (PTYPE_DEBUG) answers every service's console commands; its handler (skynet.debug)
-- is loaded with the first debug message, or when skynet.info_func is set.
local function install_debug(debug_module)
    local dispatch = debug_module.init(skynet, {
        dispatch = dispatch_message,
        suspend = suspend,
        resume = resume,
        internal = I,
    })
    local p = proto.debug
    if p.lazy then
        p.lazy = nil
        p.dispatch = dispatch
    end
end

-- A part's module is found next to this file rather than through package.path: a service that changed
-- package.path must still be able to fail a request or exit.
local lib_dir = nil
local function load_part(part)
    local name = part == "debug" and "skynet.debug" or "skynet.lazy." .. part
    local m = package.loaded[name]
    if m == nil then
        if lib_dir == nil then
            lib_dir = debug.getinfo(load_part, "S").source:match("^@(.-)[^/]*$") or false
        end
        local filename = lib_dir and lib_dir .. name:gsub("%.", "/") .. ".lua"
        local chunk = filename and loadfile(filename)
        if chunk then
            m = chunk(name, filename) or true
            package.loaded[name] = m
        else
            m = require(name)   -- this file was not loaded from a file: package.path, and its messages
        end
    end
    if part == "debug" then
        install_debug(m)
    else
        m(skynet, I)
    end
end

-- The error and exit paths are parts too: skynet.memlimit loads them at once, because a service at its
-- limit cannot load code and must still answer its requesters.
local function lazy_index(names)
    return function(t, name)
        if type(name) ~= "string" then
            return nil
        end
        local key = "," .. name .. ","
        for part, list in pairs(names) do
            if list:find(key, 1, true) then
                load_part(part)
                return rawget(t, name)
            end
        end
        return nil
    end
end

setmetatable(skynet, { __index = lazy_index(api_names) })
setmetatable(I, { __index = lazy_index(internal_names) })

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
    dispatch = function(...) return I.error_dispatch(...) end,
}

skynet.register_protocol {
    name = "debug",
    id = skynet.PTYPE_DEBUG,
    pack = c.pack,
    unpack = c.unpack,
    lazy = true,
    dispatch = function(...)
        load_part("debug")
        return proto.debug.dispatch(...)
    end,
}

-- Killed from outside (spec §0.3): the core calls this before closing the state.
if c.killhook then
    c.killhook(function()
        -- runs in the main thread: no skynet thread is current
        S[RUNNING] = nil
        I.abandon_all()
    end)
end

return skynet
