// Everything that touches Lua runs inside one protected call (run_config) and holds no C++ object, because
// Lua errors are long jumps that would skip destructors. Resources that must be released on an error (the
// open FILE) are owned by Lua userdata, and the whole throwaway state is closed at the end anyway.
#include "config/config_loader.h"

#include <lua.hpp>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace skynet {
namespace {

// A file including itself would otherwise recurse until Lua's C stack limit.
constexpr lua_Integer max_include_depth = 64;
constexpr const char* open_file_meta = "skynet.config.open_file";

// Upvalues of the include closure.
constexpr int env_upvalue = 1;    // the table the config code runs in
constexpr int dir_upvalue = 2;    // directory of the file being evaluated, with a trailing '/'
constexpr int depth_upvalue = 3;  // how many includes are active

struct open_file {
    FILE* f;
};

int open_file_gc(lua_State* L) {
    auto* h = static_cast<open_file*>(lua_touserdata(L, 1));
    if (h != nullptr && h->f != nullptr) {
        std::fclose(h->f);
        h->f = nullptr;
    }
    return 0;
}

// skynet resolves names against "./"; messages drop that prefix so they show the path as the user wrote it.
const char* shown_path(const char* full) { return std::strncmp(full, "./", 2) == 0 ? full + 2 : full; }

// Pushes the whole content of the file.
void push_file_contents(lua_State* L, const char* path, const char* shown) {
    auto* h = static_cast<open_file*>(lua_newuserdatauv(L, sizeof(open_file), 0));
    h->f = nullptr;
    if (luaL_newmetatable(L, open_file_meta)) {
        lua_pushcfunction(L, open_file_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    h->f = std::fopen(path, "r");
    if (h->f == nullptr) {
        int err = errno;
        luaL_error(L, "cannot open config file '%s': %s", shown, std::strerror(err));
    }
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (;;) {
        char* p = luaL_prepbuffer(&b);
        size_t n = std::fread(p, 1, LUAL_BUFFERSIZE, h->f);
        luaL_addsize(&b, n);
        if (n < LUAL_BUFFERSIZE) {
            break;
        }
    }
    int err = std::ferror(h->f) ? errno : 0;
    luaL_pushresult(&b);
    std::fclose(h->f);
    h->f = nullptr;
    if (err != 0) {
        luaL_error(L, "cannot read config file '%s': %s", shown, std::strerror(err));
    }
    lua_remove(L, -2);  // the emptied userdata
}

// skynet's pattern is %$([%w_%d]+).
bool is_name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; }

// Pushes `text` with every $NAME replaced by getenv(NAME); an unset variable is an error that names the
// file and line where it appears.
void push_substituted(lua_State* L, const char* text, size_t len, const char* shown) {
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    size_t i = 0;
    while (i < len) {
        const auto* dollar = static_cast<const char*>(std::memchr(text + i, '$', len - i));
        if (dollar == nullptr) {
            luaL_addlstring(&b, text + i, len - i);
            break;
        }
        auto at = static_cast<size_t>(dollar - text);
        luaL_addlstring(&b, text + i, at - i);
        size_t end = at + 1;
        while (end < len && is_name_char(text[end])) {
            ++end;
        }
        if (end == at + 1) {  // a lone '$' stays as it is
            luaL_addchar(&b, '$');
            i = at + 1;
            continue;
        }
        // Balanced use of the stack between buffer calls is allowed: the name needs a NUL-terminated copy.
        lua_pushlstring(L, text + at + 1, end - at - 1);
        const char* name = lua_tostring(L, -1);
        const char* value = std::getenv(name);
        if (value == nullptr) {
            int line = 1;
            for (size_t k = 0; k < at; ++k) {
                line += text[k] == '\n';
            }
            lua_pushfstring(L, "%s:%d: os.getenv() failed: %s", shown, line, name);
            lua_error(L);
        }
        lua_pop(L, 1);
        luaL_addstring(&b, value);
        i = end;
    }
    luaL_pushresult(&b);
}

// include(filename): resolves filename against the directory of the file being evaluated (a leading '/'
// is absolute), substitutes $NAMEs, and runs it in the config table with that file's directory current.
int include(lua_State* L) {
    size_t len = 0;
    const char* filename = luaL_checklstring(L, 1, &len);
    luaL_argcheck(L, std::strlen(filename) == len, 1, "file name contains a zero byte");
    lua_Integer depth = lua_tointeger(L, lua_upvalueindex(depth_upvalue));
    if (depth >= max_include_depth) {
        luaL_error(L, "config includes nested more than %d deep (does a file include itself?)",
                   static_cast<int>(max_include_depth));
    }
    lua_settop(L, 1);
    lua_pushvalue(L, lua_upvalueindex(dir_upvalue));
    const int previous_dir = lua_gettop(L);

    const char* slash = std::strrchr(filename, '/');
    if (slash == nullptr) {
        lua_pushvalue(L, previous_dir);
    } else if (filename[0] == '/') {
        lua_pushlstring(L, filename, static_cast<size_t>(slash - filename) + 1);
    } else {
        lua_pushvalue(L, previous_dir);
        lua_pushlstring(L, filename, static_cast<size_t>(slash - filename) + 1);
        lua_concat(L, 2);
    }
    const int dir = lua_gettop(L);
    lua_pushvalue(L, dir);
    lua_pushstring(L, slash == nullptr ? filename : slash + 1);
    lua_concat(L, 2);
    const char* full = lua_tostring(L, -1);
    const char* shown = shown_path(full);

    push_file_contents(L, full, shown);
    size_t raw_len = 0;
    const char* raw = lua_tolstring(L, -1, &raw_len);
    push_substituted(L, raw, raw_len, shown);
    size_t code_len = 0;
    const char* code = lua_tolstring(L, -1, &code_len);
    const char* chunk_name = lua_pushfstring(L, "@%s", shown);
    if (luaL_loadbufferx(L, code, code_len, chunk_name, "t") != LUA_OK) {
        // A syntax error reads "file:line: message"; the refusal of a precompiled (binary) chunk does not
        // name the file, so it gets the name in front.
        const char* msg = lua_tostring(L, -1);
        if (msg != nullptr && std::strncmp(msg, shown, std::strlen(shown)) != 0) {
            lua_pushfstring(L, "%s: %s", shown, msg);
        }
        return lua_error(L);
    }
    // A main chunk's first upvalue is its _ENV.
    lua_pushvalue(L, lua_upvalueindex(env_upvalue));
    if (lua_setupvalue(L, -2, 1) == nullptr) {
        lua_pop(L, 1);
    }

    lua_pushvalue(L, dir);
    lua_replace(L, lua_upvalueindex(dir_upvalue));
    lua_pushinteger(L, depth + 1);
    lua_replace(L, lua_upvalueindex(depth_upvalue));
    lua_call(L, 0, 0);
    // Not restored when the file raises: the whole load fails then.
    lua_pushvalue(L, previous_dir);
    lua_replace(L, lua_upvalueindex(dir_upvalue));
    lua_pushinteger(L, depth);
    lua_replace(L, lua_upvalueindex(depth_upvalue));
    return 0;
}

// Protected main: run_config(path lightuserdata) -> table of string keys to string values.
int run_config(lua_State* L) {
    const char* path = static_cast<const char*>(lua_touserdata(L, 1));
    lua_settop(L, 0);
    // String methods and string arithmetic ("10" + 1) work in skynet's configs through the string
    // metatable; the library itself stays out of the config's reach.
    luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 0);
    lua_settop(L, 0);

    lua_newtable(L);  // 1: the config table
    const int env = 1;
    lua_pushvalue(L, env);
    lua_pushliteral(L, "./");
    lua_pushinteger(L, 0);
    lua_pushcclosure(L, include, 3);  // 2: include
    const int include_fn = 2;
    lua_createtable(L, 0, 1);  // the metatable
    lua_createtable(L, 0, 1);  // its __index: include and nothing else
    lua_pushvalue(L, include_fn);
    lua_setfield(L, -2, "include");
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, env);

