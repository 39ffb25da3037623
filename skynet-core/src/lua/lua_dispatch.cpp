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
// one small table, skynet.lua's `S`, read and written here by index (scheduler_shared.h).  The module's
// other constructors are in lua_pooled.cpp (the pooled threads' body) and lua_wakeup.cpp (wakeups, wait).
#include "lua/lean_response.h"
#include "lua/scheduler_shared.h"
#include "lua/session_table.h"
#include "lua/snlua.h"

namespace skynet {

namespace {

using namespace sched;

// Upvalues of the dispatcher closure: the arguments of skynet.dispatcher, after the snlua.
enum slot : int {
    slot_context = 1,             // the snlua (light userdata)
    slot_state,                   // S
    slot_fallback,                // dispatch_message: the whole message, the Lua way
    slot_finish,                  // finish_message(ok, err): what dispatch_message does after its pcall
    slot_pending,                 // dispatch_pending(): serves queued wakeups, errors and forks; raises on errors
    slot_proto,                   // proto
    slot_pool,                    // coroutine_pool
    slot_session_anchors,         // session_anchors (session_table.h)
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


static_assert(slot_context == 1 && lua_upvalueindex(slot_state) == state_index,
              "the dispatcher is a closure over insert_context's [snlua, S] (state_flag reads its snlua)");

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


// Calls suspend(co, ok, values...), the n values on top of L's stack that resume_task left for a result
// other than parking.
void call_suspend(lua_State* L, snlua* l, int n, bool ok) {
    // A thread that died, perhaps of the memory limit: answering its requester must not fail for memory.
    if (!ok) ++l->limit_lifted;
    int st = lua_pcall(L, n - 1, 0, 0);
    if (!ok) --l->limit_lifted;
    if (st != LUA_OK) failed(L);
}

// Resumes co (at index co_index of L) with the nargs values already on its stack, then does what
// suspend would do with the result.
void resume_and_suspend(lua_State* L, snlua* l, int co_index, lua_State* co, int nargs) {
    bool ok = true;
    int n = resume_task(L, l, lua_upvalueindex(slot_state), co_index, co, nargs, &ok);
    if (n >= 0) call_suspend(L, l, n, ok);
}

// Queued wakeups, errors and forks are skynet.lua's to serve.
int after_message(lua_State* L, snlua* l) {
    if (state_flag(l, st_busy)) {
        lua_pushvalue(L, lua_upvalueindex(slot_pending));
        lua_call(L, 0, 0);
    }
    return 0;
}

// The rest of a lean response (lean_response.h), called with [false, n, suspend, co, ok, values...] where
// n counts suspend and what follows it, or [false, -1] when only queued work is left.
int finish_lean(lua_State* L, snlua* l) {
    lua_Integer n = lua_tointeger(L, 2);
    // Only snlua::dispatch calls it so; anything else (the callback called from Lua with a boolean) is refused.
    if (n == -1 ? lua_gettop(L) != 2 : (n < 3 || lua_gettop(L) != n + 2))
        return luaL_error(L, "skynet.dispatcher: a message type must be an integer");
    if (n >= 0) call_suspend(L, l, int(n), lua_toboolean(L, 5));
    return after_message(L, l);
}

int l_dispatch(lua_State* L) {
    auto* l = static_cast<snlua*>(lua_touserdata(L, lua_upvalueindex(slot_context)));
    if (lua_type(L, arg_type) == LUA_TBOOLEAN) return finish_lean(L, l);
    lua_settop(L, arg_count);
    if (l->profiled > 0 || state_flag(l, st_tracing)) return fallback(L);
    int type = int(lua_tointeger(L, arg_type));
    int co_index = 0;
    lua_State* co = nullptr;
    int nargs = 0;
    if (type == PTYPE_RESPONSE) {
        // skynet.lua: co = session_id_coroutine[session]; session_id_coroutine[session] = nil;
        // running_thread = co; suspend(co, cresume(co, true, msg, sz, session))
        lua_Integer session = lua_tointeger(L, arg_session);
        if (!take_waiting(L, l, lua_upvalueindex(slot_session_anchors), int32_t(session), false))
            return fallback(L);   // unknown or BREAK
        co_index = arg_count + 1;
        co = lua_tothread(L, co_index);
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
        return after_message(L, l);
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
        co_index = unpack + 1;
        co = take_pooled_thread(L, l, lua_upvalueindex(slot_pool), lua_upvalueindex(slot_pooled_entry));
        start_task(L, l, lua_upvalueindex(slot_session_anchors), co_index, co,
                   int32_t(lua_tointeger(L, arg_session)), uint32_t(lua_tointeger(L, arg_source)));
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
    return after_message(L, l);
}

}  // namespace

namespace sched {

lean_result lean_response(lua_State* L, snlua* l, int callback_ref, int32_t session, void* msg, size_t size) {
    // Only skynet.dispatcher's callback, and only where l_dispatch itself would not hand everything to
    // skynet.lua.
    if (l->profiled > 0 || state_flag(l, st_tracing)) return lean_result::not_taken;
    lua_rawgeti(L, LUA_REGISTRYINDEX, callback_ref);   // 1
    if (lua_tocfunction(L, 1) != l_dispatch || !lua_checkstack(L, 8)) {
        lua_settop(L, 0);
        return lean_result::not_taken;
    }
    constexpr int anchors = 2, state = 3, co_index = 4;
    lua_getupvalue(L, 1, slot_session_anchors);
    lua_getupvalue(L, 1, slot_state);
    // l_dispatch's response case, step by step (the thread gets true, msg, sz, session)
    if (!take_waiting(L, l, anchors, session, false, 4)) {
        lua_settop(L, 0);
        return lean_result::not_taken;   // unknown or BREAK: skynet.lua's
    }
    lua_State* co = lua_tothread(L, co_index);
    lua_pushvalue(L, co_index);
    lua_rawseti(L, state, st_running_thread);
    lua_pushboolean(co, 1);
    lua_pushlightuserdata(co, msg);   // as the callback gets it: a light userdata, NULL included
    lua_pushinteger(co, lua_Integer(size));
    lua_pushinteger(co, session);
    bool ok = true;
    int n = resume_task(L, l, state, co_index, co, 4, &ok);
    if (n < 0) {
        if (!state_flag(l, st_busy)) {
            lua_settop(L, 0);
            return lean_result::done;
        }
        lua_settop(L, 1);
        lua_pushboolean(L, 0);
        lua_pushinteger(L, -1);
        return lean_result::unfinished;
    }
    // [callback, anchors, S, co, suspend, co, ok, values...]: resume_task left room for one more value
    lua_pushboolean(L, 0);
    lua_replace(L, anchors);
    lua_pushinteger(L, n);
    lua_replace(L, state);
    lua_remove(L, co_index);   // suspend's arguments hold it
    return lean_result::unfinished;
}

}  // namespace sched

namespace {

// dispatcher(S, dispatch_message, finish_message, dispatch_pending, proto, coroutine_pool,
//            session_anchors, pooled_entry) -> callback
// (suspend is S[st_suspend]).
int l_new(lua_State* L) {
    constexpr int nparams = slot_pooled_entry - 1;
    luaL_checktype(L, 1, LUA_TTABLE);
    for (int i = 2; i <= 4; ++i) luaL_checktype(L, i, LUA_TFUNCTION);
    for (int i = 5; i < nparams; ++i) luaL_checktype(L, i, LUA_TTABLE);
    luaL_checktype(L, nparams, LUA_TFUNCTION);
    insert_context(L, nparams);
    lua_pushliteral(L, "dispatch");
    lua_pushliteral(L, "trace");
    lua_pushliteral(L, "unpack");
    lua_pushcclosure(L, l_dispatch, slot_count);
    return 1;
}

}  // namespace

}  // namespace skynet

// { new = dispatcher(...), pooled_entry = pooled_entry(...), wake_loop = wake_loop(...), wait = wait(...),
//   api = api(S), scheduler = scheduler(S), service = service(S), sessions = sessions(session_anchors) }
extern "C" int luaopen_skynet_dispatcher(lua_State* L) {
    lua_createtable(L, 0, 8);
    lua_pushcfunction(L, skynet::l_new);
    lua_setfield(L, -2, "new");
    lua_pushcfunction(L, skynet::sched::pooled_entry_new);
    lua_setfield(L, -2, "pooled_entry");
    lua_pushcfunction(L, skynet::sched::wake_loop_new);
    lua_setfield(L, -2, "wake_loop");
    lua_pushcfunction(L, skynet::sched::wait_new);
    lua_setfield(L, -2, "wait");
    lua_pushcfunction(L, skynet::sched::api_new);
    lua_setfield(L, -2, "api");
    lua_pushcfunction(L, skynet::sched::scheduler_new);
    lua_setfield(L, -2, "scheduler");
    lua_pushcfunction(L, skynet::sched::service_new);
    lua_setfield(L, -2, "service");
    lua_pushcfunction(L, skynet::sched::sessions_new);
    lua_setfield(L, -2, "sessions");
    return 1;
}
