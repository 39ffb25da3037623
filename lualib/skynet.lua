-- The skynet service API (spec §1.2, §3, §8), written over the C++ boundary `skynet.core`.
--
-- Every service runs its Lua code in coroutines driven by one message callback.  The tables below
-- are the whole scheduler state; nothing is global.  The scheduler's functions are C (skynet.dispatcher:
-- the message callback, the pooled threads' body, suspend, wakeups, forks, the API); this file makes
-- the state they share and ties them together, and the rest of the API is in lazy parts
-- (lualib/skynet/lazy/) that a service loads when it first uses them.  A Lua function here would be a
-- prototype in every service's state, undumped at every launch (docs/core-boundary.md).

local c = require "skynet.core"
local profile = require "skynet.profile"
local dispatcher = require "skynet.dispatcher"

local skynet = {
    PTYPE_TEXT = 0,
    PTYPE_RESPONSE = 1,
    PTYPE_MULTICAST = 2,
    PTYPE_CLIENT = 3,
    PTYPE_SYSTEM = 4,
    PTYPE_HARBOR = 5,
    PTYPE_SOCKET = 6,
    PTYPE_ERROR = 7,
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

-- snlua swaps coroutine.resume for a CPU-profiling version; take whichever is the real one now.
local cresume = profile.resume or coroutine.resume

---------------------------------------------------------------------------------------------------
-- Scheduler state

-- Kept by the snlua, where a call or a request would otherwise cost several table operations each
-- (session_table.h); the lazy parts see them as five tables, I.session_id_coroutine etc., made when a part
-- first reads one (skynet.dispatcher.sessions):
--   session_id_coroutine: session (allocated by us) -> the thread waiting for it, or "BREAK" when its
--     answer must be dropped;
--   watching_session: session of a pending call -> the address called; lets "service down" fail the
--     right calls;
--   session_coroutine_id, session_coroutine_address: thread handling a request -> the request's session
--     and source (the session is cleared once answered);
--   wait_token: token of a skynet.wait -> its session (what sleep_session has for the token, while the
--     session is marked a wait): nothing ever answers those, so killing the thread frees them.
-- session_anchors keeps their threads and named addresses alive.
local session_anchors = {}
-- thread -> trace tag (string), or false when tracing is forced off for it
local session_coroutine_tracetag = {}
-- open response() closures -> the address they answer
local unresponse = {}
-- sleep/wait token -> session it sleeps on
local sleep_session = {}

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
-- S[12] .. S[23]: the tables and the pooled threads' body.
-- S[INTERNAL]: I, where the C functions find the Lua functions of the unusual cases by name.
-- S[TIMEOUT_TRACEBACK]: thread -> where skynet.timeout was called, while trace_timeout is on; else false.
-- S[FLUSH]: an error unwound a chain of resumptions: queued wakeups and errors still have to be served.
-- S[SUSPEND] .. S[LIB_DIR]: the C functions, what they need of this file, and the folder of the lazy parts.
-- The scalars (TRACING, BUSY, the queue indexes, CAREFUL, FLUSH) are kept by the service's snlua, where the C
-- functions read them as plain values: their slots stay empty here, and S's metatable (set by
-- dispatcher.scheduler) reads and writes them for Lua code, so `S[BUSY] = true` works as for any slot.
local RUNNING <const> = 1
local UNPACKING <const> = 2
local TRACING <const> = 3
local BUSY <const> = 4
local POOLED_ENTRY <const> = 23
local DISPATCH_WAKEUP <const> = 29
local CALLBACK <const> = 34
local S = {
    nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil,   -- RUNNING, UNPACKING; 3..11 are the snlua's
    proto, session_anchors, nil, false, session_coroutine_tracetag,   -- 14: the snlua's; 15: unused
    false, sleep_session, wakeup_queue, fork_queue, fork_body, coroutine_pool,   -- 17: unused
    false,   -- POOLED_ENTRY, set below
    I, c.trace, false, nil,   -- FLUSH (27) is the snlua's
    false, false, false, false, false,   -- SUSPEND, DISPATCH_WAKEUP, FORK_LOOP, DISPATCH_MESSAGE, RESUME
    cresume,
    false,   -- CALLBACK
    skynet, skynet_require,
    false,   -- INIT_THREAD: the thread running start's function
    false,   -- LIB_DIR: set by dispatcher.service
}

local suspend, dispatch_message, finish_message, dispatch_pending, release = dispatcher.scheduler(S)

-- The function every pooled thread runs (skynet.dispatcher.pooled_entry, in C): called as
-- (body, args...), it runs body(args...), releases the task, appends the thread to coroutine_pool and
-- yields "SUSPEND"; the next resume(co, body, args...) starts the next task on the same stack.
local pooled_entry = dispatcher.pooled_entry(session_anchors, coroutine_pool, release)
S[POOLED_ENTRY] = pooled_entry

-- Serves the wakeup queue, then the error queue, whenever a thread suspends (spec §3.6).  A woken
-- thread gets (false, "BREAK", nil, session) and its session is left as "BREAK" (its timer, if any, still
-- fires and the answer is dropped); a thread whose call failed gets (false, nil, nil, session).
S[DISPATCH_WAKEUP] = dispatcher.wake_loop(S, wakeup_queue, error_queue, sleep_session, session_anchors,
    suspend, cresume)

-- The callback of skynet.start: the two cases that are nearly every message (a response to a waiting
-- thread, a request for a protocol with a dispatch function) in C, the rest through dispatch_message.
S[CALLBACK] = dispatcher.new(S, dispatch_message, finish_message, dispatch_pending, proto, coroutine_pool,
    session_anchors, pooled_entry)
skynet.dispatch_message = dispatch_message

-- send, call, ret, retpack, fork, wakeup, timeout, sleep, yield, wait; and skynet.core's functions that are
-- skynet API as they are.
for name, f in pairs(dispatcher.api(S)) do
    skynet[name] = f
end
skynet.wait = dispatcher.wait(S, session_anchors, sleep_session)

skynet.now = c.now
skynet.hpc = c.hpc
skynet.error = c.error
skynet.pcall = pcall
skynet.pack = c.pack
skynet.unpack = c.unpack
skynet.packstring = c.packstring
skynet.tostring = c.tostring
skynet.trash = c.trash
skynet.init = skynet_require.init

-- What the lazy parts share with this file and with each other.
I.c = c
I.S = S
I.slot = {
    RUNNING = RUNNING, UNPACKING = UNPACKING, TRACING = TRACING, BUSY = BUSY, ERR_TAIL = 8,
    CAREFUL = 9, FORK_HEAD = 10, FORK_TAIL = 11, POOL_TOP = 14, TIMEOUT_TRACEBACK = 26, FLUSH = 27,
    INIT_THREAD = 37,
}
I.proto = proto
I.session_coroutine_tracetag = session_coroutine_tracetag
I.unresponse = unresponse
I.sleep_session = sleep_session
I.error_queue = error_queue
I.fork_queue = fork_queue
I.fork_body = fork_body
I.coroutine_pool = coroutine_pool
I.pooled_entry = pooled_entry
I.suspend = suspend
I.release = release
I.cresume = cresume

-- register_protocol, dispatch, self, init_service, start; the lazy parts (found next to this file); the
-- built-in protocols lua, response, error and debug; the kill hook.
dispatcher.service(S)

return skynet
