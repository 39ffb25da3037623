#include "lua/compile_cache.h"

#include <sys/stat.h>

#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace skynet {

namespace {

struct entry {
    int64_t mtime_ns;
    int64_t size;
    // Shared so that a state undumps its copy outside the lock: services starting on both workers at
    // once do not queue behind each other's load.
    std::shared_ptr<const std::string> bytecode;
};

std::mutex cache_mu;
std::unordered_map<std::string, entry>& cache() {
    static std::unordered_map<std::string, entry> c;
    return c;
}

int dump_writer(lua_State*, const void* p, size_t sz, void* ud) {
    static_cast<std::string*>(ud)->append(static_cast<const char*>(p), sz);
    return 0;
}

bool file_stamp(const char* path, int64_t& mtime_ns, int64_t& size) {
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return false;
    mtime_ns = int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    size = int64_t(st.st_size);
    return true;
}

// loadfile([filename [, mode [, env]]]) with the cache for the common loadfile(filename) forms.
int l_loadfile(lua_State* L) {
    const char* path = luaL_optstring(L, 1, nullptr);
    const char* mode = luaL_optstring(L, 2, nullptr);
    int env = !lua_isnone(L, 3) ? 3 : 0;
    int status;
    // stdin, or a mode that refuses text or binary chunks: the plain loader, which enforces the mode.
    bool any_mode = !mode || (std::strchr(mode, 'b') && std::strchr(mode, 't'));
    if (!path || !any_mode)
        status = luaL_loadfilex(L, path, mode);
    else
        status = load_file_cached(L, path);
    if (status != LUA_OK) {
        lua_pushnil(L);
        lua_insert(L, -2);
        return 2;
    }
    if (env) {
        lua_pushvalue(L, env);
        if (!lua_setupvalue(L, -2, 1)) lua_pop(L, 1);
    }
    return 1;
}

// The Lua-file searcher of `require` (package.searchers[2]) over the cache.
int l_search_lua(lua_State* L) {
    const char* name = luaL_checkstring(L, 1);
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "searchpath");
    lua_pushstring(L, name);
    lua_getfield(L, -3, "path");
    if (lua_type(L, -1) != LUA_TSTRING) return luaL_error(L, "'package.path' must be a string");
    lua_call(L, 2, 2);
    if (lua_isnil(L, -2)) return 1;   // the "no file ..." message
    lua_pop(L, 1);
    const char* filename = lua_tostring(L, -1);
    if (load_file_cached(L, filename) != LUA_OK)
        return luaL_error(L, "error loading module '%s' from file '%s':\n\t%s", name, filename,
                          lua_tostring(L, -1));
    lua_pushstring(L, filename);
    return 2;
}

}  // namespace

int load_file_cached(lua_State* L, const char* path) {
    int64_t mtime = 0, size = 0;
    if (!file_stamp(path, mtime, size)) return luaL_loadfilex(L, path, nullptr);
    std::shared_ptr<const std::string> hit;
    {
        std::lock_guard lock(cache_mu);
        auto it = cache().find(path);
        if (it != cache().end() && it->second.mtime_ns == mtime && it->second.size == size) hit = it->second.bytecode;
    }
    if (hit) {
        std::string chunkname = std::string("@") + path;
        return luaL_loadbufferx(L, hit->data(), hit->size(), chunkname.c_str(), "b");
    }
    int status = luaL_loadfilex(L, path, nullptr);
    if (status != LUA_OK) return status;
    auto bytecode = std::make_shared<std::string>();
    lua_dump(L, dump_writer, bytecode.get(), 0);
    std::lock_guard lock(cache_mu);
    cache()[path] = entry{mtime, size, std::move(bytecode)};
    return LUA_OK;
}

void install_compile_cache(lua_State* L) {
    lua_pushcfunction(L, l_loadfile);
    lua_setglobal(L, "loadfile");
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "searchers");
    lua_pushcfunction(L, l_search_lua);
    lua_rawseti(L, -2, 2);
    lua_pop(L, 2);
}

void clear_compile_cache() {
    std::lock_guard lock(cache_mu);
    cache().clear();
}

}  // namespace skynet
