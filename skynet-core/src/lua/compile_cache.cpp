#include "lua/compile_cache.h"

#include <sys/stat.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

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
// Counts the changes to the cache, for what keeps copies of its chunks (snlua.cpp's state image).
std::atomic<uint64_t> generation{0};
// Never destroyed: the spare thread (snlua.cpp) may still read it while static destructors run at exit.
std::unordered_map<std::string, entry>& cache() {
    static auto* c = new std::unordered_map<std::string, entry>;
    return *c;
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

// ---- Prefetched chunks -----------------------------------------------------------------------------------
// A spare state (snlua.cpp) undumps ahead of time the files the last boots all loaded, on the spare thread:
// registry[prefetch_key][path] = { function, mtime, size }.  A load of that path with that stamp takes the
// function (once: a second load undumps a new one), so the boot on the worker skips the undump; the
// function is exactly what loading the cached chunk would give.  snlua drops what its boot did not take.
const char* const prefetch_key = "skynet.prefetched";

std::atomic<uint64_t> prefetch_hits{0};

// The loads of the boot running on this thread, when snlua records them.
thread_local std::vector<std::string>* boot_loads = nullptr;

// Pushes the prefetched function for path with this stamp and returns true, or pushes nothing.
bool take_prefetched(lua_State* L, const char* path, int64_t mtime, int64_t size) {
    if (lua_getfield(L, LUA_REGISTRYINDEX, prefetch_key) != LUA_TTABLE) {
        lua_pop(L, 1);
        return false;
    }
    bool hit = false;
    if (lua_getfield(L, -1, path) == LUA_TTABLE) {
        lua_rawgeti(L, -1, 2);
        lua_rawgeti(L, -2, 3);
        hit = lua_tointeger(L, -2) == mtime && lua_tointeger(L, -1) == size;
        lua_pop(L, 2);
        if (hit) {
            prefetch_hits.fetch_add(1, std::memory_order_relaxed);
            lua_pushnil(L);
            lua_setfield(L, -3, path);
            lua_rawgeti(L, -1, 1);
            lua_replace(L, -3);
        }
    }
    lua_pop(L, hit ? 1 : 2);
    return hit;
}

// load_file_cached for a file whose stamp the caller has just read.
int load_stamped(lua_State* L, const char* path, int64_t mtime, int64_t size) {
    if (boot_loads) boot_loads->emplace_back(path);
    if (take_prefetched(L, path, mtime, size)) return LUA_OK;
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
    generation.fetch_add(1, std::memory_order_relaxed);
    return LUA_OK;
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

// Finds `name` on `path` as Lua's searcher does (each ';'-separated template with '?' replaced by the
// name, dots turned into '/'), but probes with stat() instead of fopen + fclose: one system call per
// template instead of two for the file that exists, and its result is the stamp the cache checks anyway,
// which saves the stat load_file_cached would make. A spawn runs ~3 such searches. Only regular files
// count; a file that stat() finds but that cannot be opened is left to the standard search.
bool find_module(const char* name, const char* path, std::string& filename, int64_t& mtime, int64_t& size) {
    std::string file_part(name);
    for (char& c : file_part)
        if (c == '.') c = '/';
    for (const char* p = path;;) {
        const char* end = std::strchr(p, ';');
        if (!end) end = p + std::strlen(p);
        if (end > p) {
            filename.clear();
            for (const char* c = p; c < end; ++c) {
                if (*c == '?')
                    filename += file_part;
                else
                    filename += *c;
            }
            if (file_stamp(filename.c_str(), mtime, size)) return true;
        }
        if (*end == '\0') return false;
        p = end + 1;
    }
}

int module_load_error(lua_State* L, const char* name, const char* filename) {
    return luaL_error(L, "error loading module '%s' from file '%s':\n\t%s", name, filename, lua_tostring(L, -1));
}

// The Lua-file searcher of `require` (package.searchers[2]) over the cache.
int l_search_lua(lua_State* L) {
    const char* name = luaL_checkstring(L, 1);
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "path");
    if (lua_type(L, -1) != LUA_TSTRING) return luaL_error(L, "'package.path' must be a string");
    std::string filename;
    int64_t mtime = 0, size = 0;
    if (find_module(name, lua_tostring(L, -1), filename, mtime, size)) {
        int status = load_stamped(L, filename.c_str(), mtime, size);
        if (status == LUA_OK) {
            lua_pushstring(L, filename.c_str());
            return 2;
        }
        if (status != LUA_ERRFILE) return module_load_error(L, name, filename.c_str());
        lua_pop(L, 1);   // unreadable: package.searchpath below skips it, as Lua's searcher would
    }
    lua_pop(L, 1);
    // Not found (or unreadable): package.searchpath gives Lua's own answer and its "no file ..." message.
    lua_getfield(L, -1, "searchpath");
    lua_pushstring(L, name);
    lua_getfield(L, -3, "path");
    lua_call(L, 2, 2);
    if (lua_isnil(L, -2)) return 1;   // the "no file ..." message
    lua_pop(L, 1);
    const char* found = lua_tostring(L, -1);
    if (load_file_cached(L, found) != LUA_OK) return module_load_error(L, name, found);
    lua_pushstring(L, found);
    return 2;
}

}  // namespace

int load_file_cached(lua_State* L, const char* path) {
    int64_t mtime = 0, size = 0;
    if (!file_stamp(path, mtime, size)) return luaL_loadfilex(L, path, nullptr);
    return load_stamped(L, path, mtime, size);
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

void prefetch_chunks(lua_State* L, const std::vector<std::string>& paths) {
    lua_createtable(L, 0, int(paths.size()));
    for (const std::string& path : paths) {
        entry e;
        {
            std::lock_guard lock(cache_mu);
            auto it = cache().find(path);
            if (it == cache().end()) continue;
            e = it->second;
        }
        std::string chunkname = "@" + path;
        if (luaL_loadbufferx(L, e.bytecode->data(), e.bytecode->size(), chunkname.c_str(), "b") != LUA_OK) {
            lua_pop(L, 1);
            continue;
        }
        lua_createtable(L, 3, 0);
        lua_insert(L, -2);
        lua_rawseti(L, -2, 1);
        lua_pushinteger(L, e.mtime_ns);
        lua_rawseti(L, -2, 2);
        lua_pushinteger(L, e.size);
        lua_rawseti(L, -2, 3);
        lua_setfield(L, -2, path.c_str());
    }
    lua_setfield(L, LUA_REGISTRYINDEX, prefetch_key);
}

void drop_prefetched(lua_State* L) {
    lua_pushnil(L);
    lua_setfield(L, LUA_REGISTRYINDEX, prefetch_key);
}

void record_boot_loads(std::vector<std::string>* loads) { boot_loads = loads; }

uint64_t prefetched_loads() { return prefetch_hits.load(std::memory_order_relaxed); }

void clear_compile_cache() {
    std::lock_guard lock(cache_mu);
    cache().clear();
    generation.fetch_add(1, std::memory_order_relaxed);
}

uint64_t compile_cache_generation() { return generation.load(std::memory_order_relaxed); }

}  // namespace skynet
