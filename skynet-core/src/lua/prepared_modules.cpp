#include "lua/prepared_modules.h"

#include <cstring>
#include <new>
#include <string>
#include <unordered_map>
#include <vector>

namespace skynet {

const char* const recording_key = "skynet.preparing";

namespace {

const char* const prepared_key = "skynet.prepared";   // the registry key of the prepared set (a userdata)

// One value as `rawequal` sees it: collectable values by identity, the others by value.
struct snap_value {
    int type = LUA_TNIL;
    const void* p = nullptr;
    lua_Integer i = 0;
    lua_Number n = 0;
    bool is_int = false;

    static snap_value at(lua_State* L, int idx) {
        snap_value v;
        v.type = lua_type(L, idx);
        if (v.type == LUA_TBOOLEAN)
            v.i = lua_toboolean(L, idx);
        else if (v.type == LUA_TNUMBER) {
            v.is_int = lua_isinteger(L, idx);
            if (v.is_int)
                v.i = lua_tointeger(L, idx);
            else
                v.n = lua_tonumber(L, idx);
        } else
            v.p = lua_topointer(L, idx);
        return v;
    }

    bool matches(lua_State* L, int idx) const {
        if (lua_type(L, idx) != type) return false;
        if (type == LUA_TBOOLEAN) return lua_toboolean(L, idx) == i;
        if (type == LUA_TNUMBER) {
            if (lua_isinteger(L, idx) != is_int) return false;
            return is_int ? lua_tointeger(L, idx) == i : lua_tonumber(L, idx) == n;
        }
        return lua_topointer(L, idx) == p;
    }
};

// The fields of one snapshot table, by key identity: a boot runs with the collector stopped, so a key string
// alive when the snapshot was taken is still the same object when it is checked.
struct snap_table {
    std::unordered_map<const void*, snap_value> by_string;
    std::unordered_map<lua_Integer, snap_value> by_integer;
};

// The prepared set: a userdata in the registry. User value 1: name -> entry table; 2: the snapshot's tables
// (in the order of `tables`). The fields live in C++ memory, so dropping the set frees them at once.
struct prepared_set {
    std::vector<snap_table> tables;
};

int set_gc(lua_State* L) {
    static_cast<prepared_set*>(lua_touserdata(L, 1))->~prepared_set();
    return 0;
}

prepared_set* push_set(lua_State* L) {
    if (lua_getfield(L, LUA_REGISTRYINDEX, prepared_key) != LUA_TUSERDATA) {
        lua_pop(L, 1);
        return nullptr;
    }
    return static_cast<prepared_set*>(lua_touserdata(L, -1));
}

// Records every field of the table at `t` (absolute index) except the string keys in `skip`.
void snapshot_table(lua_State* L, prepared_set& set, int t, const char* const* skip) {
    snap_table& st = set.tables.emplace_back();
    lua_pushnil(L);
    while (lua_next(L, t)) {
        if (lua_type(L, -2) == LUA_TSTRING) {
            bool skipped = false;
            for (const char* const* s = skip; s && *s && !skipped; ++s) skipped = std::strcmp(lua_tostring(L, -2), *s) == 0;
            if (!skipped) st.by_string.emplace(lua_topointer(L, -2), snap_value::at(L, -1));
        } else if (lua_isinteger(L, -2)) {
            st.by_integer.emplace(lua_tointeger(L, -2), snap_value::at(L, -1));
        }   // no standard table has other keys
        lua_pop(L, 1);
    }
}

// Whether every recorded field still holds its value (fields added since do not matter). Pushes nothing.
bool snapshot_holds(lua_State* L, const prepared_set& set, int tables) {
    lua_Integer no = 0;
    for (const snap_table& st : set.tables) {
        lua_rawgeti(L, tables, ++no);
        const int t = lua_gettop(L);
        size_t found = 0;
        bool same = true;
        lua_pushnil(L);
        while (same && lua_next(L, t)) {
            const snap_value* v = nullptr;
            if (lua_type(L, -2) == LUA_TSTRING) {
                auto it = st.by_string.find(lua_topointer(L, -2));
                if (it != st.by_string.end()) v = &it->second;
            } else if (lua_isinteger(L, -2)) {
                auto it = st.by_integer.find(lua_tointeger(L, -2));
                if (it != st.by_integer.end()) v = &it->second;
            }
            if (v) {
                ++found;
                same = v->matches(L, -1);
            }
            lua_pop(L, 1);
        }
        lua_settop(L, t - 1);
        if (!same || found != st.by_string.size() + st.by_integer.size()) return false;
    }
    return true;
}

// Pushes t[k] for t at `t`, string key.
void field(lua_State* L, int t, const char* k) { lua_getfield(L, t, k); }

// Keys of package.loaded as a set (pushes it).
void push_key_set(lua_State* L, int t) {
    lua_newtable(L);
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        lua_pushvalue(L, -1);
        lua_pushboolean(L, 1);
        lua_rawset(L, -4);
    }
}

// Makes the entry table of a top module `name` whose value is at `value` (pushes it). The file it came
// from is in the recording table; a module that did not come from a stamped file cannot be prepared.
void push_entry(lua_State* L, const char* name, int value, int recording) {
    lua_createtable(L, 0, 6);
    lua_pushvalue(L, value);
    lua_setfield(L, -2, "value");
    if (lua_getfield(L, recording, name) != LUA_TTABLE) luaL_error(L, "%s did not come from a Lua file", name);
    for (int i = 1; i <= 3; ++i) {
        lua_rawgeti(L, -1, i);
        lua_rawseti(L, -3, i);   // entry[1] file, [2] mtime, [3] size
    }
    lua_pop(L, 1);
}

// Appends {table, key, value} to the entry's "expect" list (value on top, popped).
void expect(lua_State* L, int entry, int table, const char* key) {
    if (lua_getfield(L, entry, "expect") != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setfield(L, entry, "expect");
    }
    lua_createtable(L, 3, 0);
    lua_pushvalue(L, table);
    lua_rawseti(L, -2, 1);
    lua_pushstring(L, key);
    lua_rawseti(L, -2, 2);
    lua_pushvalue(L, -3);
    lua_rawseti(L, -2, 3);
    lua_rawseti(L, -2, luaL_len(L, -2) + 1);
    lua_pop(L, 2);
}

// Requires `name` with the global require; pushes the result.
void require_global(lua_State* L, const char* name) {
    lua_getglobal(L, "require");
    lua_pushstring(L, name);
    lua_call(L, 1, 1);
}

// The preparation, under lua_pcall. Argument 1: lua_path; 2: the set's userdata.
int prepare_body(lua_State* L) {
    auto* set = static_cast<prepared_set*>(lua_touserdata(L, 2));
    lua_pushglobaltable(L);
    const int G = lua_gettop(L);
    lua_getglobal(L, "package");
    const int package = lua_gettop(L);
    field(L, package, "loaded");
    const int loaded = lua_gettop(L);
    field(L, package, "searchers");
    const int searchers = lua_gettop(L);
    field(L, package, "preload");
    const int preload = lua_gettop(L);
    field(L, package, "path");
    const int old_path = lua_gettop(L);
    lua_getglobal(L, "require");
    const int plain_require = lua_gettop(L);
    if (lua_type(L, loaded) != LUA_TTABLE || lua_type(L, searchers) != LUA_TTABLE || lua_type(L, preload) != LUA_TTABLE)
        return luaL_error(L, "package is not the standard one");

    // What skynet.require and skynet could read while loading: the globals (require is checked per module,
    // as the loader changes it in between), the standard library tables, package (not its paths, which the
    // loader sets), package.loaded, package.searchers and package.preload.
    lua_newtable(L);
    const int tables = lua_gettop(L);
    static const char* const skip_globals[] = {"require", nullptr};
    static const char* const skip_package[] = {"path", "cpath", nullptr};
    int table_no = 0;
    lua_pushvalue(L, G);
    lua_rawseti(L, tables, ++table_no);
    snapshot_table(L, *set, G, skip_globals);
    lua_pushnil(L);
    while (lua_next(L, G)) {
        if (lua_type(L, -1) == LUA_TTABLE && !lua_rawequal(L, -1, G) && !lua_rawequal(L, -1, loaded)) {
            lua_rawseti(L, tables, ++table_no);
            lua_rawgeti(L, tables, table_no);
            snapshot_table(L, *set, lua_gettop(L), lua_rawequal(L, -1, package) ? skip_package : nullptr);
        }
        lua_pop(L, 1);
    }
    for (int t : {loaded, searchers, preload}) {
        lua_pushvalue(L, t);
        lua_rawseti(L, tables, ++table_no);
        snapshot_table(L, *set, t, nullptr);
    }
    int globals_before = 0;
    lua_pushnil(L);
    while (lua_next(L, G)) {
        ++globals_before;
        lua_pop(L, 1);
    }

    // Load as the loader and the service would: lua_path, the preload and Lua-file searchers only (a C library
    // from cpath cannot be prepared), the Lua-file searcher recording where each module came from.
    lua_pushvalue(L, 1);
    lua_setfield(L, package, "path");
    lua_createtable(L, 2, 0);
    lua_rawgeti(L, searchers, 1);
    lua_rawseti(L, -2, 1);
    lua_rawgeti(L, searchers, 2);
    lua_rawseti(L, -2, 2);
    lua_setfield(L, package, "searchers");
    lua_newtable(L);
    const int recording = lua_gettop(L);
    lua_pushvalue(L, recording);
    lua_setfield(L, LUA_REGISTRYINDEX, recording_key);
    push_key_set(L, loaded);
    const int loaded_before = lua_gettop(L);

    lua_newtable(L);
    const int entries = lua_gettop(L);
    require_global(L, "skynet.require");
    const int require_module = lua_gettop(L);
    push_entry(L, "skynet.require", require_module, recording);
    lua_pushvalue(L, plain_require);
    expect(L, lua_gettop(L) - 1, G, "require");
    lua_setfield(L, entries, "skynet.require");

    // The loader: _G.require = (require "skynet.require").require
    if (lua_getfield(L, require_module, "require") != LUA_TFUNCTION) return luaL_error(L, "skynet.require.require");
    const int skynet_require = lua_gettop(L);
    lua_pushvalue(L, skynet_require);
    lua_setglobal(L, "require");
    push_key_set(L, loaded);
    const int loaded_mid = lua_gettop(L);
    require_global(L, "skynet");
    const int skynet_module = lua_gettop(L);
    push_entry(L, "skynet", skynet_module, recording);
    const int entry = lua_gettop(L);
    lua_pushvalue(L, skynet_require);
    expect(L, entry, G, "require");
    lua_pushvalue(L, require_module);
    expect(L, entry, loaded, "skynet.require");
    // What skynet loaded on the way: only built-in C modules from package.preload (their preload functions
    // are in the snapshot); a Lua file on the way would need its own path check.
    lua_newtable(L);
    lua_pushnil(L);
    while (lua_next(L, loaded)) {
        const char* name = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : nullptr;
        lua_pushvalue(L, -2);
        bool old = lua_rawget(L, loaded_mid) != LUA_TNIL;
        lua_pop(L, 1);
        if (!old && name && std::string(name) != "skynet") {
            lua_pushvalue(L, -2);
            if (lua_rawget(L, recording) != LUA_TNIL) return luaL_error(L, "%s is a Lua file", name);
            lua_pop(L, 1);
            lua_pushvalue(L, -2);
            lua_pushvalue(L, -2);
            lua_rawset(L, -5);   // nested[name] = value
        }
        lua_pop(L, 1);
    }
    lua_setfield(L, entry, "nested");
    lua_setfield(L, entries, "skynet");

    // Back to the state the loader expects.
    lua_pushvalue(L, plain_require);
    lua_setglobal(L, "require");
    lua_pushvalue(L, searchers);
    lua_setfield(L, package, "searchers");
    lua_pushvalue(L, old_path);
    lua_setfield(L, package, "path");
    lua_pushnil(L);
    lua_setfield(L, LUA_REGISTRYINDEX, recording_key);
    lua_newtable(L);   // the keys to remove (not while traversing)
    lua_pushnil(L);
    while (lua_next(L, loaded)) {
        lua_pop(L, 1);
        lua_pushvalue(L, -1);
        if (lua_rawget(L, loaded_before) == LUA_TNIL) {
            lua_pushvalue(L, -2);
            lua_rawseti(L, -4, luaL_len(L, -4) + 1);
        }
        lua_pop(L, 1);
    }
    for (lua_Integer i = 1, n = luaL_len(L, -1); i <= n; ++i) {
        lua_rawgeti(L, -1, i);
        lua_pushnil(L);
        lua_rawset(L, loaded);
    }
    int globals_after = 0;
    lua_pushnil(L);
    while (lua_next(L, G)) {
        ++globals_after;
        lua_pop(L, 1);
    }
    if (globals_after != globals_before) return luaL_error(L, "loading skynet changed the globals");

    lua_pushvalue(L, entries);
    lua_setiuservalue(L, 2, 1);
    lua_pushvalue(L, tables);
    lua_setiuservalue(L, 2, 2);
    return 0;
}

int return_upvalue(lua_State* L) {
    lua_pushvalue(L, lua_upvalueindex(1));
    return 1;
}

}  // namespace

