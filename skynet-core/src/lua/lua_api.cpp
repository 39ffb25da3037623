// skynet.dispatcher.api: skynet.send, call, ret, retpack, fork, wakeup, timeout, sleep and yield in C
// (docs/core-boundary.md, "The scheduler in C").
//
// These are the functions a service calls for nearly every message; in C they cost no Lua frame, and the
// service's Lua state holds no code for them (a C closure is 48 bytes; the Lua versions' prototypes were
// kilobytes in every service).  They keep skynet.lua's semantics step for step.  They reach the
// scheduler's tables and scalars through the slots of skynet.lua's S (scheduler_shared.h), and leave the
// unusual cases to the Lua functions of skynet.lua's I (S[st_internal]), found by name: careful session
// allocation near the 2^31 wrap, the bookkeeping of a traced or unanswered task (release), and the
// creation traceback of a timer while trace_timeout is on.
#include <cstdio>
#include <cstdlib>

#include "core/node.h"
#include "lua/lua_seri.h"
#include "lua/scheduler_shared.h"
#include "lua/session_table.h"
#include "lua/snlua.h"

namespace skynet::sched {

namespace {

// Upvalues of every function made here.
enum api_slot : int {
    as_context = 1,   // the snlua (light userdata)
    as_state,         // S
    as_suspend,       // the string "SUSPEND"
    as_id_key,        // "id", "pack", "unpack": a protocol's fields, read with the keys interned once
    as_pack_key,
    as_unpack_key,
    as_anchors,       // S[st_session_anchors]: the Lua array of session_table.h
    as_count = as_anchors,
};

constexpr int anchors = lua_upvalueindex(as_anchors);

constexpr int PTYPE_RESPONSE = 1;
constexpr int PTYPE_ERROR = 7;
constexpr int PTYPE_TRACE = 12;
constexpr lua_Integer session_danger = 0x7fff0000;   // skynet.lua's DANGER

static_assert(lua_upvalueindex(as_context) == lua_upvalueindex(1) && lua_upvalueindex(as_state) == state_index,
              "the API closures are made over insert_context's [snlua, S]");

void set_busy(snlua* l) { set_state_flag(l, st_busy, true); }

// S[table_slot][stack[key]] = stack[value]; value 0 means nil.
void set_in(lua_State* L, int table_slot, int key, int value) {
    get_state(L, table_slot);
    lua_pushvalue(L, key);
    if (value) lua_pushvalue(L, value); else lua_pushnil(L);
    lua_rawset(L, -3);
    lua_pop(L, 1);
}

// Pushes S[table_slot][stack[key]] and returns its type.
int get_in(lua_State* L, int table_slot, int key) {
    get_state(L, table_slot);
    lua_pushvalue(L, key);
    int t = lua_rawget(L, -2);
    lua_remove(L, -2);
    return t;
}

// skynet.address(addr), for error messages: ":%08x" for a handle, tostring for anything else.
void push_address(lua_State* L, int index) {
    if (lua_type(L, index) == LUA_TNUMBER) {
        char buf[16];
        std::snprintf(buf, sizeof buf, ":%08x", unsigned(lua_tointeger(L, index)));
        lua_pushstring(L, buf);
    } else {
        luaL_tolstring(L, index, nullptr);
    }
}

// The running thread's trace tag on top, when it has one (returns false and pushes nothing otherwise).
bool push_trace_tag(lua_State* L, snlua* l) {
    if (!state_flag(l, st_tracing)) return false;
    get_state(L, st_running_thread);
    int t = get_in(L, st_session_coroutine_tracetag, lua_gettop(L));
    lua_remove(L, -2);
    if (t == LUA_TNIL || (t == LUA_TBOOLEAN && !lua_toboolean(L, -1))) {
        lua_pop(L, 1);
        return false;
    }
    return true;
}

// c.trace(tag, what [, level]) for the running thread's trace tag, when it has one.  `level` counts as in
// skynet.lua: the C function calling it is a frame of its own, as the Lua function was.
void trace_running(lua_State* L, snlua* l, const char* what, int level) {
    if (!push_trace_tag(L, l)) return;
    get_state(L, st_trace);
    lua_insert(L, -2);   // trace, tag
    lua_pushstring(L, what);
    if (level) lua_pushinteger(L, level);
    lua_call(L, level ? 3 : 2, 0);
}

void call_internal(lua_State* L, const char* name, int n, int nresults) {
    call_internal_at(L, state_index, name, n, nresults);
}

// A session the core handed out: at DANGER and above, skynet.lua's enter_careful takes over allocation.
lua_Integer observe_new(lua_State* L, lua_Integer session) {
    if (session >= session_danger) {
        lua_pushinteger(L, session);
        call_internal(L, "enter_careful", 1, 0);
    }
    return session;
}

// skynet.lua's auxtimeout(ti): a TIMEOUT session (careful mode: its Lua version).
lua_Integer start_timeout(lua_State* L, int ti_index) {
    snlua* l = context(L);
    if (state_flag(l, st_careful)) {
        lua_pushvalue(L, ti_index);
        call_internal(L, "careful_timeout", 1, 1);
        lua_Integer s = lua_tointeger(L, -1);
        lua_pop(L, 1);
        return s;
    }
    int isnum = 0;
    lua_Number ti = lua_tonumberx(L, ti_index, &isnum);
    if (!isnum) luaL_error(L, "timeout needs a number of centiseconds (got %s)", luaL_typename(L, ti_index));
    // as the TIMEOUT command reads it: a float is cut to an integer, an integer to 32 bits
    lua_Integer t = lua_isinteger(L, ti_index) ? lua_tointeger(L, ti_index) : lua_Integer(ti);
    return observe_new(L, l->owner().timeout(l->self(), int32_t(t)));
}

// A parked thread from coroutine_pool, or a new one running pooled_entry (skynet.lua's co_get); on top.
lua_State* pooled_thread(lua_State* L) {
    get_state(L, st_pool);
    get_state(L, st_pooled_entry);
    int pool = lua_gettop(L) - 1;
    lua_State* co = take_pooled_thread(L, context(L), pool, pool + 1);
    lua_remove(L, pool);
    lua_remove(L, pool);
    return co;
}

// [[noreturn]] error "unknown protocol <name>", positioned at the caller.
int unknown_protocol(lua_State* L, int name_index) {
    luaL_tolstring(L, name_index, nullptr);
    return luaL_error(L, "unknown protocol %s", lua_tostring(L, -1));
}

// Pushes proto[stack[name_index]] (a table) or raises "unknown protocol".
int protocol(lua_State* L, int name_index) {
    if (get_in(L, st_proto, name_index) == LUA_TNIL) unknown_protocol(L, name_index);
    return lua_gettop(L);
}

// Pushes p[key] (p at an absolute index; metamethods apply, as to lua_getfield) and returns its type.
int get_field(lua_State* L, int p, int key_slot) {
    lua_pushvalue(L, lua_upvalueindex(key_slot));
    return lua_gettable(L, p);
}

// The protocol's id, as skynet.core.send would take it.
int protocol_id(lua_State* L, int p) {
    get_field(L, p, as_id_key);
    int isnum = 0;
    lua_Integer id = lua_tointegerx(L, -1, &isnum);
    if (!isnum) luaL_error(L, "protocol has no integer id (got %s)", luaL_typename(L, -1));
    lua_pop(L, 1);
    return int(id);
}

// Calls p.pack with the values first..top; its results replace them.
void pack_args(lua_State* L, int p, int first) {
    get_field(L, p, as_pack_key);
    if (lua_tocfunction(L, -1) == seri_pack) {
        // skynet.pack (the lua protocol's): what the call would do, without the call's frame (its errors
        // then name no position, as skynet.pack's called from here would)
        lua_pop(L, 1);
        seri_pack_in_place(L, first, 0);
        return;
    }
    lua_insert(L, first);
    lua_call(L, lua_gettop(L) - first, LUA_MULTRET);
    if (lua_gettop(L) < first + 1) lua_settop(L, first + 1);   // pack gave no message: send nil
}

// ---- send ------------------------------------------------------------------------------------------------

// skynet.send(addr, typename, ...): csend(addr, p.id, 0, p.pack(...)).
int l_send(lua_State* L) {
    if (lua_gettop(L) < 2) lua_settop(L, 2);
    int p = protocol(L, 2);
    int id = protocol_id(L, p);
    check_destination(L, 1);
    lua_insert(L, 3);   // p before the values: addr, typename, p, ...
    pack_args(L, 3, 4);
    snlua* l = context(L);
    int r = send_from_lua(L, l, l->self().handle(), 1, id, 0, 4);
    if (r == -1) return 0;
    if (r == -2) {
        lua_pushboolean(L, 0);
        return 1;
    }
    lua_pushinteger(L, r);
    return 1;
}

// ---- call ------------------------------------------------------------------------------------------------

// The continuation after the yield: stack = [addr, typename, p, session, ok, msg, sz, ...].
int call_resumed(lua_State* L, int, lua_KContext) {
    lua_settop(L, 7);
    unwatch_session(L, context(L), anchors, int32_t(lua_tointeger(L, 4)));
    if (!lua_toboolean(L, 5)) return luaL_error(L, "call failed");
    get_field(L, 3, as_unpack_key);
    if (lua_tocfunction(L, -1) == seri_unpack && lua_type(L, 6) == LUA_TLIGHTUSERDATA && lua_isinteger(L, 7)) {
        // skynet.unpack of an answer as the core delivers it: what the call would return, without the call
        // (the values go on top, above the function, and only they are returned).  Anything else (nil, a
        // string, a bad size) goes through the function, for its own errors.
        const void* data = lua_touserdata(L, 6);
        lua_Integer size = lua_tointeger(L, 7);
        if (size == 0) return 0;
        if (size > 0 && data) return seri_unpack_values(L, data, size_t(size));
    }
    lua_pushvalue(L, 6);
    lua_pushvalue(L, 7);
    lua_callk(L, 2, LUA_MULTRET, 7, [](lua_State* L, int, lua_KContext base) { return lua_gettop(L) - int(base); });
    return lua_gettop(L) - 7;
}

// skynet.call(addr, typename, ...): sends a request with a new session and parks the thread until the
// answer; returns p.unpack of it.  Raises "call failed" when an error comes back instead.
int l_call(lua_State* L) {
    if (lua_gettop(L) < 2) lua_settop(L, 2);
    snlua* l = context(L);
    if (push_trace_tag(L, l)) {
        // the trace line is the caller's, then the tag goes ahead of the request
        int tag = lua_gettop(L);
        get_state(L, st_trace);
        lua_pushvalue(L, tag);
        lua_pushliteral(L, "call");
        lua_pushinteger(L, 2);
        lua_call(L, 3, 0);
        send_from_lua(L, l, l->self().handle(), 1, PTYPE_TRACE, 0, tag);
        lua_pop(L, 1);
    }
    int p = protocol(L, 2);
    int id = protocol_id(L, p);
    check_destination(L, 1);
    lua_insert(L, 3);
    pack_args(L, 3, 4);
    int session = -1;
    if (state_flag(l, st_careful)) {
        call_internal(L, "free_session", 0, 1);
        session = int(lua_tointeger(L, -1));
        lua_pop(L, 1);
    }
    int r = send_from_lua(L, l, l->self().handle(), 1, id, session, 4);
    if (r < 0) {
        push_address(L, 1);
        if (r == -2) return luaL_error(L, "call failed: message to %s is too large", lua_tostring(L, -1));
        return luaL_error(L, "call to invalid address %s", lua_tostring(L, -1));
    }
    if (session < 0) observe_new(L, r);
    lua_settop(L, 3);
    lua_pushinteger(L, r);   // 4: session
    // watching_session[session] = addr; session_id_coroutine[session] = S[RUNNING]
    watch_session(L, l, anchors, r, 1);
    get_state(L, st_running_thread);
    wait_on(L, l, anchors, r, 5);
    lua_pop(L, 1);
    lua_pushvalue(L, lua_upvalueindex(as_suspend));
    return lua_yieldk(L, 1, 0, call_resumed);
}

// ---- ret / retpack ---------------------------------------------------------------------------------------

// Frees a packed message nobody will receive (skynet.trash).
void trash(lua_State* L, int msg) {
    if (lua_type(L, msg) == LUA_TLIGHTUSERDATA) std::free(lua_touserdata(L, msg));
}

// skynet.ret's work for the message at 1, 2 (stack = [msg, sz]).
int answer(lua_State* L) {
    lua_settop(L, 2);
    if (!lua_toboolean(L, 1)) {   // msg = msg or ""
        lua_pushliteral(L, "");
        lua_replace(L, 1);
    }
    snlua* l = context(L);
    trace_running(L, l, "response", 0);
    get_state(L, st_running_thread);   // 3: co
    lua_State* co = lua_tothread(L, 3);
    task_record* t = co ? find_task(l, co) : nullptr;   // session_coroutine_id[co], ..._address[co]
    bool has_size = !lua_isnil(L, 2);
    if (!t || !t->has_session) {
        if (has_size) trash(L, 1);
        return luaL_error(L, "No session");
    }
    lua_Integer session = t->session;
    t->has_session = false;
    if (session == 0) {
        // the request was a send: nobody waits for the answer
        if (has_size) trash(L, 1);
        lua_pushboolean(L, 0);
        return 1;
    }
    lua_pushinteger(L, session);   // 4
    if (t->has_source) lua_pushinteger(L, t->source); else lua_pushnil(L);   // 5: addr
    int r = send_from_lua(L, l, l->self().handle(), 5, PTYPE_RESPONSE, int(session), 1);
    if (r >= 0) {
        lua_pushboolean(L, 1);
        return 1;
    }
    if (r == -2) {
        // too large to deliver: the requester must not hang
        lua_pushliteral(L, "");
        send_from_lua(L, l, l->self().handle(), 5, PTYPE_ERROR, int(session), lua_gettop(L));
    }
    lua_pushboolean(L, 0);
    return 1;
}

int l_ret(lua_State* L) { return answer(L); }

// skynet.retpack(...): skynet.ret(skynet.pack(...)).
int l_retpack(lua_State* L) {
    seri_pack_in_place(L, 1);
    return answer(L);
}

// ---- fork ------------------------------------------------------------------------------------------------

int ignore_results(lua_State*, int, lua_KContext) { return 0; }

// The body of a fork with arguments: func(args...) from the closure's upvalues.
int run_with_upvalues(lua_State* L) {
    int n = 0;
    while (n < 255 && lua_type(L, lua_upvalueindex(n + 1)) != LUA_TNONE) ++n;
    luaL_checkstack(L, n, "too many fork arguments");
    for (int i = 1; i <= n; ++i) lua_pushvalue(L, lua_upvalueindex(i));
    lua_callk(L, n - 1, 0, 0, ignore_results);
    return 0;
}

// The same for more values than a closure holds: upvalues func, {args...}, n.
int run_with_table(lua_State* L) {
    lua_Integer n = lua_tointeger(L, lua_upvalueindex(3));
    luaL_checkstack(L, int(n) + 1, "too many fork arguments");
    lua_pushvalue(L, lua_upvalueindex(1));
    for (lua_Integer i = 1; i <= n; ++i) lua_rawgeti(L, lua_upvalueindex(2), i);
    lua_callk(L, int(n), 0, 0, ignore_results);
    return 0;
}

// skynet.fork(func, ...): a pooled thread queued to run func(...) after the current message.
int l_fork(lua_State* L) {
    int top = lua_gettop(L);
    if (top == 0) {   // skynet.fork() queues a nil body, which fails when it runs, as in skynet.lua
        lua_settop(L, 1);
        top = 1;
    }
    int nargs = top - 1;
    if (nargs > 0) {
        if (top <= 255) {
            lua_pushcclosure(L, run_with_upvalues, top);
        } else {
            lua_createtable(L, nargs, 0);
            lua_insert(L, 2);   // [func, t, args...]
            for (int i = nargs; i >= 1; --i) lua_rawseti(L, 2, i);   // pops the values from the top down
            lua_pushinteger(L, nargs);
            lua_pushcclosure(L, run_with_table, 3);
        }
    }
    // stack = [body]
    pooled_thread(L);   // 2: co
    snlua* l = context(L);
    lua_Integer t = state_int(l, st_fork_tail) + 1;
    set_state_int(l, st_fork_tail, t);
    get_state(L, st_fork_queue);
    lua_pushvalue(L, 2);
    lua_rawseti(L, -2, t);
    get_state(L, st_fork_body);
    lua_pushvalue(L, 1);
    lua_rawseti(L, -2, t);
    lua_pop(L, 2);
    set_busy(l);
    return 1;
}

// ---- wakeup ----------------------------------------------------------------------------------------------

// skynet.wakeup(token): queues the thread sleeping or waiting on token; true when there is one.  Written
// with as few API calls as it takes: a wait/wakeup ping-pong calls it once per wakeup.
int l_wakeup(lua_State* L) {
    lua_settop(L, 1);
    lua_rawgeti(L, state_index, st_sleep_session);   // 2
    lua_pushvalue(L, 1);
    if (lua_rawget(L, 2) == LUA_TNIL) return 0;
    snlua* l = context(L);
    lua_Integer t = state_int(l, st_wake_tail) + 1;
    set_state_int(l, st_wake_tail, t);
    lua_rawgeti(L, state_index, st_wakeup_queue);
    lua_pushvalue(L, 1);
    lua_rawseti(L, -2, t);
    set_busy(l);
    lua_pushboolean(L, 1);
    return 1;
}

// ---- timeout ---------------------------------------------------------------------------------------------

// Upvalues of a timeout thread's body.
enum timeout_slot : int { ts_context = 1, ts_state, ts_func, ts_suspend };

// The timer's thread ended its function: stack = [func].
int timeout_done(lua_State* co, int, lua_KContext) {
    lua_settop(co, 0);
    lua_pushthread(co);   // 1
    const int state = lua_upvalueindex(ts_state);
    auto* l = static_cast<snlua*>(lua_touserdata(co, lua_upvalueindex(ts_context)));
    const task_record* t = find_task(l, co);   // session_coroutine_id[co]
    bool plain = (!t || !t->has_session) && !state_flag(l, st_tracing);
    if (!plain) {
        push_internal(co, state, "release");
        lua_pushvalue(co, 1);
        lua_pushvalue(co, lua_upvalueindex(ts_func));
        lua_call(co, 2, 0);
    }
    lua_pushvalue(co, lua_upvalueindex(ts_suspend));
    return 1;
}

// A skynet.timeout thread: func(...) with what the timer's resume passes, then "SUSPEND" as it ends.
int timeout_entry(lua_State* co) {
    const int state = lua_upvalueindex(ts_state);
    if (lua_rawgeti(co, state, st_timeout_traceback) == LUA_TTABLE) {
        lua_pushthread(co);
        lua_pushnil(co);
        lua_rawset(co, -3);
    }
    lua_pop(co, 1);
    lua_pushvalue(co, lua_upvalueindex(ts_func));
    lua_insert(co, 1);
    lua_callk(co, lua_gettop(co) - 1, 0, 0, timeout_done);
    return timeout_done(co, LUA_OK, 0);
}

// skynet.timeout(ti, func): func runs in a thread of its own after ti centiseconds; returns that thread.
// Timer threads are never pooled: the thread is the handle killthread and kill take.
int l_timeout(lua_State* L) {
    lua_settop(L, 2);
    lua_Integer session = start_timeout(L, 1);
    lua_State* co = lua_newthread(L);   // 3
    lua_pushvalue(L, lua_upvalueindex(as_context));
    lua_pushvalue(L, state_index);
    lua_pushvalue(L, 2);
    lua_pushvalue(L, lua_upvalueindex(as_suspend));
    lua_pushcclosure(L, timeout_entry, 4);
    lua_xmove(L, co, 1);
    lua_pushinteger(L, session);   // 4
    wait_on(L, context(L), anchors, int32_t(session), 3);
    if (get_state(L, st_timeout_traceback) == LUA_TTABLE) {
        // skynet.lua's note_timeout(co, ti) records where the timer was set
        lua_pop(L, 1);
        lua_pushvalue(L, 3);
        lua_pushvalue(L, 1);
        call_internal(L, "note_timeout", 2, 0);
    } else {
        lua_pop(L, 1);
    }
    lua_settop(L, 3);
    return 1;
}

// ---- sleep / yield ---------------------------------------------------------------------------------------

// After the yield: stack = [ti, token, session, ok, err, ...].
int sleep_resumed(lua_State* L, int, lua_KContext) {
    lua_settop(L, 5);
    set_in(L, st_sleep_session, 2, 0);
    if (lua_toboolean(L, 4)) return 0;
    size_t len = 0;
    const char* err = lua_type(L, 5) == LUA_TSTRING ? lua_tolstring(L, 5, &len) : nullptr;
    if (err && len == 5 && std::memcmp(err, "BREAK", 5) == 0) return 1;
    // error(err) as skynet.lua raised it: a string gets the position
    if (err) {
        luaL_where(L, 1);
        lua_pushvalue(L, 5);
        lua_concat(L, 2);
    } else {
        lua_pushvalue(L, 5);
    }
    return lua_error(L);
}

// skynet.sleep(ti [, token]): parks the thread for ti centiseconds (or until skynet.wakeup(token));
// returns "BREAK" when woken early.
int l_sleep(lua_State* L) {
    lua_settop(L, 2);
    lua_Integer session = start_timeout(L, 1);
    if (!lua_toboolean(L, 2)) {   // token = token or coroutine.running()
        lua_pushthread(L);
        lua_replace(L, 2);
    }
    lua_pushinteger(L, session);   // 3
    if (get_in(L, st_sleep_session, 2) != LUA_TNIL) {
        // the timer is already armed: its answer must not look like an unknown session
        break_session(L, context(L), anchors, int32_t(session));
        return luaL_error(L, "token duplicative");
    }
    lua_pop(L, 1);
    snlua* l = context(L);
    trace_running(L, l, "sleep", 2);
    get_state(L, st_running_thread);   // 4
    wait_on(L, l, anchors, int32_t(session), 4);
    set_in(L, st_sleep_session, 2, 3);
    lua_settop(L, 3);
    lua_pushvalue(L, lua_upvalueindex(as_suspend));
    return lua_yieldk(L, 1, 0, sleep_resumed);
}

// skynet.yield(): skynet.sleep(0).
int l_yield(lua_State* L) {
    lua_settop(L, 0);
    lua_pushinteger(L, 0);
    return l_sleep(L);
}

}  // namespace

// api(S) -> { send = ..., call = ..., ... }: the functions skynet.lua installs in the skynet table.
int api_new(lua_State* L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    // every slot the functions read must be in place: the tables and Lua functions skynet.lua provides
    static const struct { int slot; int type; } required[] = {
        {st_proto, LUA_TTABLE},           {st_session_anchors, LUA_TTABLE},
        {st_session_coroutine_tracetag, LUA_TTABLE},
        {st_sleep_session, LUA_TTABLE},   {st_wakeup_queue, LUA_TTABLE},
        {st_fork_queue, LUA_TTABLE},      {st_fork_body, LUA_TTABLE},
        {st_pool, LUA_TTABLE},            {st_pooled_entry, LUA_TFUNCTION},
        {st_internal, LUA_TTABLE},        {st_trace, LUA_TFUNCTION},
    };
    for (const auto& r : required) {
        if (lua_rawgeti(L, 1, r.slot) != r.type)
            return luaL_error(L, "skynet.dispatcher.api: S[%d] must be a %s", r.slot, lua_typename(L, r.type));
        lua_pop(L, 1);
    }
    insert_context(L, 1);   // [context, S]
    static const luaL_Reg functions[] = {
        {"send", l_send},     {"call", l_call},       {"ret", l_ret},       {"retpack", l_retpack},
        {"fork", l_fork},     {"wakeup", l_wakeup},   {"timeout", l_timeout}, {"sleep", l_sleep},
        {"yield", l_yield},   {nullptr, nullptr},
    };
    lua_createtable(L, 0, 9);
    lua_insert(L, 1);   // [t, context, S]
    lua_pushliteral(L, "SUSPEND");
    lua_pushliteral(L, "id");
    lua_pushliteral(L, "pack");
    lua_pushliteral(L, "unpack");
    lua_rawgeti(L, 3, st_session_anchors);
    luaL_setfuncs(L, functions, as_count);
    return 1;
}

}  // namespace skynet::sched
