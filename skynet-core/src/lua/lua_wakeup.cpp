// skynet.dispatcher.wake_loop and skynet.dispatcher.wait: waiting and waking in C (docs/core-boundary.md).
#include "lua/scheduler_shared.h"
#include "lua/session_table.h"
#include "lua/snlua.h"

namespace skynet::sched {

namespace {

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
    ws_session_anchors,      // session_anchors (session_table.h)
    ws_suspend,              // suspend(co, ok, ...)
    ws_resume,               // profile.resume: used while a coroutine is profiled, for its accounting
    ws_break,                // the string "BREAK"
    ws_count = ws_break,
};

// Takes the first entry of a queue (slots head/tail of S) onto the stack; false when it is empty.  A pop
// that empties the queue rewinds it to 1, 0.
bool pop_queue(lua_State* L, snlua* l, int queue_slot, int head_slot, int tail_slot) {
    lua_Integer head = state_int(l, head_slot), tail = state_int(l, tail_slot);
    if (head > tail) return false;
    const int queue = lua_upvalueindex(queue_slot);
    lua_rawgeti(L, queue, head);
    lua_pushnil(L);
    lua_rawseti(L, queue, head);
    if (head == tail) {
        set_state_int(l, head_slot, 1);
        set_state_int(l, tail_slot, 0);
    } else {
        set_state_int(l, head_slot, head + 1);
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
    lua_State* previous = l->enter(co);
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
    const int anchors = lua_upvalueindex(ws_session_anchors);
    for (;;) {
        lua_settop(L, 0);
        bool error_reply = false;
        if (pop_queue(L, l, ws_wakeup_queue, st_wake_head, st_wake_tail)) {
            // token at 1: session = sleep_session[token]
            if (lua_rawget(L, sleep_session) == LUA_TNIL || !lua_toboolean(L, 1)) continue;
        } else if (pop_queue(L, l, ws_error_queue, st_err_head, st_err_tail)) {
            error_reply = true;   // session at 1
        } else {
            return 0;
        }
        // session at 1: co = session_id_coroutine[session].  A wakeup leaves "BREAK" (the timer, if any,
        // still fires and its answer must be dropped); an error reply takes the session out.
        if (!lua_isinteger(L, 1)) continue;
        if (!take_waiting(L, l, anchors, int32_t(lua_tointeger(L, 1)), !error_reply)) continue;
        lua_insert(L, 1);   // co, session
        if (!error_reply && state_flag(l, st_tracing)) {
            // the "resume" trace line of a traced thread (lazy/trace.lua)
            push_internal(L, lua_upvalueindex(ws_state), "trace_resume");
            lua_pushvalue(L, 1);
            lua_call(L, 1, 0);
        }
        if (!wake_thread(L, l, error_reply)) return lua_gettop(L);
    }
}

}  // namespace

// wake_loop(S, wakeup_queue, error_queue, sleep_session, session_anchors, suspend, resume)
//   -> dispatch_wakeup
int wake_loop_new(lua_State* L) {
    for (int i = 1; i <= 5; ++i) luaL_checktype(L, i, LUA_TTABLE);
    for (int i = 6; i <= 7; ++i) luaL_checktype(L, i, LUA_TFUNCTION);
    insert_context(L, 7);
    lua_pushliteral(L, "BREAK");
    lua_pushcclosure(L, l_wake_loop, ws_count);
    return 1;
}

namespace {

// ---- skynet.wait ---------------------------------------------------------------------------------------
// skynet.lua's wait in C for the plain case: a session from the service's counter, the thread parked on it
// under its token, and the bookkeeping dropped when it is resumed (woken, or its session broken).  While
// sessions are near the wrap (careful mode) or a thread is traced, lazy/sessions.lua's lua_wait does it all.
enum wait_slot : int {
    wt_context = 1,           // the snlua (light userdata)
    wt_state,                 // S
    wt_session_anchors,       // session_anchors (session_table.h)
    wt_sleep_session,
    wt_suspend,               // the string "SUSPEND"
    wt_count = wt_suspend,
};

constexpr lua_Integer session_danger = 0x7fff0000;   // skynet.lua's DANGER

// After the yield: stack = [token, session, whatever the resume passed].
int wait_resumed(lua_State* L, int, lua_KContext) {
    lua_settop(L, 2);
    snlua* l = context(L);
    const int32_t session = int32_t(lua_tointeger(L, 2));
    set_wait(l, session, false);   // wait_token[token] = nil
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    lua_rawset(L, lua_upvalueindex(wt_sleep_session));
    stop_waiting(L, l, lua_upvalueindex(wt_session_anchors), session);
    return 0;
}

int l_wait(lua_State* L) {
    const int state = lua_upvalueindex(wt_state);
    auto* l = static_cast<snlua*>(lua_touserdata(L, lua_upvalueindex(wt_context)));
    if (state_flag(l, st_careful) || state_flag(l, st_tracing)) {
        int n = lua_gettop(L);
        push_internal(L, state, "lua_wait");
        lua_insert(L, 1);
        lua_callk(L, n, LUA_MULTRET, 0, all_results);
        return lua_gettop(L);
    }
    lua_settop(L, 1);
    lua_Integer session = l->self().new_session();
    if (session >= session_danger) {
        push_internal(L, lua_upvalueindex(wt_state), "enter_careful");
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
    lua_rawgeti(L, state, st_running_thread);
    wait_on(L, l, lua_upvalueindex(wt_session_anchors), int32_t(session), lua_gettop(L));
    lua_pop(L, 1);
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 2);
    lua_rawset(L, lua_upvalueindex(wt_sleep_session));
    set_wait(l, int32_t(session), true);   // wait_token[token] = session
    lua_pushvalue(L, lua_upvalueindex(wt_suspend));
    return lua_yieldk(L, 1, 0, wait_resumed);
}

}  // namespace

// wait(S, session_anchors, sleep_session) -> skynet.wait
int wait_new(lua_State* L) {
    for (int i = 1; i <= 3; ++i) luaL_checktype(L, i, LUA_TTABLE);
    insert_context(L, 3);
    lua_pushliteral(L, "SUSPEND");
    lua_pushcclosure(L, l_wait, wt_count);
    return 1;
}

}  // namespace skynet::sched