    lua_pushvalue(L, include_fn);
    lua_pushstring(L, path);
    lua_call(L, 1, 0);

    lua_newtable(L);  // 3: the result
    const int result = 3;
    lua_pushnil(L);
    while (lua_next(L, env) != 0) {
        // key at -2, value at -1
        if (lua_type(L, -2) != LUA_TSTRING) {
            const char* key = luaL_tolstring(L, -2, nullptr);
            luaL_error(L, "%s: Invalid config table: key %s is a %s, not a string", path, key,
                       luaL_typename(L, -3));
        }
        int vt = lua_type(L, -1);
        lua_pushvalue(L, -2);  // the key, for rawset
        if (vt == LUA_TBOOLEAN) {
            lua_pushstring(L, lua_toboolean(L, -2) ? "true" : "false");
        } else if (vt == LUA_TNUMBER || vt == LUA_TSTRING) {
            lua_pushvalue(L, -2);
            lua_tolstring(L, -1, nullptr);  // converts this copy only; the key stays untouched for lua_next
        } else {
            luaL_error(L, "%s: Invalid config table key = %s (a %s value)", path, lua_tostring(L, -1),
                       lua_typename(L, vt));
        }
        lua_rawset(L, result);
        lua_pop(L, 1);
    }
    return 1;
}

struct lua_closer {
    void operator()(lua_State* L) const { lua_close(L); }
};

// The messages are single lines: stderr gets exactly one line per failed start.
std::string one_line(std::string s) {
    for (char& c : s) {
        if (c == '\n' || c == '\r') {
            c = ' ';
        }
    }
    return s;
}

}  // namespace

std::map<std::string, std::string> load_config(const std::string& path) {
    std::unique_ptr<lua_State, lua_closer> state(luaL_newstate());
    if (!state) {
        throw config_error("cannot create a Lua state to read config file '" + path + "'");
    }
    lua_State* L = state.get();
    // Neither push can raise, and lua_pcall catches everything run_config raises.
    lua_pushcfunction(L, run_config);
    lua_pushlightuserdata(L, const_cast<char*>(path.c_str()));
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        const char* msg = lua_tostring(L, -1);
        throw config_error(one_line(msg != nullptr ? msg : "config file '" + path + "': unknown error"));
    }
    // Only string keys and string values are left, so lua_next and lua_tolstring cannot raise here.
    std::map<std::string, std::string> out;
    lua_pushnil(L);
    while (lua_next(L, -2) != 0) {
        size_t klen = 0;
        size_t vlen = 0;
        const char* k = lua_tolstring(L, -2, &klen);
        const char* v = lua_tolstring(L, -1, &vlen);
        out.emplace(std::string(k, klen), std::string(v, vlen));
        lua_pop(L, 1);
    }
    return out;
}

}  // namespace skynet
