// skynet.dispatcher: the message callback of a Lua service, with the two cases that are nearly every
// message done in C++ (docs/core-boundary.md, "The dispatch fast path"):
//   * a response whose session belongs to a waiting thread: that thread is resumed;
//   * a request for a protocol with a dispatch function: a pooled thread runs it.
// Everything else (unknown sessions, BREAK, watch and trace messages, traced or profiled threads, an
// empty thread pool, a thread that dies or yields anything but "SUSPEND", queued wakeups and forks) is
// handed to skynet.lua, which remains the definition of the behaviour; the fast path only skips the
// interpreter for the steps skynet.lua would take in those two cases, in the same order.
//
// skynet.lua's scheduler state stays in its own tables.  The few scalars both sides need are the slots of
// one small table, skynet.lua's `S`, read and written here by index.
#include <cstring>

#include "lua/builtin_modules.h"
#include "lua/snlua.h"

namespace skynet {

namespace {

// The slots of skynet.lua's S (its RUNNING, UNPACKING, TRACING, BUSY, WAKE_HEAD... constants).
enum state_slot : int {
    st_running_thread = 1,
    st_unpacking,
    st_tracing,   // true once any thread was traced or a trace tag arrived: everything goes to Lua
    st_busy,      // true while wakeups, errors or forks are queued (skynet.lua sets it when it queues them)
    st_wake_head,   // the wakeup queue's first and last index (empty when head > tail)
    st_wake_tail,
    st_err_head,    // the same for the error queue
    st_err_tail,
    st_careful,     // sessions are near the wrap: skynet.lua allocates them itself (its wait does)
    st_count = st_careful,
};

// Upvalues of the dispatcher closure: the arguments of skynet.dispatcher, after the snlua.
enum slot : int {
    slot_context = 1,             // the snlua (light userdata)
    slot_state,                   // S
    slot_fallback,                // dispatch_message: the whole message, the Lua way
    slot_suspend,                 // suspend(co, ok, ...)
    slot_finish,                  // finish_message(ok, err): what dispatch_message does after its pcall
    slot_pending,                 // dispatch_pending(): serves queued wakeups, errors and forks; raises on errors
    slot_proto,                   // proto
    slot_pool,                    // coroutine_pool
    slot_session_id_coroutine,    // session_id_coroutine
    slot_session_coroutine_id,    // session_coroutine_id
    slot_session_coroutine_address,
    slot_pooled_entry,            // the body of a new pooled thread (skynet.lua's pooled_entry)
    slot_dispatch_key,            // the string "dispatch"
    slot_trace_key,               // "trace"
    slot_unpack_key,              // "unpack"
    slot_count = slot_unpack_key,
};

constexpr int PTYPE_RESPONSE = 1;
constexpr int PTYPE_SYSTEM = 4;

// The callback's arguments, as snlua::dispatch pushes them.
enum arg : int { arg_type = 1, arg_msg, arg_size, arg_session, arg_source, arg_count = arg_source };

// S[n] = the value on top (popped).  S's slots are all in its array part, so this never allocates.
void set_state(lua_State* L, int n) { lua_rawseti(L, lua_upvalueindex(slot_state), n); }

bool state_true_at(lua_State* L, int state_index, int n) {
    lua_rawgeti(L, state_index, n);
    bool v = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

bool state_true(lua_State* L, int n) { return state_true_at(L, lua_upvalueindex(slot_state), n); }

// The whole message goes to skynet.lua's dispatch_message.
int fallback(lua_State* L) {
    lua_settop(L, arg_count);
    lua_pushvalue(L, lua_upvalueindex(slot_fallback));
    lua_insert(L, 1);
    lua_call(L, arg_count, 0);
    return 0;
}

// An error of unpack or suspend is on top: skynet.lua's finish_message(false, err) answers a request
// whose unpack failed, runs the forks and raises.
[[noreturn]] void failed(lua_State* L) {
    lua_pushvalue(L, lua_upvalueindex(slot_finish));
    lua_pushboolean(L, 0);
    lua_rotate(L, -3, 2);
    lua_call(L, 2, 0);
    lua_error(L);   // not reached: finish_message raises when given false
    __builtin_unreachable();
}

bool is_suspend(lua_State* co) {
    size_t len = 0;
    const char* s = lua_type(co, -1) == LUA_TSTRING ? lua_tolstring(co, -1, &len) : nullptr;
    return s && len == 7 && std::memcmp(s, "SUSPEND", 7) == 0;
}

// Resumes co (at index co_index of L) with the nargs values already on its stack, then does what
// skynet.lua's suspend would do with the result.
void resume_and_suspend(lua_State* L, snlua* l, int co_index, lua_State* co, int nargs) {
    lua_State* previous = l->active.exchange(co, std::memory_order_relaxed);
    int nres = 0;
    int status = lua_resume(co, L, nargs, &nres);
    l->active.store(previous, std::memory_order_relaxed);
    // A thread that parked itself, or a skynet.timeout thread that ended returning "SUSPEND": either way
    // suspend(co, true, "SUSPEND") only clears unpacking; queued wakeups are served below.
    if ((status == LUA_YIELD || status == LUA_OK) && nres == 1 && is_suspend(co)) {
        lua_pop(co, 1);
        lua_pushnil(L);
        set_state(L, st_unpacking);
        return;
    }
    // Anything else (an error, a thread that ended, another yield) is suspend's to judge.
    bool ok = status == LUA_OK || status == LUA_YIELD;
    int nvalues = ok ? nres : 1;
    if (!lua_checkstack(L, nvalues + 3)) luaL_error(L, "too many results to resume");
    lua_pushvalue(L, lua_upvalueindex(slot_suspend));
    lua_pushvalue(L, co_index);
    lua_pushboolean(L, ok);
    lua_xmove(co, L, nvalues);
    if (lua_pcall(L, nvalues + 2, 0, 0) != LUA_OK) failed(L);
}

// table[key] = value for a table held as an upvalue (the API takes the pseudo-index directly).
void set_field(lua_State* L, int table_slot, int key_index, int value_index) {
    lua_pushvalue(L, key_index);
    lua_pushvalue(L, value_index);
    lua_rawset(L, lua_upvalueindex(table_slot));
}

// Queued wakeups, errors and forks are skynet.lua's to serve.
int after_message(lua_State* L) {
    if (state_true(L, st_busy)) {
        lua_pushvalue(L, lua_upvalueindex(slot_pending));
        lua_call(L, 0, 0);
    }
    return 0;
}

int l_dispatch(lua_State* L) {
    auto* l = static_cast<snlua*>(lua_touserdata(L, lua_upvalueindex(slot_context)));
    lua_settop(L, arg_count);
    if (l->profiled > 0 || state_true(L, st_tracing)) return fallback(L);
    int type = int(lua_tointeger(L, arg_type));
    int co_index = 0;
    lua_State* co = nullptr;
    int nargs = 0;
    if (type == PTYPE_RESPONSE) {
        // skynet.lua: co = session_id_coroutine[session]; session_id_coroutine[session] = nil;
        // running_thread = co; suspend(co, cresume(co, true, msg, sz, session))
        lua_Integer session = lua_tointeger(L, arg_session);
        int table = lua_upvalueindex(slot_session_id_coroutine);
        if (lua_rawgeti(L, table, session) != LUA_TTHREAD) return fallback(L);   // unknown or BREAK
        co_index = arg_count + 1;
        co = lua_tothread(L, co_index);
        lua_pushnil(L);
        lua_rawseti(L, table, session);
        lua_pushvalue(L, co_index);
        set_state(L, st_running_thread);
        // true, msg, sz, session go straight onto the thread's stack
        if (!lua_checkstack(co, 4)) return luaL_error(L, "too many arguments to resume");
        lua_pushboolean(co, 1);
        if (lua_type(L, arg_msg) == LUA_TLIGHTUSERDATA)
            lua_pushlightuserdata(co, lua_touserdata(L, arg_msg));
        else
            lua_pushnil(co);
        lua_pushinteger(co, lua_tointeger(L, arg_size));
        lua_pushinteger(co, session);
        resume_and_suspend(L, l, co_index, co, 4);
        return after_message(L);
    } else {
        // Watch notices and protocols without a plain dispatch function are skynet.lua's.
        if (type == PTYPE_SYSTEM) return fallback(L);
        // skynet.lua: p = proto[type]; co from the pool; session_coroutine_id/address[co] = session/source;
        // unpacking = co; running_thread = co; suspend(co, cresume(co, p.dispatch, session, source, p.unpack(msg, sz)))
        if (lua_rawgeti(L, lua_upvalueindex(slot_proto), type) != LUA_TTABLE) return fallback(L);
        const int p = arg_count + 1;
        const int f = p + 1, unpack = p + 3;   // p + 2 holds p.trace, which must be nil
        // p.dispatch etc. as Lua reads them (metamethods included), with the keys kept interned
        lua_pushvalue(L, lua_upvalueindex(slot_dispatch_key));
        if (lua_gettable(L, p) != LUA_TFUNCTION) return fallback(L);
        lua_pushvalue(L, lua_upvalueindex(slot_trace_key));
        if (lua_gettable(L, p) != LUA_TNIL) return fallback(L);
        lua_pushvalue(L, lua_upvalueindex(slot_unpack_key));
        if (lua_gettable(L, p) != LUA_TFUNCTION) return fallback(L);
        // co_get: a parked thread, or a new one running pooled_entry
        int pool = lua_upvalueindex(slot_pool);
        lua_Integer n = lua_Integer(lua_rawlen(L, pool));
        co_index = unpack + 1;
        if (n > 0 && lua_rawgeti(L, pool, n) == LUA_TTHREAD) {
            co = lua_tothread(L, co_index);
            lua_pushnil(L);
            lua_rawseti(L, pool, n);
        } else {
            if (n > 0) lua_pop(L, 1);   // a hole left by the weak table: skynet.lua's co_get makes a thread too
            co = lua_newthread(L);
            lua_pushvalue(L, lua_upvalueindex(slot_pooled_entry));
            lua_xmove(L, co, 1);
        }
        set_field(L, slot_session_coroutine_id, co_index, arg_session);
        set_field(L, slot_session_coroutine_address, co_index, arg_source);
        lua_pushvalue(L, co_index);
        set_state(L, st_unpacking);
        lua_pushvalue(L, co_index);
        set_state(L, st_running_thread);
        lua_pushvalue(L, f);
        lua_pushvalue(L, arg_session);
        lua_pushvalue(L, arg_source);
        lua_pushvalue(L, unpack);
        lua_pushvalue(L, arg_msg);
        lua_pushvalue(L, arg_size);
        if (lua_pcall(L, 2, LUA_MULTRET, 0) != LUA_OK) failed(L);
        nargs = lua_gettop(L) - co_index;   // f, session, source and what unpack gave
    }
    if (!lua_checkstack(co, nargs)) {
        // as an unpack failure: the requester gets an error and the thread is dropped
        lua_pushliteral(L, "too many arguments to resume");
        failed(L);
    }
    lua_xmove(L, co, nargs);
    resume_and_suspend(L, l, co_index, co, nargs);
    return after_message(L);
}

// ---- The body of a pooled thread ---------------------------------------------------------------------
// skynet.lua's pooled_run, in C with continuations: a pooled thread is resumed as (body, args...), calls
// body(args...), drops the request's bookkeeping, parks itself in coroutine_pool and yields "SUSPEND"; the
// next resume brings the next body.  Done in C, a task costs no vararg Lua frames and no tail call.  Any
// bookkeeping beyond the plain case (a request left unanswered, a traced thread) is skynet.lua's
// release(co, body), so the messages and traces stay the Lua side's.
enum pooled_slot : int {
    ps_session_coroutine_id = 1,
    ps_session_coroutine_address,
    ps_pool,
    ps_state,     // S
    ps_release,   // release(co, body)
    ps_suspend,   // the string "SUSPEND" (pushing an upvalue costs no string hashing)
    ps_count = ps_suspend,
};

int pooled_start(lua_State* co);

// A new task, after the thread was parked: the resume's values (body, args...) are the stack.
int pooled_resumed(lua_State* co, int, lua_KContext) { return pooled_start(co); }

// body returned: stack = [body].
int pooled_done(lua_State* co, int, lua_KContext) {
    lua_settop(co, 1);
    lua_pushthread(co);   // 2: co
    const int id = lua_upvalueindex(ps_session_coroutine_id);
    const int address = lua_upvalueindex(ps_session_coroutine_address);
    lua_pushvalue(co, 2);
    bool plain = true;
    if (lua_rawget(co, id) != LUA_TNIL) {
        // a session left: 0 (a send, nobody waits) is plain; anything else was never answered
        plain = lua_type(co, -1) == LUA_TNUMBER && lua_tonumber(co, -1) == 0;
    }
    lua_pop(co, 1);
    if (plain) {
        lua_rawgeti(co, lua_upvalueindex(ps_state), st_tracing);
        plain = !lua_toboolean(co, -1);
        lua_pop(co, 1);
    }
    if (plain) {
        lua_pushvalue(co, 2);
        lua_pushnil(co);
        lua_rawset(co, id);
        lua_pushvalue(co, 2);
        lua_pushnil(co);
        lua_rawset(co, address);
    } else {
        lua_pushvalue(co, lua_upvalueindex(ps_release));
        lua_pushvalue(co, 2);
        lua_pushvalue(co, 1);
        lua_call(co, 2, 0);
    }
    // coroutine_pool[#coroutine_pool + 1] = co (a weak table without __len or __newindex)
    const int pool = lua_upvalueindex(ps_pool);
    lua_Integer n = lua_Integer(lua_rawlen(co, pool));
    lua_rawseti(co, pool, n + 1);   // pops co
    lua_settop(co, 0);
    lua_pushvalue(co, lua_upvalueindex(ps_suspend));
    return lua_yieldk(co, 1, 0, pooled_resumed);
}

// stack = [body, args...]
int pooled_start(lua_State* co) {
    int nargs = lua_gettop(co) - 1;
    if (nargs < 0) return luaL_error(co, "a pooled thread resumed without a body");
    lua_pushvalue(co, 1);
    lua_insert(co, 2);   // body stays at 1 for release's "Maybe forgot response" line
    lua_callk(co, nargs, 0, 0, pooled_done);
    return pooled_done(co, LUA_OK, 0);
}

// pooled_entry(session_coroutine_id, session_coroutine_address, coroutine_pool, S, release) -> the function
// a pooled thread is created with.
int l_pooled_entry(lua_State* L) {
    for (int i = 1; i <= 4; ++i) luaL_checktype(L, i, LUA_TTABLE);
    luaL_checktype(L, 5, LUA_TFUNCTION);
    lua_settop(L, ps_release);
    lua_pushliteral(L, "SUSPEND");
    lua_pushcclosure(L, pooled_start, ps_count);
    return 1;
}

// ---- Serving queued wakeups and errors ---------------------------------------------------------------
// skynet.lua's dispatch_wakeup and dispatch_error_queue, with suspend's "SUSPEND" case, as one loop: a
// chain of wait/wakeup ping-pong stays in this loop instead of Lua's suspend -> dispatch_wakeup ->
// resume tail calls.  Every thread that ends any other way is handed to skynet.lua's suspend, as the Lua
// version does (`return suspend(co, resume(...))`), and the loop returns what it returns.
enum wake_slot : int {
    ws_context = 1,          // the snlua (light userdata)
    ws_state,                // S
    ws_wakeup_queue,
    ws_error_queue,
    ws_sleep_session,
    ws_session_id_coroutine,
    ws_suspend,              // suspend(co, ok, ...)
    ws_resume,               // profile.resume: used while a coroutine is profiled, for its accounting
    ws_trace_resume,         // trace_resume(co): the "resume" trace line of a traced thread
    ws_break,                // the string "BREAK"
    ws_count = ws_break,
};

lua_Integer state_int(lua_State* L, int n) {
    lua_rawgeti(L, lua_upvalueindex(ws_state), n);
    lua_Integer v = lua_tointeger(L, -1);
    lua_pop(L, 1);
    return v;
}

void set_state_int(lua_State* L, int n, lua_Integer v) {
    lua_pushinteger(L, v);
    lua_rawseti(L, lua_upvalueindex(ws_state), n);
}

// Takes the first entry of a queue (slots head/tail of S) onto the stack; false when it is empty.  A pop
// that empties the queue rewinds it to 1, 0.
bool pop_queue(lua_State* L, int queue_slot, int head_slot, int tail_slot) {
    lua_Integer head = state_int(L, head_slot), tail = state_int(L, tail_slot);
    if (head > tail) return false;
    const int queue = lua_upvalueindex(queue_slot);
    lua_rawgeti(L, queue, head);
    lua_pushnil(L);
    lua_rawseti(L, queue, head);
    if (head == tail) {
        set_state_int(L, head_slot, 1);
        set_state_int(L, tail_slot, 0);
    } else {
        set_state_int(L, head_slot, head + 1);
    }
    return true;
}

// Resumes the thread at index 1 with (false, reason, nil, session at index 2).  True when it suspended
// again ("SUSPEND"); otherwise the loop's result is suspend's, already on the stack from index 1 up.
bool wake_thread(lua_State* L, snlua* l, bool error_reply) {
    lua_pushvalue(L, 1);
    lua_rawseti(L, lua_upvalueindex(ws_state), st_running_thread);
    lua_State* co = lua_tothread(L, 1);
    if (l->profiled > 0) {
        // the profiler's resume does the accounting; its results are coroutine.resume's
        lua_pushvalue(L, lua_upvalueindex(ws_suspend));
        lua_pushvalue(L, 1);
        lua_pushvalue(L, lua_upvalueindex(ws_resume));
        lua_pushvalue(L, 1);
        lua_pushboolean(L, 0);
        if (error_reply) lua_pushnil(L); else lua_pushvalue(L, lua_upvalueindex(ws_break));
        lua_pushnil(L);
        lua_pushvalue(L, 2);
        lua_call(L, 5, LUA_MULTRET);
        // stack: co, session, suspend, co, ok, values...
        bool suspended = lua_gettop(L) == 6 && lua_toboolean(L, 5) && lua_type(L, 6) == LUA_TSTRING &&
                         std::strcmp(lua_tostring(L, 6), "SUSPEND") == 0;
        if (suspended) {
            lua_pushnil(L);
            lua_rawseti(L, lua_upvalueindex(ws_state), st_unpacking);
            return true;
        }
        lua_call(L, lua_gettop(L) - 3, LUA_MULTRET);
        lua_remove(L, 1);
        lua_remove(L, 1);
        return false;
    }
    if (!lua_checkstack(co, 4)) luaL_error(L, "too many arguments to resume");
    lua_pushboolean(co, 0);
    if (error_reply) {
        lua_pushnil(co);
    } else {
        lua_pushvalue(L, lua_upvalueindex(ws_break));
        lua_xmove(L, co, 1);
    }
    lua_pushnil(co);
    lua_pushinteger(co, lua_tointeger(L, 2));
    lua_State* previous = l->active.exchange(co, std::memory_order_relaxed);
    int nres = 0;
    int status = lua_resume(co, L, 4, &nres);
    l->active.store(previous, std::memory_order_relaxed);
    if ((status == LUA_YIELD || status == LUA_OK) && nres == 1 && is_suspend(co)) {
        lua_pop(co, 1);
        lua_pushnil(L);
        lua_rawseti(L, lua_upvalueindex(ws_state), st_unpacking);
        return true;
    }
    bool ok = status == LUA_OK || status == LUA_YIELD;
    int nvalues = ok ? nres : 1;
    if (!lua_checkstack(L, nvalues + 3)) luaL_error(L, "too many results to resume");
    lua_settop(L, 1);
    lua_pushvalue(L, lua_upvalueindex(ws_suspend));
    lua_insert(L, 1);   // suspend, co
    lua_pushboolean(L, ok);
    lua_xmove(co, L, nvalues);
    lua_call(L, nvalues + 2, LUA_MULTRET);
    return false;
}

int l_wake_loop(lua_State* L) {
    auto* l = static_cast<snlua*>(lua_touserdata(L, lua_upvalueindex(ws_context)));
    const int sleep_session = lua_upvalueindex(ws_sleep_session);
    const int session_id_coroutine = lua_upvalueindex(ws_session_id_coroutine);
    for (;;) {
        lua_settop(L, 0);
        bool error_reply = false;
        if (pop_queue(L, ws_wakeup_queue, st_wake_head, st_wake_tail)) {
            // token at 1: session = sleep_session[token]
            if (lua_rawget(L, sleep_session) == LUA_TNIL || !lua_toboolean(L, 1)) continue;
        } else if (pop_queue(L, ws_error_queue, st_err_head, st_err_tail)) {
            error_reply = true;   // session at 1
        } else {
            return 0;
        }
        // session at 1: co = session_id_coroutine[session]
        lua_pushvalue(L, 1);
        if (lua_rawget(L, session_id_coroutine) != LUA_TTHREAD) continue;
        lua_insert(L, 1);   // co, session
        if (!error_reply && state_true_at(L, lua_upvalueindex(ws_state), st_tracing)) {
            lua_pushvalue(L, lua_upvalueindex(ws_trace_resume));
            lua_pushvalue(L, 1);
            lua_call(L, 1, 0);
        }
        // a wakeup leaves "BREAK" (the timer, if any, still fires and its answer must be dropped); an
        // error reply takes the session out
        lua_pushvalue(L, 2);
        if (error_reply) lua_pushnil(L); else lua_pushvalue(L, lua_upvalueindex(ws_break));
        lua_rawset(L, session_id_coroutine);
        if (!wake_thread(L, l, error_reply)) return lua_gettop(L);
    }
}

// wake_loop(S, wakeup_queue, error_queue, sleep_session, session_id_coroutine, suspend, resume,
//           trace_resume) -> dispatch_wakeup
int l_wake_loop_new(lua_State* L) {
    for (int i = 1; i <= 5; ++i) luaL_checktype(L, i, LUA_TTABLE);
    for (int i = 6; i <= 8; ++i) luaL_checktype(L, i, LUA_TFUNCTION);
    if (lua_rawgeti(L, 1, st_wake_head) != LUA_TNUMBER || lua_rawgeti(L, 1, st_err_tail) != LUA_TNUMBER)
        return luaL_error(L, "skynet.dispatcher: S[%d..%d] must hold the queue indexes", st_wake_head,
                          st_err_tail);
    lua_settop(L, 8);
    lua_getfield(L, LUA_REGISTRYINDEX, "skynet_context");
    if (!lua_touserdata(L, -1)) return luaL_error(L, "Init skynet context first");
    lua_insert(L, 1);
    lua_pushliteral(L, "BREAK");
    lua_pushcclosure(L, l_wake_loop, ws_count);
    return 1;
}

// ---- skynet.wait ---------------------------------------------------------------------------------------
// skynet.lua's wait in C for the plain case: a session from the service's counter, the thread parked on it
// under its token, and the bookkeeping dropped when it is resumed (woken, or its session broken).  While
// sessions are near the wrap (careful mode) or a thread is traced, skynet.lua's wait does it all.
enum wait_slot : int {
    wt_context = 1,           // the snlua (light userdata)
    wt_state,                 // S
    wt_session_id_coroutine,
    wt_sleep_session,
    wt_wait_token,
    wt_lua_wait,              // skynet.lua's wait
    wt_enter_careful,         // enter_careful(session): called when a session reaches DANGER
    wt_suspend,               // the string "SUSPEND"
    wt_count = wt_suspend,
};

constexpr lua_Integer session_danger = 0x7fff0000;   // skynet.lua's DANGER

// After the yield: stack = [token, session, whatever the resume passed].
int wait_resumed(lua_State* L, int, lua_KContext) {
    lua_settop(L, 2);
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    lua_rawset(L, lua_upvalueindex(wt_wait_token));
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    lua_rawset(L, lua_upvalueindex(wt_sleep_session));
    lua_pushvalue(L, 2);
    lua_pushnil(L);
    lua_rawset(L, lua_upvalueindex(wt_session_id_coroutine));
    return 0;
}

// The continuation of a call whose results are the function's own.
int all_results(lua_State* L, int, lua_KContext) { return lua_gettop(L); }

int l_wait(lua_State* L) {
    const int state = lua_upvalueindex(wt_state);
    if (state_true_at(L, state, st_careful) || state_true_at(L, state, st_tracing)) {
        int n = lua_gettop(L);
        lua_pushvalue(L, lua_upvalueindex(wt_lua_wait));
        lua_insert(L, 1);
        lua_callk(L, n, LUA_MULTRET, 0, all_results);
        return lua_gettop(L);
    }
    lua_settop(L, 1);
    auto* l = static_cast<snlua*>(lua_touserdata(L, lua_upvalueindex(wt_context)));
    lua_Integer session = l->self().new_session();
    if (session >= session_danger) {
        lua_pushvalue(L, lua_upvalueindex(wt_enter_careful));
        lua_pushinteger(L, session);
        lua_call(L, 1, 0);
    }
    if (lua_isnil(L, 1)) {   // token = token or coroutine.running()
        lua_pushthread(L);
        lua_replace(L, 1);
    }
    lua_pushinteger(L, session);   // 2
    lua_pushvalue(L, 1);
    if (lua_rawget(L, lua_upvalueindex(wt_sleep_session)) != LUA_TNIL) return luaL_error(L, "token duplicative");
    lua_pop(L, 1);
    // session_id_coroutine[session] = S[RUNNING]; sleep_session[token] = session; wait_token[token] = session
    lua_pushvalue(L, 2);
    lua_rawgeti(L, state, st_running_thread);
    lua_rawset(L, lua_upvalueindex(wt_session_id_coroutine));
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 2);
    lua_rawset(L, lua_upvalueindex(wt_sleep_session));
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 2);
    lua_rawset(L, lua_upvalueindex(wt_wait_token));
    lua_pushvalue(L, lua_upvalueindex(wt_suspend));
    return lua_yieldk(L, 1, 0, wait_resumed);
}

// wait(S, session_id_coroutine, sleep_session, wait_token, lua_wait, enter_careful) -> skynet.wait
int l_wait_new(lua_State* L) {
    for (int i = 1; i <= 4; ++i) luaL_checktype(L, i, LUA_TTABLE);
    for (int i = 5; i <= 6; ++i) luaL_checktype(L, i, LUA_TFUNCTION);
    if (lua_rawgeti(L, 1, st_careful) != LUA_TBOOLEAN)
        return luaL_error(L, "skynet.dispatcher: S[%d] (careful) must be a boolean", st_careful);
    lua_settop(L, 6);
    lua_getfield(L, LUA_REGISTRYINDEX, "skynet_context");
    if (!lua_touserdata(L, -1)) return luaL_error(L, "Init skynet context first");
    lua_insert(L, 1);
    lua_pushliteral(L, "SUSPEND");
    lua_pushcclosure(L, l_wait, wt_count);
    return 1;
}

// dispatcher(S, dispatch_message, suspend, finish_message, dispatch_pending, proto, coroutine_pool,
//            session_id_coroutine, session_coroutine_id, session_coroutine_address, pooled_entry) -> callback
int l_new(lua_State* L) {
    constexpr int nparams = slot_pooled_entry - 1;
    luaL_checktype(L, 1, LUA_TTABLE);
    for (int i = 2; i <= 5; ++i) luaL_checktype(L, i, LUA_TFUNCTION);
    for (int i = 6; i < nparams; ++i) luaL_checktype(L, i, LUA_TTABLE);
    luaL_checktype(L, nparams, LUA_TFUNCTION);
    // skynet.lua makes S with a table constructor listing every slot, so all of them are in the array part
    // and the writes above never allocate.  The flags must be booleans from the start; anything else is a
    // broken contract.
    if (lua_rawgeti(L, 1, st_tracing) != LUA_TBOOLEAN || lua_rawgeti(L, 1, st_busy) != LUA_TBOOLEAN)
        return luaL_error(L, "skynet.dispatcher: S[%d] and S[%d] (tracing, busy) must be booleans", st_tracing,
                          st_busy);
    lua_settop(L, nparams);
    lua_getfield(L, LUA_REGISTRYINDEX, "skynet_context");
    if (!lua_touserdata(L, -1)) return luaL_error(L, "Init skynet context first");
    lua_insert(L, 1);
    lua_settop(L, slot_pooled_entry);
    lua_pushliteral(L, "dispatch");
    lua_pushliteral(L, "trace");
    lua_pushliteral(L, "unpack");
    lua_pushcclosure(L, l_dispatch, slot_count);
    return 1;
}

}  // namespace

}  // namespace skynet

// { new = dispatcher(...), pooled_entry = pooled_entry(...), wake_loop = wake_loop(...), wait = wait(...) }
extern "C" int luaopen_skynet_dispatcher(lua_State* L) {
    lua_createtable(L, 0, 4);
    lua_pushcfunction(L, skynet::l_new);
    lua_setfield(L, -2, "new");
    lua_pushcfunction(L, skynet::l_pooled_entry);
    lua_setfield(L, -2, "pooled_entry");
    lua_pushcfunction(L, skynet::l_wake_loop_new);
    lua_setfield(L, -2, "wake_loop");
    lua_pushcfunction(L, skynet::l_wait_new);
    lua_setfield(L, -2, "wait");
    return 1;
}
