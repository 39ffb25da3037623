// A process-wide cache of compiled Lua chunks, so that the hundred services of a node do not each parse
// skynet.lua and friends again (parsing is ~8x slower than loading the compiled form).
//
// It changes nothing a service can see: a cached chunk is used only while the file's modification time and
// size are unchanged, so an edited file is compiled afresh, and chunk names and debug information are the
// same as with loadfile.  (It is not skynet's shared-proto code cache: every state still gets its own
// functions; only the parse is saved.)
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <lua.hpp>

namespace skynet {

// Like luaL_loadfilex(L, path, nullptr): pushes the chunk or an error message; returns a Lua status.
int load_file_cached(lua_State* L, const char* path);

// Replaces the global `loadfile` and the Lua-file searcher of `require` with cached versions.  The searcher
// finds files as Lua's does (package.path templates in order) but probes them with stat(), not fopen.
void install_compile_cache(lua_State* L);

// Undumps the cached chunks of these files into L ahead of its boot: a load of one of them with the same
// stamp takes the function instead of undumping it again (once).  Files not in the cache are skipped.
void prefetch_chunks(lua_State* L, const std::vector<std::string>& paths);
// Drops what L's boot did not take.
void drop_prefetched(lua_State* L);
// While `loads` is set, every cached load on this thread appends its path there (snlua's boot).
void record_boot_loads(std::vector<std::string>* loads);
// How many loads, process-wide, took a prefetched function (skynet.codecache.prefetched).
uint64_t prefetched_loads();

// Forgets every cached chunk (skynet.codecache.clear).
void clear_compile_cache();
// Changes whenever a chunk enters the cache or the cache is cleared.
uint64_t compile_cache_generation();

}  // namespace skynet
