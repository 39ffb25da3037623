// skynet.pack / skynet.unpack through the Lua C functions, as a service calls them for every message it sends
// or receives, on three shapes of message: one integer, a short string and an integer, a table of 10 fields.
#include <cstdlib>
#include <string>

#include "harness.h"
#include "lua/lua_seri.h"

namespace {

// The values of one case sit on the stack of a plain Lua state from slot 1 up; the benchmarks work above them.
struct lua_case {
    lua_State* L = nullptr;
    int values = 0;

    lua_case() : L(luaL_newstate()) { luaL_openlibs(L); }
    ~lua_case() { lua_close(L); }
    lua_case(const lua_case&) = delete;
    lua_case& operator=(const lua_case&) = delete;

    // Packs the case's values; the caller frees the buffer. lua_call, not pcall: the values are known to be
    // packable, and an error would end the process with Lua's panic message, which is what we would want.
    void* pack(size_t* size) {
        int top = lua_gettop(L);
        lua_pushcfunction(L, skynet::seri_pack);
        for (int i = 1; i <= values; ++i) lua_pushvalue(L, i);
        lua_call(L, values, 2);
        void* buffer = lua_touserdata(L, -2);
        *size = size_t(lua_tointeger(L, -1));
        lua_settop(L, top);
        return buffer;
    }
};

void bench_pack(lua_case& c, size_t n) {
    for (size_t i = 0; i < n; ++i) {
        size_t size = 0;
        void* buffer = c.pack(&size);
        micro::keep(size);
        // Freeing is part of the real cost: the core frees every message payload after dispatch.
        std::free(buffer);
    }
}

void bench_unpack(lua_case& c, size_t n) {
    size_t size = 0;
    void* buffer = c.pack(&size);
    int top = lua_gettop(c.L);
    for (size_t i = 0; i < n; ++i) {
        lua_pushcfunction(c.L, skynet::seri_unpack);
        lua_pushlightuserdata(c.L, buffer);
        lua_pushinteger(c.L, lua_Integer(size));
        lua_call(c.L, 2, LUA_MULTRET);
        int results = lua_gettop(c.L) - top;
        micro::keep(results);
        lua_settop(c.L, top);
    }
    std::free(buffer);
}

void run_case(const char* name, lua_case& c) {
    std::string prefix = std::string("seri.") + name;
    micro::run(prefix + ".pack", [&c](size_t n) { bench_pack(c, n); });
    micro::run(prefix + ".unpack", [&c](size_t n) { bench_unpack(c, n); });
}

void run_group() {
    {
        lua_case c;
        lua_pushinteger(c.L, 123456);
        c.values = 1;
        run_case("int", c);
    }
    {
        lua_case c;
        lua_pushliteral(c.L, "hello, skynet");
        lua_pushinteger(c.L, 42);
        c.values = 2;
        run_case("string_int", c);
    }
    {
        lua_case c;
        // Mixed value types, as a typical game or chat message carries; all string keys, so the packer takes
        // its hash-part path.
        if (luaL_dostring(c.L, "return {id = 42, name = 'player', level = 7, hp = 123.5, alive = true, "
                               "x = 10, y = -20, guild = 'red', score = 99999, flags = 3}") != LUA_OK) {
            std::abort();   // a fixed chunk: cannot fail unless Lua itself is broken
        }
        c.values = 1;
        run_case("table10", c);
    }
}

[[maybe_unused]] const int registered = micro::add_group("seri", run_group);

}  // namespace