bool prepare_modules(lua_State* L, const std::string& lua_path) {
    int top = lua_gettop(L);
    lua_pushcfunction(L, prepare_body);
    lua_pushlstring(L, lua_path.data(), lua_path.size());
    void* mem = lua_newuserdatauv(L, sizeof(prepared_set), 2);
    auto* set = new (mem) prepared_set;
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, set_gc);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, prepared_key);
    (void)set;
    bool ok = lua_pcall(L, 2, 0, 0) == LUA_OK;
    lua_settop(L, top);
    if (!ok) drop_prepared(L);
    return ok;
}

bool has_prepared(lua_State* L) {
    bool has = push_set(L) != nullptr;
    if (has) lua_pop(L, 1);
    return has;
}

void drop_prepared(lua_State* L) {
    prepared_set* set = push_set(L);
    if (!set) return;
    std::vector<snap_table>().swap(set->tables);
    lua_pushnil(L);
    lua_setiuservalue(L, -2, 1);
    lua_pushnil(L);
    lua_setiuservalue(L, -2, 2);
    lua_pop(L, 1);
    lua_pushnil(L);
    lua_setfield(L, LUA_REGISTRYINDEX, prepared_key);
}

bool serve_prepared(lua_State* L, const char* name, const std::string& filename, int64_t mtime, int64_t size) {
    prepared_set* set = push_set(L);
    if (!set) return false;
    const int base = lua_gettop(L) - 1;
    const int ud = base + 1;
    const int entries = base + 2;
    // Not filled in yet (the spare thread is preparing), or not one of ours: nothing changes.
    if (lua_getiuservalue(L, ud, 1) != LUA_TTABLE || lua_getfield(L, entries, name) != LUA_TTABLE) {
        lua_settop(L, base);
        return false;
    }
    const int entry = base + 3;
    lua_getiuservalue(L, ud, 2);
    const int tables = base + 4;
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "loaded");
    const int loaded = base + 6;

    bool ok = true;
    lua_rawgeti(L, entry, 1);
    ok = ok && filename == lua_tostring(L, -1);
    lua_rawgeti(L, entry, 2);
    lua_rawgeti(L, entry, 3);
    ok = ok && lua_tointeger(L, -2) == mtime && lua_tointeger(L, -1) == size;
    lua_settop(L, loaded);
    if (ok && lua_getfield(L, entry, "expect") == LUA_TTABLE) {
        for (lua_Integer i = 1, n = luaL_len(L, -1); ok && i <= n; ++i) {
            lua_rawgeti(L, -1, i);
            lua_rawgeti(L, -1, 1);
            lua_rawgeti(L, -2, 2);
            lua_rawget(L, -2);
            lua_rawgeti(L, -3, 3);
            ok = lua_rawequal(L, -1, -2);
            lua_pop(L, 4);
        }
    }
    lua_settop(L, loaded);
    ok = ok && snapshot_holds(L, *set, tables);
    if (ok && lua_getfield(L, entry, "nested") == LUA_TTABLE) {
        lua_pushnil(L);
        while (ok && lua_next(L, -2)) {
            lua_pop(L, 1);
            lua_pushvalue(L, -1);
            ok = lua_rawget(L, loaded) == LUA_TNIL;
            lua_pop(L, 1);
        }
        if (ok) {   // skynet's load would have put them in package.loaded on its way
            lua_pushnil(L);
            while (lua_next(L, -2)) {
                lua_pushvalue(L, -2);
                lua_insert(L, -2);
                lua_rawset(L, loaded);
            }
        } else {
            lua_pop(L, 1);   // the key lua_next left
        }
    }
    lua_settop(L, loaded);
    if (!ok) {
        lua_settop(L, base);
        drop_prepared(L);
        return false;
    }
    lua_getfield(L, entry, "value");
    lua_pushcclosure(L, return_upvalue, 1);
    lua_pushnil(L);
    lua_setfield(L, entries, name);   // handed out once
    lua_replace(L, base + 1);
    lua_settop(L, base + 1);
    return true;
}

}  // namespace skynet
