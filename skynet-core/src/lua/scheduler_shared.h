// What the C parts of skynet.lua's scheduler share (lua_dispatch.cpp, lua_pooled.cpp, lua_wakeup.cpp): the
// slots of skynet.lua's table S, through which both sides see the same few scalars, and small helpers.
// docs/core-boundary.md describes the contract.
#pragma once
#include <cstring>

#include "lua/builtin_modules.h"
#include "lua/snlua.h"

namespace skynet::sched {

// The slots of skynet.lua's S (its RUNNING, UNPACKING, TRACING, BUSY, WAKE_HEAD... constants).
enum state_slot : int {
    st_running_thread = 1,
    st_unpacking,
    // 3..11 and 27 are the snlua's (sched_scalars.h): state_flag/state_int read them.
    st_tracing,   // true once any thread was traced or a trace tag arrived: everything goes to Lua
    st_busy,      // true while wakeups, errors or forks are queued (skynet.lua sets it when it queues them)
    st_wake_head,   // the wakeup queue's first and last index (empty when head > tail)
    st_wake_tail,
    st_err_head,    // the same for the error queue
    st_err_tail,
    st_careful,     // sessions are near the wrap: lazy/sessions.lua allocates them (the C functions ask it)
    // Read by the API functions in C (lua_api.cpp); skynet.lua keeps its own upvalues of the tables too.
    st_fork_head,   // the fork queue's first and last index
    st_fork_tail,
    st_proto,
    st_session_anchors,    // the Lua array of session_table.h (session_id_coroutine is the snlua's)
    st_pool_top,           // how many slots of coroutine_pool are in use (a scalar: take_pooled_thread)
    st_unused_15,          // 15, 17: false (were session_coroutine_address and watching_session, now
                           // the snlua's entries: session_table.h)
    st_session_coroutine_tracetag,
    st_unused_17,
    st_sleep_session,
    st_wakeup_queue,
    st_fork_queue,
    st_fork_body,
    st_pool,               // coroutine_pool
    st_pooled_entry,       // the body of a new pooled thread
    st_internal,           // skynet.lua's I: the Lua functions of the unusual cases, by name (loads them)
    st_trace,              // skynet.core.trace
    st_timeout_traceback,  // thread -> creation traceback while trace_timeout is on, else false
    st_flush,              // queued wakeups must be served after an error unwound a chain of resumptions
    // The C functions of lua_scheduler.cpp and lua_service.cpp, and what they need of skynet.lua.
    st_suspend,            // suspend(co, ok, ...)
    st_dispatch_wakeup,    // the wake loop (lua_wakeup.cpp)
    st_fork_loop,          // starts queued forks until none is left
    st_dispatch_message,   // a whole message the Lua way
    st_resume,             // resume(co, ...): cresume with the running thread noted (for skynet.debug)
    st_cresume,            // profile.resume, or coroutine.resume
    st_callback,           // the message callback (skynet.dispatcher.new), given to c.callback by start
    st_skynet,             // the skynet module table
    st_require,            // skynet.require's module: init_all runs before start's function
    st_init_thread,        // the thread running start's function until it returned, else false
    st_lib_dir,            // the folder skynet.lua was loaded from ("" for the current one), or false
    st_last = st_lib_dir,
};

// Whether S[n] is true, for a slot S keeps itself (S at state_index: an upvalue index, say).  The scalar
// slots are the snlua's (sched_scalars.h).
inline bool state_true_at(lua_State* L, int state_index, int n) {
    lua_rawgeti(L, state_index, n);
    bool v = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

// Reorders the n threads of the pool at pool_index so that they are taken lowest address first
// (pool_order.cpp).  Leaves the pool as it is when a slot holds no thread or memory is short.
void order_pool(lua_State* L, int pool_index, lua_Integer n);

// coroutine_pool is a stack whose top the snlua keeps (S[st_pool_top]): `#pool` on a table that grows
// by appends is a binary search in Lua 5.4, one per task taken and one per thread parked.  The pool is
// weak, so the collector may empty any slot below the top; a taker skips such holes.

// Parks the thread on top of L's stack (popped) in the pool at pool_index.
inline void park_thread(lua_State* L, snlua* l, int pool_index) {
    lua_Integer n = l->scalars.at(st_pool_top) + 1;
    lua_rawseti(L, pool_index, n);
    l->scalars.set(st_pool_top, n);
    ++l->parked_run;
}

// Pushes a thread for a new task: the last parked one of the pool at pool_index, or a new thread whose
// body is the function at entry_index (skynet.lua's co_get).  Returns it.  When at least half of the pool
// was parked since a thread was last taken (the end of a burst), and that is many, the pool is put in
// address order first (pool_order.cpp): ~0.6 ms for 10,000 threads, once for that many parked.
inline lua_State* take_pooled_thread(lua_State* L, snlua* l, int pool_index, int entry_index) {
    constexpr uint32_t order_after = 256;
    lua_Integer n = l->scalars.at(st_pool_top);
    if (l->parked_run >= order_after && lua_Integer(l->parked_run) * 2 >= n) order_pool(L, pool_index, n);
    l->parked_run = 0;
    for (; n > 0; --n) {
        if (lua_rawgeti(L, pool_index, n) == LUA_TTHREAD) {
            lua_State* co = lua_tothread(L, -1);
            lua_pushnil(L);
            lua_rawseti(L, pool_index, n);
            l->scalars.set(st_pool_top, n - 1);
            return co;
        }
        lua_pop(L, 1);   // a hole the collector left
    }
    l->scalars.set(st_pool_top, 0);
    lua_State* co = lua_newthread(L);
    lua_pushvalue(L, entry_index);
    lua_xmove(L, co, 1);
    return co;
}

// True when the value at index is the string s (n bytes); no conversion of numbers.
inline bool is_literal(lua_State* L, int index, const char* s, size_t n) {
    size_t len = 0;
    const char* v = lua_type(L, index) == LUA_TSTRING ? lua_tolstring(L, index, &len) : nullptr;
    return v && len == n && std::memcmp(v, s, n) == 0;
}

// True when the value on top of co is the string "SUSPEND" (a thread parking itself).
inline bool is_suspend(lua_State* co) { return is_literal(co, -1, "SUSPEND", 7); }

// Pushes the Lua function skynet.lua's I has under `name` (reading it loads the lazy part that defines it),
// with S at state_index.
inline void push_internal(lua_State* L, int state_index, const char* name) {
    lua_rawgeti(L, state_index, st_internal);
    lua_getfield(L, -1, name);
    lua_remove(L, -2);
}

// Calls skynet.lua's I[name] with the n values on top; leaves nresults.
inline void call_internal_at(lua_State* L, int state_index, const char* name, int n, int nresults) {
    push_internal(L, state_index, name);
    lua_insert(L, -(n + 1));
    lua_call(L, n, nresults);
}

// The continuation of a call whose results are the calling C function's own.
inline int all_results(lua_State* L, int, lua_KContext) { return lua_gettop(L); }

// Keeps the first n arguments and puts the service's snlua below them: the first upvalue of the closures
// made here.
inline void insert_context(lua_State* L, int n) {
    lua_settop(L, n);
    lua_getfield(L, LUA_REGISTRYINDEX, "skynet_context");
    if (!lua_touserdata(L, -1)) luaL_error(L, "Init skynet context first");
    lua_insert(L, 1);
}

// Resumes co (at co_index of L) with the nargs values already on its stack (lua_scheduler.cpp).  A thread
// that parked itself ("SUSPEND") is done: S[st_unpacking] is cleared, as suspend would, and -1 returned.
// For any other outcome, pushes suspend, co, ok and the thread's values onto L and returns how many values
// that is; *ok tells whether the thread is alive.  The caller calls suspend with them.
int resume_task(lua_State* L, snlua* l, int state_index, int co_index, lua_State* co, int nargs, bool* ok);

// The closures made over insert_context's [snlua, S] (lua_api.cpp, lua_scheduler.cpp, lua_service.cpp)
// reach both through these.
constexpr int state_index = lua_upvalueindex(2);

inline snlua* context(lua_State* L) { return static_cast<snlua*>(lua_touserdata(L, lua_upvalueindex(1))); }

// Pushes S[n] and returns its type.
inline int get_state(lua_State* L, int n) { return lua_rawgeti(L, state_index, n); }

// The scalar slots of S (sched_scalars.h) as the C functions read and write them: plain fields of the
// snlua.  A function that needs several takes the snlua once (context) and passes it: each context() is
// a Lua API call (lua_touserdata on an upvalue), several per message on the hot paths otherwise.
inline bool state_flag(const snlua* l, int n) { return l->scalars.flag_at(n); }

inline lua_Integer state_int(const snlua* l, int n) { return l->scalars.at(n); }

inline void set_state_int(snlua* l, int n, lua_Integer v) { l->scalars.set(n, v); }

inline void set_state_flag(snlua* l, int n, bool v) { l->scalars.set_flag(n, v); }

// The constructors the module table skynet.dispatcher offers besides `new` (the dispatcher itself).
int pooled_entry_new(lua_State* L);   // lua_pooled.cpp
int wake_loop_new(lua_State* L);      // lua_wakeup.cpp
int wait_new(lua_State* L);           // lua_wakeup.cpp
int api_new(lua_State* L);            // lua_api.cpp
int scheduler_new(lua_State* L);      // lua_scheduler.cpp
int service_new(lua_State* L);        // lua_service.cpp
int sessions_new(lua_State* L);       // lua_sessions.cpp

}  // namespace skynet::sched
