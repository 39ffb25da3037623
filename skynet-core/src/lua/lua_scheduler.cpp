// skynet.dispatcher.scheduler: the rest of skynet.lua's scheduler in C (docs/core-boundary.md, "The scheduler
// in C"): suspend, the fork loop, finish_message, dispatch_message, dispatch_pending, release and resume.
//
// Every Lua function in skynet.lua was a prototype in every service's state (kilobytes each, undumped at
// every launch); a C closure is 48 bytes.  These keep skynet.lua's steps in the same order and leave the
// unusual cases to the Lua functions of its lazy parts, found by name in I (S[st_internal]).  They reach
// each other and the scheduler's tables through the slots of S (scheduler_shared.h).
#include "lua/scheduler_shared.h"
#include "lua/session_table.h"
#include "lua/snlua.h"

namespace skynet::sched {

namespace {

// Every function made here is a closure over [snlua, S] (scheduler_shared.h's context, get_state...).

// A queue (its head and tail slots) holds something.
bool queued(const snlua* l, int head, int tail) { return state_int(l, head) <= state_int(l, tail); }

// What the wake loop serves: queued wakeups or failed calls.
bool wakeups_queued(const snlua* l) { return queued(l, st_wake_head, st_wake_tail) || queued(l, st_err_head, st_err_tail); }

// suspend(co, ok, cmd): what a resumed skynet thread's outcome asks for.  A thread that parked itself lets
// the queued wakeups and errors be served; "QUIT" closes it; a bare yield leaves it parked.  A thread that
// died, or yielded anything else, is lazy/errors.lua's thread_failed: it answers the requester and raises.
int l_suspend(lua_State* L) {
    lua_settop(L, 3);
    // whatever ran was resumed, so no message is being unpacked any more
    lua_pushnil(L);
    lua_rawseti(L, state_index, st_unpacking);
    if (lua_toboolean(L, 2)) {
        if (is_literal(L, 3, "SUSPEND", 7)) {
            if (!wakeups_queued(context(L))) return 0;
            lua_settop(L, 0);
            get_state(L, st_dispatch_wakeup);
            lua_call(L, 0, LUA_MULTRET);
            return lua_gettop(L);
        }
        if (is_literal(L, 3, "QUIT", 4)) {
            // coroutine.close: its result was never looked at
            if (lua_State* co = lua_tothread(L, 1)) lua_resetthread(co);
            return 0;
        }
        // a bare coroutine.yield() in a skynet thread: it stays parked (debug hooks do this)
        if (lua_isnil(L, 3)) return 0;
    }
    call_internal_at(L, state_index, "thread_failed", 3, LUA_MULTRET);
    return lua_gettop(L);
}

// fork_loop(): starts queued forks until none is left.  A fork that dies makes suspend raise, which ends
// the loop; run_forks then serves the wakeups left behind and starts it again.
int l_fork_loop(lua_State* L) {
    snlua* l = context(L);
    for (;;) {
        lua_settop(L, 0);
        lua_Integer head = state_int(l, st_fork_head), tail = state_int(l, st_fork_tail);
        if (head > tail) return 0;
        get_state(L, st_fork_queue);   // 1
        get_state(L, st_fork_body);    // 2
        lua_rawgeti(L, 1, head);       // 3: co
        lua_rawgeti(L, 2, head);       // 4: body
        lua_pushnil(L);
        lua_rawseti(L, 1, head);
        lua_pushnil(L);
        lua_rawseti(L, 2, head);
        if (head == tail) {
            set_state_int(l, st_fork_head, 1);
            set_state_int(l, st_fork_tail, 0);
        } else {
            set_state_int(l, st_fork_head, head + 1);
        }
        lua_pushvalue(L, 3);
        lua_rawseti(L, state_index, st_running_thread);
        // suspend(co, cresume(co, body))
        lua_State* co = lua_tothread(L, 3);
        if (l->profiled > 0 || !co) {
            // the profiler's resume does the accounting (and coroutine.resume judges a value that is no thread)
            get_state(L, st_suspend);
            lua_pushvalue(L, 3);
            get_state(L, st_cresume);
            lua_pushvalue(L, 3);
            lua_pushvalue(L, 4);
            lua_call(L, 2, LUA_MULTRET);
            lua_call(L, lua_gettop(L) - 5, 0);
            continue;
        }
        lua_xmove(L, co, 1);
        bool ok = true;
        int n = resume_task(L, l, state_index, 3, co, 1, &ok);
        if (n < 0) {
            // suspend's "SUSPEND": the wakeups and errors the fork queued are served now
            if (wakeups_queued(l)) {
                get_state(L, st_dispatch_wakeup);
                lua_call(L, 0, 0);
            }
            continue;
        }
        if (!ok) ++l->limit_lifted;   // answering a dead thread's requester must not fail for memory
        int st = lua_pcall(L, n - 1, 0, 0);
        if (!ok) --l->limit_lifted;
        if (st != LUA_OK) lua_error(L);
    }
}

// run_forks on (ok, err) at the top of the stack: serves what an error left behind (S[FLUSH]) and the
// queued forks, joining their errors to err; leaves (ok, err) there.
void run_forks(lua_State* L, snlua* l) {
    for (;;) {
        int function_slot;
        if (state_flag(l, st_flush)) {
            set_state_flag(l, st_flush, false);
            function_slot = st_dispatch_wakeup;
        } else if (queued(l, st_fork_head, st_fork_tail)) {
            function_slot = st_fork_loop;
        } else {
            break;
        }
        get_state(L, function_slot);
        if (lua_pcall(L, 0, 0, 0) != LUA_OK) {
            // ok, err = I.join_error(ok, err, ferr)
            call_internal_at(L, state_index, "join_error", 3, 2);
            continue;
        }
    }
    set_state_int(l, st_fork_head, 1);
    set_state_int(l, st_fork_tail, 0);
}

// What follows a message's handling, on (ok, err) at the top: a request whose unpack failed is answered,
// queued forks and left-over wakeups run, and any error raised (joined) for snlua to log.
int finish(lua_State* L, snlua* l) {
    if (!lua_toboolean(L, -2) && state_true_at(L, state_index, st_unpacking))
        call_internal_at(L, state_index, "abort_unpacking", 0, 0);
    if (state_flag(l, st_flush) || queued(l, st_fork_head, st_fork_tail)) run_forks(L, l);
    if (!lua_toboolean(L, -2)) {
        luaL_tolstring(L, -1, nullptr);
        lua_error(L);
    }
    return 0;
}

// finish_message(ok, err)
int l_finish_message(lua_State* L) {
    lua_settop(L, 2);
    return finish(L, context(L));
}

// dispatch_message(prototype, msg, sz, session, source): a whole message the Lua way
// (lazy/dispatch.lua's raw_dispatch_message), then finish_message.
int l_dispatch_message(lua_State* L) {
    lua_settop(L, 5);
    push_internal(L, state_index, "raw_dispatch_message");
    lua_insert(L, 1);
    int st = lua_pcall(L, 5, 1, 0);
    lua_pushboolean(L, st == LUA_OK);
    lua_insert(L, -2);
    return finish(L, context(L));
}

// dispatch_pending(): after a thread the fast path resumed suspended, the wakeups and errors it queued
// (what suspend does on "SUSPEND"), then what dispatch_message does after its pcall.
int l_dispatch_pending(lua_State* L) {
    lua_settop(L, 0);
    snlua* l = context(L);
    if (wakeups_queued(l)) {
        get_state(L, st_dispatch_wakeup);
        int st = lua_pcall(L, 0, 1, 0);
        lua_pushboolean(L, st == LUA_OK);
        lua_insert(L, -2);
    } else {
        lua_pushboolean(L, 1);
        lua_pushnil(L);
    }
    // forks queued from here on set it again: at worst one more call that finds nothing to do
    set_state_flag(l, st_busy, false);
    return finish(L, l);
}

// release(co, body): a task ended other than plainly (pooled_entry does the plain case): its request
// bookkeeping goes, an unanswered request is reported, a traced thread's trace ends.
int l_release(lua_State* L) {
    lua_settop(L, 2);
    snlua* l = context(L);
    lua_State* co = lua_tothread(L, 1);
    const task_record* t = co ? find_task(l, co) : nullptr;   // session_coroutine_id[co]
    if (t && t->has_session && t->session != 0) {
        lua_pushvalue(L, 1);
        lua_pushinteger(L, t->session);
        lua_pushvalue(L, 2);
        call_internal_at(L, state_index, "forgot_response", 3, 0);
    }
    if (co) {
        get_state(L, st_session_anchors);
        end_task(L, l, lua_gettop(L), co);
    }
    lua_settop(L, 2);
    if (state_flag(l, st_tracing)) {
        get_state(L, st_session_coroutine_tracetag);
        lua_pushvalue(L, 1);
        if (lua_rawget(L, -2) != LUA_TNIL) {
            lua_pushvalue(L, 1);
            call_internal_at(L, state_index, "end_trace", 1, 0);
        }
    }
    return 0;
}

// resume(co, ...): cresume with the thread noted as the running one (skynet.debug's).
int l_resume(lua_State* L) {
    lua_pushvalue(L, 1);
    lua_rawseti(L, state_index, st_running_thread);
    get_state(L, st_cresume);
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

// S's metatable: skynet.lua leaves the scalar slots empty, so Lua code reading or writing them comes here,
// to the values the C functions keep in the snlua (sched_scalars.h).  Both are closures over [snlua].
scalars::kind scalar_slot(lua_State* L, lua_Integer* n) {
    if (!lua_isinteger(L, 2)) return scalars::not_scalar;
    *n = lua_tointeger(L, 2);
    return *n >= 0 && *n <= scalars::last ? scalars::kind_of(int(*n)) : scalars::not_scalar;
}

// __index(S, k)
int l_state_get(lua_State* L) {
    lua_Integer n = 0;
    switch (scalar_slot(L, &n)) {
    case scalars::flag: lua_pushboolean(L, context(L)->scalars.flag_at(int(n))); return 1;
    case scalars::index: lua_pushinteger(L, context(L)->scalars.at(int(n))); return 1;
    case scalars::not_scalar: break;
    }
    return 0;
}

// __newindex(S, k, v)
int l_state_set(lua_State* L) {
    lua_settop(L, 3);
    lua_Integer n = 0;
    switch (scalar_slot(L, &n)) {
    case scalars::flag: context(L)->scalars.set_flag(int(n), lua_toboolean(L, 3)); return 0;
    case scalars::index:
        if (!lua_isinteger(L, 3))
            return luaL_error(L, "skynet.lua's S[%d] is a queue index: it takes an integer, not %s", int(n),
                              luaL_typename(L, 3));
        context(L)->scalars.set(int(n), lua_tointeger(L, 3));
        return 0;
    case scalars::not_scalar: break;
    }
    lua_rawset(L, 1);
    return 0;
}

}  // namespace

int resume_task(lua_State* L, snlua* l, int state, int co_index, lua_State* co, int nargs, bool* ok) {
    lua_State* previous = l->enter(co);
    int nres = 0;
    int status = lua_resume(co, L, nargs, &nres);
    l->active.store(previous, std::memory_order_relaxed);
    // A thread that parked itself, or a skynet.timeout thread that ended returning "SUSPEND": either way
    // suspend(co, true, "SUSPEND") only clears unpacking; queued wakeups are served by the caller.
    if ((status == LUA_YIELD || status == LUA_OK) && nres == 1 && is_suspend(co)) {
        lua_pop(co, 1);
        lua_pushnil(L);
        lua_rawseti(L, state, st_unpacking);
        return -1;
    }
    *ok = status == LUA_OK || status == LUA_YIELD;
    int nvalues = *ok ? nres : 1;
    if (!lua_checkstack(L, nvalues + 4)) luaL_error(L, "too many results to resume");
    lua_rawgeti(L, state, st_suspend);
    lua_pushvalue(L, co_index);
    lua_pushboolean(L, *ok);
    lua_xmove(co, L, nvalues);
    return nvalues + 3;
}

// scheduler(S) -> suspend, dispatch_message, finish_message, dispatch_pending, release.  Also puts suspend,
// fork_loop, dispatch_message and resume in their slots of S.
int scheduler_new(lua_State* L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    // skynet.lua lists every slot in S's constructor (false where it has nothing yet), so that they are all
    // in the array part and the C functions' writes never allocate.
    if (lua_rawlen(L, 1) < lua_Unsigned(st_last))
        return luaL_error(L, "skynet.dispatcher.scheduler: S must list its %d slots", int(st_last));
    insert_context(L, 1);   // [context, S]
    for (int n = scalars::first; n <= scalars::last; ++n) {
        if (scalars::kind_of(n) != scalars::not_scalar && lua_rawgeti(L, 2, n) != LUA_TNIL)
            return luaL_error(L, "skynet.dispatcher.scheduler: S[%d] must be empty (the snlua keeps it)", n);
        lua_settop(L, 2);
    }
    lua_createtable(L, 0, 2);
    lua_pushvalue(L, 1);
    lua_pushcclosure(L, l_state_get, 1);
    lua_setfield(L, -2, "__index");
    lua_pushvalue(L, 1);
    lua_pushcclosure(L, l_state_set, 1);
    lua_setfield(L, -2, "__newindex");
    lua_setmetatable(L, 2);
    static const struct { lua_CFunction f; int slot; } made[] = {
        {l_suspend, st_suspend},
        {l_dispatch_message, st_dispatch_message},
        {l_finish_message, 0},
        {l_dispatch_pending, 0},
        {l_release, 0},
        {l_fork_loop, st_fork_loop},
        {l_resume, st_resume},
    };
    constexpr int returned = 5;
    for (const auto& m : made) {
        lua_pushvalue(L, 1);
        lua_pushvalue(L, 2);
        lua_pushcclosure(L, m.f, 2);
        if (m.slot) {
            lua_pushvalue(L, -1);
            lua_rawseti(L, 2, m.slot);
        }
    }
    lua_settop(L, 2 + returned);
    return returned;
}

}  // namespace skynet::sched
