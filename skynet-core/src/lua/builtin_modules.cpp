#include "lua/builtin_modules.h"

namespace skynet {

namespace {
const luaL_Reg builtin[] = {
    {"skynet.core", luaopen_skynet_core},
    {"skynet.profile", luaopen_skynet_profile},
    {"skynet.codecache", luaopen_skynet_codecache},
    {"skynet.socketdriver", luaopen_skynet_socketdriver},
    {"skynet.netpack", luaopen_skynet_netpack},
    {"skynet.multicast.core", luaopen_skynet_multicast_core},
    {"skynet.memory", luaopen_skynet_memory},
    {"skynet.dispatcher", luaopen_skynet_dispatcher},
    {nullptr, nullptr},
};
}  // namespace

void preload_builtin_modules(lua_State* L) {
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    for (const luaL_Reg* r = builtin; r->name; ++r) {
        lua_pushcfunction(L, r->func);
        lua_setfield(L, -2, r->name);
    }
    lua_pop(L, 1);
}

}  // namespace skynet
