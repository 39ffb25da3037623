// skynet.memory: how much memory the process and each service use (the debug console's `cmem`).
//
// skynet counts every malloc per service through a malloc hook.  We count what matters for Lua services,
// their Lua heaps (service::heap_bytes), and ask jemalloc for the process totals.
#include <malloc.h>

#include <cstdio>
#include <string>

#ifndef SKYNET_NO_JEMALLOC
#include <jemalloc/jemalloc.h>
#elif defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
// The sanitizer builds replace malloc with their own allocator, which counts for us (g++ 12 ships no
// header declaring it).
extern "C" size_t __sanitizer_get_current_allocated_bytes();
#define SKYNET_SANITIZER_ALLOCATOR 1
#endif

#include "core/node.h"
#include "lua/builtin_modules.h"
#include "lua/snlua.h"

namespace skynet {

namespace {

// A jemalloc statistic after refreshing its counters, or -1 when there is none.
long long jemalloc_stat(const char* name) {
#ifndef SKYNET_NO_JEMALLOC
    uint64_t epoch = 1;
    size_t len = sizeof epoch;
    mallctl("epoch", &epoch, &len, &epoch, len);
    size_t value = 0;
    len = sizeof value;
    if (mallctl(name, &value, &len, nullptr, 0) == 0) return (long long)value;
#else
    (void)name;
#endif
    return -1;
}

// Bytes the allocator handed out and that are not freed yet.
long long allocated_bytes() {
    long long v = jemalloc_stat("stats.allocated");
    if (v >= 0) return v;
#ifdef SKYNET_SANITIZER_ALLOCATOR
    return (long long)__sanitizer_get_current_allocated_bytes();
#endif
    struct mallinfo2 mi = mallinfo2();
    return (long long)mi.uordblks;
}

int l_total(lua_State* L) {
    lua_pushinteger(L, allocated_bytes());
    return 1;
}

// { [handle] = bytes of its heap } for every service that has one.
int l_info(lua_State* L) {
    node& n = snlua::of(L)->owner();
    auto all = n.handles().all();
    lua_createtable(L, 0, int(all.size()));
    for (const auto& s : all) {
        size_t bytes = s->heap_bytes.load(std::memory_order_relaxed);
        if (!bytes) continue;
        lua_pushinteger(L, lua_Integer(bytes));
        lua_rawseti(L, -2, lua_Integer(s->handle()));
    }
    return 1;
}

int l_current(lua_State* L) {
    lua_pushinteger(L, lua_Integer(snlua::of(L)->memory()));   // its own heap: exact, not the published copy
    return 1;
}

int l_dumpinfo(lua_State* L) {
    snlua* l = snlua::of(L);
    node& n = l->owner();
    size_t sum = 0;
    for (const auto& s : n.handles().all()) {
        size_t bytes = s->heap_bytes.load(std::memory_order_relaxed);
        if (!bytes) continue;
        sum += bytes;
        n.logf(l->self().handle(), ":%08x -> %zukb %zub", s->handle(), bytes / 1024, bytes % 1024);
    }
    n.logf(l->self().handle(), "Total service heaps: %zukb, process allocated: %lldkb", sum / 1024,
           allocated_bytes() / 1024);
    return 0;
}

// jemalloc's main gauges, or an empty table when the process allocator is not jemalloc.
int l_jestat(lua_State* L) {
    static const char* const names[] = {"stats.allocated", "stats.active", "stats.metadata", "stats.resident",
                                        "stats.mapped", "stats.retained"};
    lua_createtable(L, 0, 6);
    for (const char* name : names) {
        long long v = jemalloc_stat(name);
        if (v < 0) continue;
        lua_pushinteger(L, v);
        lua_setfield(L, -2, name + 6);   // without "stats."
    }
    return 1;
}

int l_mallctl(lua_State* L) {
    const char* name = luaL_checkstring(L, 1);
    long long v = jemalloc_stat(name);
    if (v < 0) return 0;
    lua_pushinteger(L, v);
    return 1;
}

}  // namespace

}  // namespace skynet

extern "C" int luaopen_skynet_memory(lua_State* L) {
    using namespace skynet;
    luaL_checkversion(L);
    static const luaL_Reg funcs[] = {
        {"total", l_total},       {"info", l_info},     {"current", l_current}, {"dumpinfo", l_dumpinfo},
        {"jestat", l_jestat},     {"mallctl", l_mallctl}, {nullptr, nullptr},
    };
    luaL_newlib(L, funcs);
    return 1;
}
