// libFuzzer target: the pub/sub frame parser of examples/pubsub (lualib/pubsub/wire.lua), run in a Lua
// state with Lua line coverage fed to libFuzzer (lua_fuzz_support.h).
//
// The input is one frame as the hub hands it over (the bytes after the 4-byte length). Properties:
// parse_client_frame never raises and answers either a known kind and its fields or nil, an error code
// (malformed or unknown kind) and a reason; a frame it accepts is rebuilt byte for byte by the module's
// own frame builders (the encoding is canonical); decode_fields of the same bytes never raises, and the
// fields it returns encode back to exactly those bytes with pack_field.
#include <lua.hpp>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "lua_fuzz_support.h"

namespace {

constexpr const char* checker = R"lua(
local wire, fail = ...
local KNOWN = { [wire.HELLO] = true, [wire.SUBSCRIBE] = true, [wire.UNSUBSCRIBE] = true,
    [wire.PUBLISH] = true, [wire.PING] = true, [wire.BYE] = true }

local function body_has_nan(values, kinds, n)
    for i = 1, n do
        if kinds[i] == "float" and values[i] ~= values[i] then return true end
    end
    return false
end

-- The frame the builders make for a parsed frame, without its 4-byte length.
local function rebuilt(kind, f)
    local whole
    if kind == wire.HELLO then
        whole = wire.frame(wire.HELLO, string.pack(">I2s1", f[1], f[2]))
    elseif kind == wire.SUBSCRIBE then
        whole = wire.subscribe(f[1], f[2], f[3])
    elseif kind == wire.UNSUBSCRIBE then
        whole = wire.unsubscribe(f[1], f[2])
    elseif kind == wire.PUBLISH then
        whole = wire.publish(f[1], f[2], f[3], f[4])
    elseif kind == wire.PING then
        whole = wire.ping(f[1])
    else
        whole = wire.bye()
    end
    return whole:sub(5)
end

return function(s)
    local ok, kind, f, reason = pcall(wire.parse_client_frame, s)
    if not ok then fail("parse_client_frame raised: " .. tostring(kind)) end
    if kind == nil then
        if f ~= wire.E_MALFORMED and f ~= wire.E_UNKNOWN_KIND then fail("bad error code " .. tostring(f)) end
        if type(reason) ~= "string" or reason == "" then fail("no reason for a refused frame") end
    else
        if not KNOWN[kind] or type(f) ~= "table" then fail("accepted an unknown kind " .. tostring(kind)) end
        local again = rebuilt(kind, f)
        if again ~= s then fail("an accepted frame is not rebuilt byte for byte") end
    end

    local ok2, values, kinds, n = pcall(wire.decode_fields, s, 1)
    if not ok2 then fail("decode_fields raised: " .. tostring(values)) end
    if values == nil then
        if type(kinds) ~= "string" then fail("decode_fields refused without a reason") end
        return
    end
    if #values ~= n and not body_has_nan(values, kinds, n) then
        -- values may hold no nil, so its length is n
        fail("decode_fields: n does not match the values")
    end
    if body_has_nan(values, kinds, n) then return end   -- string.pack writes its own NaN bits
    local parts = {}
    for i = 1, n do wire.pack_field(parts, kinds[i], values[i]) end
    if table.concat(parts) ~= s then fail("decoded fields do not encode back to the same bytes") end
end
)lua";

lua_State* L = nullptr;
int check_ref = LUA_NOREF;

int lua_fail(lua_State* state) {
    if (fuzz::current_budget().exhausted) return luaL_error(state, "budget exhausted");
    fuzz::fail("pubsub wire:", luaL_checkstring(state, 1));
}

void init() {
    L = fuzz::new_state(true);
    const char* root = std::getenv("FUZZ_ROOT");
    std::string path = std::string(root ? root : ".") + "/examples/pubsub/lualib/?.lua";
    lua_getglobal(L, "package");
    lua_pushstring(L, path.c_str());
    lua_setfield(L, -2, "path");
    lua_pop(L, 1);
    lua_getglobal(L, "require");
    lua_pushliteral(L, "pubsub.wire");
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) fuzz::fail("cannot load pubsub.wire (run from the repository root):",
                                                    lua_tostring(L, -1));
    if (luaL_loadbufferx(L, checker, std::strlen(checker), "=checker", "t") != LUA_OK) {
        fuzz::fail("checker does not compile:", lua_tostring(L, -1));
    }
    lua_insert(L, -2);
    lua_pushcfunction(L, lua_fail);
    if (lua_pcall(L, 2, 1, 0) != LUA_OK) fuzz::fail("checker failed:", lua_tostring(L, -1));
    check_ref = luaL_ref(L, LUA_REGISTRYINDEX);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (L == nullptr) init();
    fuzz::begin_run();
    lua_settop(L, 0);
    lua_rawgeti(L, LUA_REGISTRYINDEX, check_ref);
    lua_pushlstring(L, reinterpret_cast<const char*>(data), size);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK && !fuzz::current_budget().exhausted) {
        fuzz::fail("pubsub wire checker raised:", lua_tostring(L, -1));
    }
    lua_settop(L, 0);
    return 0;
}
