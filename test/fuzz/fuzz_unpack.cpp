// libFuzzer target: skynet.unpack (skynet-core/src/lua/lua_seri.cpp) of arbitrary bytes.
//
// Properties: unpack reads only the bytes it is given (the input is an exactly sized malloc'ed block, as a
// message payload is, so AddressSanitizer sees any overread) and either returns values or raises an error
// starting with "Invalid serialize stream"; whatever it returns packs again (unless nested deeper than
// pack's limit of 32 tables) and unpacks to the same values.
#include <lua.hpp>

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "lua/lua_seri.h"
#include "lua_fuzz_support.h"

namespace {

// Runs in the fuzzed state: the properties above, in Lua, because comparing Lua values is easiest there.
constexpr const char* checker = R"lua(
local unpack, packstring, fail = ...

local function same(a, b, depth)
    if type(a) ~= type(b) then return false end
    if type(a) == "number" then
        if math.type(a) ~= math.type(b) then return false end
        return a == b or (a ~= a and b ~= b)
    end
    if type(a) ~= "table" then return a == b end
    if depth > 200 then return true end
    -- Keys that are tables cannot be looked up in the other table; they are only counted.
    local table_keys_a, table_keys_b = 0, 0
    for k, v in next, a do
        if type(k) == "table" then
            table_keys_a = table_keys_a + 1
        elseif not same(v, rawget(b, k), depth + 1) then
            return false
        end
    end
    for k in next, b do
        if type(k) == "table" then
            table_keys_b = table_keys_b + 1
        elseif rawget(a, k) == nil then
            return false
        end
    end
    return table_keys_a == table_keys_b
end

return function(ud, size)
    local r = table.pack(pcall(unpack, ud, size))
    if not r[1] then
        local e = tostring(r[2])
        if not e:find("^Invalid serialize stream") and not e:find("not enough memory", 1, true) then
            fail("unpack raised an unexpected error: " .. e)
        end
        return
    end
    local ok, s = pcall(packstring, table.unpack(r, 2, r.n))
    if not ok then
        s = tostring(s)
        if s:find("serialize can't pack too depth table", 1, true) or s:find("not enough memory", 1, true) then
            return
        end
        fail("packing what unpack returned failed: " .. s)
    end
    local r2 = table.pack(pcall(unpack, s))
    if not r2[1] then fail("unpacking what pack wrote failed: " .. tostring(r2[2])) end
    if r2.n ~= r.n then fail("the number of values changed in a round trip") end
    for i = 2, r.n do
        if not same(r[i], r2[i], 0) then fail("value " .. (i - 1) .. " changed in a round trip") end
    end
end
)lua";

int lua_fail(lua_State* L) {
    // A run cut short by the budget proves nothing.
    if (fuzz::current_budget().exhausted) return luaL_error(L, "budget exhausted");
    fuzz::fail("unpack:", luaL_checkstring(L, 1));
}

lua_State* state = nullptr;
int check_ref = LUA_NOREF;

void init() {
    state = fuzz::new_state(false);
    if (luaL_loadbufferx(state, checker, std::strlen(checker), "=checker", "t") != LUA_OK) {
        fuzz::fail("checker does not compile:", lua_tostring(state, -1));
    }
    lua_pushcfunction(state, skynet::seri_unpack);
    lua_pushcfunction(state, skynet::seri_packstring);
    lua_pushcfunction(state, lua_fail);
    if (lua_pcall(state, 3, 1, 0) != LUA_OK) fuzz::fail("checker failed to load:", lua_tostring(state, -1));
    check_ref = luaL_ref(state, LUA_REGISTRYINDEX);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (state == nullptr) init();
    fuzz::begin_run();
    // An exactly sized copy: libFuzzer's own buffer may be larger than `size` in some modes.
    void* copy = std::malloc(size == 0 ? 1 : size);
    if (size != 0) std::memcpy(copy, data, size);
    lua_settop(state, 0);
    lua_rawgeti(state, LUA_REGISTRYINDEX, check_ref);
    lua_pushlightuserdata(state, copy);
    lua_pushinteger(state, static_cast<lua_Integer>(size));
    if (lua_pcall(state, 2, 0, 0) != LUA_OK && !fuzz::current_budget().exhausted) {
        fuzz::fail("unpack checker raised:", lua_tostring(state, -1));
    }
    std::free(copy);
    lua_settop(state, 0);
    lua_gc(state, LUA_GCCOLLECT);
    return 0;
}
