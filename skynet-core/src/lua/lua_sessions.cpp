// session_id_coroutine and watching_session: the service's pending_sessions, for the C functions
// (session_table.h) and for Lua code, which sees two tables whose metatables read and write the entries.
//
// The tables Lua code gets are empty proxies: every read and write goes to __index/__newindex, and pairs
// goes to __pairs, which walks the sessions present when it was called and yields those still present when
// reached (entries removed meanwhile are skipped, as `next` would; entries added meanwhile are not
// visited, which `next` leaves undefined anyway).  `next(t)` and `#t` on a proxy see an empty table.
#include "lua/scheduler_shared.h"
#include "lua/session_table.h"

namespace skynet::sched {

namespace {

using entry = pending_sessions::entry;

void anchor(lua_State* L, int anchors, uint32_t slot, int value_index) {
    lua_pushvalue(L, value_index);
    lua_rawseti(L, anchors, slot);
}

void release_anchor(lua_State* L, snlua* l, int anchors, uint32_t slot) {
    lua_pushnil(L);
    lua_rawseti(L, anchors, slot);
    l->anchors.give(slot);
}

// The thread of an entry, if any, leaves its anchor.
void drop_thread(lua_State* L, snlua* l, int anchors, entry& e) {
    if (e.waiter == pending_sessions::waiting_thread) release_anchor(L, l, anchors, e.thread);
    e.waiter = pending_sessions::no_waiter;
}

void drop_watch(lua_State* L, snlua* l, int anchors, entry& e) {
    if (e.watch == pending_sessions::watch_anchored) release_anchor(L, l, anchors, e.watched);
    e.watch = pending_sessions::no_watch;
}

// Pushes an entry's waiter as Lua sees it: the thread, "BREAK" or nil.
void push_waiter(lua_State* L, int anchors, const entry* e) {
    if (!e || e->waiter == pending_sessions::no_waiter) lua_pushnil(L);
    else if (e->waiter == pending_sessions::broken) lua_pushliteral(L, "BREAK");
    else lua_rawgeti(L, anchors, e->thread);
}

void push_watch(lua_State* L, int anchors, const entry* e) {
    if (!e || e->watch == pending_sessions::no_watch) lua_pushnil(L);
    else if (e->watch == pending_sessions::watch_handle) lua_pushinteger(L, e->watched);
    else lua_rawgeti(L, anchors, e->watched);
}

}  // namespace

void wait_on(lua_State* L, snlua* l, int anchors, int32_t session, int co_index) {
    entry& e = l->pending.get_or_add(session);
    if (e.waiter != pending_sessions::waiting_thread) {
        e.thread = l->anchors.take();
        e.waiter = pending_sessions::waiting_thread;
    }
    anchor(L, anchors, e.thread, co_index);
}

void break_session(lua_State* L, snlua* l, int anchors, int32_t session) {
    entry& e = l->pending.get_or_add(session);
    drop_thread(L, l, anchors, e);
    e.waiter = pending_sessions::broken;
}

void stop_waiting(lua_State* L, snlua* l, int anchors, int32_t session) {
    entry* e = l->pending.find(session);
    if (!e) return;
    drop_thread(L, l, anchors, *e);
    l->pending.drop_if_empty(e);
}

bool take_waiting(lua_State* L, snlua* l, int anchors, int32_t session, bool leave_break) {
    entry* e = l->pending.find(session);
    if (!e || e->waiter != pending_sessions::waiting_thread) return false;
    lua_rawgeti(L, anchors, e->thread);
    drop_thread(L, l, anchors, *e);
    if (leave_break) e->waiter = pending_sessions::broken;
    else l->pending.drop_if_empty(e);
    return true;
}

void watch_session(lua_State* L, snlua* l, int anchors, int32_t session, int addr_index) {
    entry& e = l->pending.get_or_add(session);
    if (lua_isinteger(L, addr_index)) {
        lua_Integer handle = lua_tointeger(L, addr_index);
        if (handle >= 0 && handle <= lua_Integer(UINT32_MAX)) {
            drop_watch(L, l, anchors, e);
            e.watch = pending_sessions::watch_handle;
            e.watched = uint32_t(handle);
            return;
        }
    }
    if (e.watch != pending_sessions::watch_anchored) {
        e.watched = l->anchors.take();
        e.watch = pending_sessions::watch_anchored;
    }
    anchor(L, anchors, e.watched, addr_index);
}

void unwatch_session(lua_State* L, snlua* l, int anchors, int32_t session) {
    entry* e = l->pending.find(session);
    if (!e) return;
    drop_watch(L, l, anchors, *e);
    l->pending.drop_if_empty(e);
}

namespace {

// ---- The proxies -------------------------------------------------------------------------------------
// Their metamethods are closures over [snlua, anchors, which] (which: 0 for session_id_coroutine, 1 for
// watching_session).
constexpr int anchors_index = lua_upvalueindex(2);

bool is_watch_table(lua_State* L) { return lua_toboolean(L, lua_upvalueindex(3)); }

const char* table_name(lua_State* L) { return is_watch_table(L) ? "watching_session" : "session_id_coroutine"; }

// The key at index 2 as a session; false when it cannot be one (no entry can have it).
bool session_key(lua_State* L, int32_t* session) {
    if (!lua_isinteger(L, 2)) return false;
    lua_Integer k = lua_tointeger(L, 2);
    if (k < INT32_MIN || k > INT32_MAX) return false;
    *session = int32_t(k);
    return true;
}

void push_value(lua_State* L, const entry* e) {
    if (is_watch_table(L)) push_watch(L, anchors_index, e);
    else push_waiter(L, anchors_index, e);
}

// __index(t, k)
int l_get(lua_State* L) {
    int32_t session = 0;
    if (!session_key(L, &session)) return 0;
    push_value(L, context(L)->pending.find(session));
    return 1;
}

// __newindex(t, k, v)
int l_set(lua_State* L) {
    lua_settop(L, 3);
    int32_t session = 0;
    if (!session_key(L, &session))
        return luaL_error(L, "%s: a key is a session, a 32-bit integer (got %s)", table_name(L),
                          lua_isinteger(L, 2) ? "an integer out of range" : luaL_typename(L, 2));
    snlua* l = context(L);
    if (is_watch_table(L)) {
        if (lua_isnil(L, 3)) unwatch_session(L, l, anchors_index, session);
        else watch_session(L, l, anchors_index, session, 3);
        return 0;
    }
    if (lua_isnil(L, 3)) {
        stop_waiting(L, l, anchors_index, session);
    } else if (lua_type(L, 3) == LUA_TTHREAD) {
        wait_on(L, l, anchors_index, session, 3);
    } else if (is_literal(L, 3, "BREAK", 5)) {
        break_session(L, l, anchors_index, session);
    } else {
        return luaL_error(L, "session_id_coroutine: a value is a thread or \"BREAK\" (got %s)", luaL_typename(L, 3));
    }
    return 0;
}

// The iterator __pairs returns: upvalues [snlua, anchors, which, keys, position].
int l_next(lua_State* L) {
    const int keys = lua_upvalueindex(4), position = lua_upvalueindex(5);
    lua_Integer i = lua_tointeger(L, position);
    lua_Integer n = lua_Integer(lua_rawlen(L, keys));
    snlua* l = context(L);
    while (i < n) {
        ++i;
        lua_rawgeti(L, keys, i);
        const entry* e = l->pending.find(int32_t(lua_tointeger(L, -1)));
        push_value(L, e);
        if (!lua_isnil(L, -1)) {
            lua_pushinteger(L, i);
            lua_replace(L, position);
            return 2;
        }
        lua_pop(L, 2);
    }
    lua_pushinteger(L, n);
    lua_replace(L, position);
    return 0;
}

// __pairs(t) -> iterator, t, nil
int l_pairs(lua_State* L) {
    snlua* l = context(L);
    const bool watch = is_watch_table(L);
    lua_createtable(L, int(l->pending.size()), 0);
    lua_Integer n = 0;
    l->pending.for_each([&](const entry& e) {
        bool present = watch ? e.watch != pending_sessions::no_watch : e.waiter != pending_sessions::no_waiter;
        if (!present) return;
        lua_pushinteger(L, e.session);
        lua_rawseti(L, -2, ++n);
    });
    int keys = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushvalue(L, anchors_index);
    lua_pushvalue(L, lua_upvalueindex(3));
    lua_pushvalue(L, keys);
    lua_pushinteger(L, 0);
    lua_pushcclosure(L, l_next, 5);
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

// Pushes an empty table whose metatable makes it the view `which` of the entries.
void push_proxy(lua_State* L, int context_index, int anchors, bool which) {
    lua_createtable(L, 0, 0);
    lua_createtable(L, 0, 4);
    static const struct { const char* name; lua_CFunction f; } methods[] = {
        {"__index", l_get}, {"__newindex", l_set}, {"__pairs", l_pairs},
    };
    for (const auto& m : methods) {
        lua_pushvalue(L, context_index);
        lua_pushvalue(L, anchors);
        lua_pushboolean(L, which);
        lua_pushcclosure(L, m.f, 3);
        lua_setfield(L, -2, m.name);
    }
    lua_pushliteral(L, "scheduler");   // getmetatable answers this, setmetatable refuses
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
}

}  // namespace

int sessions_new(lua_State* L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    insert_context(L, 1);   // [context, anchors]
    push_proxy(L, 1, 2, false);
    push_proxy(L, 1, 2, true);
    return 2;
}

}  // namespace skynet::sched
