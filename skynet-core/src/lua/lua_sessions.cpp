// session_id_coroutine and watching_session (the service's pending_sessions), session_coroutine_id and
// session_coroutine_address (its task records), and wait_token (the wait mark on a session's entry): for
// the C functions (session_table.h) and for Lua code, which sees five tables whose metatables read and
// write the entries.
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

bool take_waiting(lua_State* L, snlua* l, int anchors, int32_t session, bool leave_break, int room) {
    entry* e = l->pending.find(session);
    if (!e || e->waiter != pending_sessions::waiting_thread) return false;
    lua_rawgeti(L, anchors, e->thread);
    if (room > 0 && !lua_checkstack(lua_tothread(L, -1), room)) {
        lua_pop(L, 1);
        return false;
    }
    drop_thread(L, l, anchors, *e);
    if (leave_break) e->waiter = pending_sessions::broken;
    else l->pending.drop_if_empty(e);
    return true;
}

void set_wait(snlua* l, int32_t session, bool on) {
    if (on) {
        l->pending.get_or_add(session).is_wait = true;
    } else if (entry* e = l->pending.find(session)) {
        e->is_wait = false;
        l->pending.drop_if_empty(e);
    }
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

task_record* find_task(snlua* l, lua_State* co) {
    uint32_t slot = task_slot(co);
    return slot ? &l->tasks[slot] : nullptr;
}

namespace {

// The record of the thread at co_index, made (and the thread anchored) when it had none.
task_record& task_of(lua_State* L, snlua* l, int anchors, int co_index, lua_State* co) {
    uint32_t slot = task_slot(co);
    if (!slot) {
        slot = l->anchors.take();
        anchor(L, anchors, slot, co_index);
        if (l->tasks.size() <= slot) l->tasks.resize(size_t(slot) + 1);
        l->tasks[slot].used = true;
        set_task_slot(co, slot);
    }
    return l->tasks[slot];
}

// Drops the thread's record once it holds neither a session nor a source.
void drop_task_if_empty(lua_State* L, snlua* l, int anchors, lua_State* co) {
    uint32_t slot = task_slot(co);
    if (!slot) return;
    task_record& t = l->tasks[slot];
    if (t.has_session || t.has_source) return;
    t = task_record{};
    set_task_slot(co, 0);
    release_anchor(L, l, anchors, slot);
}

}  // namespace

void start_task(lua_State* L, snlua* l, int anchors, int co_index, lua_State* co, int32_t session, uint32_t source) {
    task_record& t = task_of(L, l, anchors, co_index, co);
    t.has_session = t.has_source = true;
    t.session = session;
    t.source = source;
}

void end_task(lua_State* L, snlua* l, int anchors, lua_State* co) {
    if (task_record* t = find_task(l, co)) {
        t->has_session = t->has_source = false;
        drop_task_if_empty(L, l, anchors, co);
    }
}

namespace {

// ---- The proxies -------------------------------------------------------------------------------------
// The five share one metatable, whose metamethods are closures over [snlua, anchors, the five proxies,
// sleep_session]: a metamethod knows its view by which proxy it was called on.  The iterator __pairs
// returns is a closure over [snlua, anchors, view number, keys, position, sleep_session].
enum view : int { view_waiting, view_watching, view_task_session, view_task_source, view_wait_token, view_count };

constexpr int anchors_index = lua_upvalueindex(2);
constexpr int first_proxy = 3;
constexpr int iterator_sleep_session = lua_upvalueindex(6);

view which(lua_State* L) {
    if (lua_type(L, lua_upvalueindex(first_proxy)) == LUA_TNUMBER)
        return view(lua_tointeger(L, lua_upvalueindex(first_proxy)));
    for (int v = 0; v < view_count; ++v)
        if (lua_rawequal(L, 1, lua_upvalueindex(first_proxy + v))) return view(v);
    return view_waiting;   // a metamethod taken with debug.getmetatable and called on another table
}

bool is_watch_table(lua_State* L) { return which(L) == view_watching; }

const char* table_name(lua_State* L) {
    static const char* const names[] = {"session_id_coroutine", "watching_session", "session_coroutine_id",
                                        "session_coroutine_address", "wait_token"};
    return names[which(L)];
}

// The value at index as a session, a 32-bit integer; false when it cannot be one (no entry can have it).
bool session_at(lua_State* L, int index, int32_t* session) {
    if (!lua_isinteger(L, index)) return false;
    lua_Integer k = lua_tointeger(L, index);
    if (k < INT32_MIN || k > INT32_MAX) return false;
    *session = int32_t(k);
    return true;
}

// sleep_session, for a metamethod or the iterator.
int sleep_session_index(lua_State* L) {
    return lua_type(L, lua_upvalueindex(first_proxy)) == LUA_TNUMBER ? iterator_sleep_session
                                                                      : lua_upvalueindex(first_proxy + view_count);
}

// Pushes wait_token[token] (token at token_index): sleep_session[token] when that session is marked a wait.
void push_wait_value(lua_State* L, snlua* l, int token_index) {
    lua_pushvalue(L, token_index);
    lua_rawget(L, sleep_session_index(L));
    int32_t s = 0;
    if (session_at(L, -1, &s)) {
        const entry* e = l->pending.find(s);
        if (e && e->is_wait) return;
    }
    lua_pop(L, 1);
    lua_pushnil(L);
}

// __newindex(t, token, v) of wait_token: v is the session sleep_session has for the token, or nil.
int wait_set(lua_State* L) {
    lua_settop(L, 3);
    if (lua_isnil(L, 2)) return luaL_error(L, "wait_token: a key is a token (got nil)");
    snlua* l = context(L);
    if (lua_isnil(L, 3)) {
        lua_pushvalue(L, 2);
        lua_rawget(L, sleep_session_index(L));
        int32_t s = 0;
        if (session_at(L, -1, &s)) set_wait(l, s, false);
        return 0;
    }
    int32_t s = 0;
    if (!session_at(L, 3, &s))
        return luaL_error(L, "wait_token: a value is a session, a 32-bit integer (got %s)",
                          lua_isinteger(L, 3) ? "an integer out of range" : luaL_typename(L, 3));
    set_wait(l, s, true);
    return 0;
}

bool is_task_view(lua_State* L) { return which(L) >= view_task_session; }

// Pushes what a task view holds for the thread co (nil when nothing).
void push_task_value(lua_State* L, snlua* l, lua_State* co) {
    const task_record* t = co ? find_task(l, co) : nullptr;
    if (t && which(L) == view_task_session && t->has_session) lua_pushinteger(L, t->session);
    else if (t && which(L) == view_task_source && t->has_source) lua_pushinteger(L, t->source);
    else lua_pushnil(L);
}

// __index(t, co) of a task view
int task_get(lua_State* L) {
    push_task_value(L, context(L), lua_tothread(L, 2));
    return 1;
}

// __newindex(t, co, v) of a task view: v is a session (32-bit) or a handle (unsigned 32-bit), or nil
int task_set(lua_State* L) {
    lua_settop(L, 3);
    lua_State* co = lua_tothread(L, 2);
    if (!co) return luaL_error(L, "%s: a key is a thread (got %s)", table_name(L), luaL_typename(L, 2));
    // the main thread's extra space is what every new thread starts with: it must stay 0
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
    bool main_thread = lua_tothread(L, -1) == co;
    lua_pop(L, 1);
    if (main_thread) return luaL_error(L, "%s: the main thread handles no request", table_name(L));
    snlua* l = context(L);
    const bool session = which(L) == view_task_session;
    if (lua_isnil(L, 3)) {
        if (task_record* t = find_task(l, co)) {
            (session ? t->has_session : t->has_source) = false;
            drop_task_if_empty(L, l, anchors_index, co);
        }
        return 0;
    }
    lua_Integer v = lua_isinteger(L, 3) ? lua_tointeger(L, 3) : 0;
    bool fits = lua_isinteger(L, 3) &&
                (session ? v >= INT32_MIN && v <= INT32_MAX : v >= 0 && v <= lua_Integer(UINT32_MAX));
    if (!fits)
        return luaL_error(L, "%s: a value is %s (got %s)", table_name(L),
                          session ? "a session, a 32-bit integer" : "a handle, a 32-bit unsigned integer",
                          lua_isinteger(L, 3) ? "an integer out of range" : luaL_typename(L, 3));
    task_record& t = task_of(L, l, anchors_index, 2, co);
    if (session) {
        t.has_session = true;
        t.session = int32_t(v);
    } else {
        t.has_source = true;
        t.source = uint32_t(v);
    }
    return 0;
}

void push_value(lua_State* L, const entry* e) {
    if (is_watch_table(L)) push_watch(L, anchors_index, e);
    else push_waiter(L, anchors_index, e);
}

// __index(t, k)
int l_get(lua_State* L) {
    if (which(L) == view_wait_token) {
        push_wait_value(L, context(L), 2);
        return 1;
    }
    if (is_task_view(L)) return task_get(L);
    int32_t session = 0;
    if (!session_at(L, 2, &session)) return 0;
    push_value(L, context(L)->pending.find(session));
    return 1;
}

// __newindex(t, k, v)
int l_set(lua_State* L) {
    if (which(L) == view_wait_token) return wait_set(L);
    if (is_task_view(L)) return task_set(L);
    lua_settop(L, 3);
    int32_t session = 0;
    if (!session_at(L, 2, &session))
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

// The iterator __pairs returns: upvalues [snlua, anchors, which, keys, position, sleep_session].
int l_next(lua_State* L) {
    const int keys = lua_upvalueindex(4), position = lua_upvalueindex(5);
    lua_Integer i = lua_tointeger(L, position);
    lua_Integer n = lua_Integer(lua_rawlen(L, keys));
    snlua* l = context(L);
    while (i < n) {
        ++i;
        lua_rawgeti(L, keys, i);
        if (which(L) == view_wait_token) push_wait_value(L, l, lua_gettop(L));
        else if (is_task_view(L)) push_task_value(L, l, lua_tothread(L, -1));
        else push_value(L, l->pending.find(int32_t(lua_tointeger(L, -1))));
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
    lua_Integer n = 0;
    if (which(L) == view_wait_token) {
        // the tokens sleep_session maps to a session marked a wait
        lua_createtable(L, 0, 0);
        const int keys = lua_gettop(L);
        lua_pushnil(L);
        while (lua_next(L, sleep_session_index(L))) {
            push_wait_value(L, l, lua_gettop(L) - 1);
            bool present = !lua_isnil(L, -1);
            lua_pop(L, 2);   // the value pushed and sleep_session's value: the token stays for lua_next
            if (!present) continue;
            lua_pushvalue(L, -1);
            lua_rawseti(L, keys, ++n);
        }
    } else if (is_task_view(L)) {
        // the threads with a record: their anchors
        lua_createtable(L, 0, 0);
        for (uint32_t slot = 1; slot < l->tasks.size(); ++slot) {
            if (!l->tasks[slot].used) continue;
            lua_rawgeti(L, anchors_index, slot);
            lua_rawseti(L, -2, ++n);
        }
    } else {
        const bool watch = is_watch_table(L);
        lua_createtable(L, int(l->pending.size()), 0);
        l->pending.for_each([&](const entry& e) {
            bool present = watch ? e.watch != pending_sessions::no_watch : e.waiter != pending_sessions::no_waiter;
            if (!present) return;
            lua_pushinteger(L, e.session);
            lua_rawseti(L, -2, ++n);
        });
    }
    int keys = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushvalue(L, anchors_index);
    lua_pushinteger(L, which(L));
    lua_pushvalue(L, keys);
    lua_pushinteger(L, 0);
    lua_pushvalue(L, sleep_session_index(L));
    lua_pushcclosure(L, l_next, 6);
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

}  // namespace

int sessions_new(lua_State* L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checktype(L, 2, LUA_TTABLE);
    insert_context(L, 2);   // [context, anchors, sleep_session]
    for (int v = 0; v < view_count; ++v) lua_createtable(L, 0, 0);   // 4..8: the proxies
    lua_pushvalue(L, 3);
    lua_remove(L, 3);       // [context, anchors, the proxies, sleep_session]
    lua_createtable(L, 0, 4);
    const int meta = lua_gettop(L);
    static const struct { const char* name; lua_CFunction f; } methods[] = {
        {"__index", l_get}, {"__newindex", l_set}, {"__pairs", l_pairs},
    };
    for (const auto& m : methods) {
        for (int i = 1; i < meta; ++i) lua_pushvalue(L, i);
        lua_pushcclosure(L, m.f, meta - 1);
        lua_setfield(L, meta, m.name);
    }
    lua_pushliteral(L, "scheduler");   // getmetatable answers this, setmetatable refuses
    lua_setfield(L, meta, "__metatable");
    for (int v = 0; v < view_count; ++v) {
        lua_pushvalue(L, meta);
        lua_setmetatable(L, first_proxy + v);
    }
    lua_settop(L, first_proxy + view_count - 1);
    return view_count;
}

}  // namespace skynet::sched
