// The C modules built into ./skynet; `require` finds them through package.preload, so no .so is needed.
#pragma once
#include <lua.hpp>

namespace skynet {

// Adds every built-in module to package.preload of L.
void preload_builtin_modules(lua_State* L);

}  // namespace skynet

extern "C" {
int luaopen_skynet_core(lua_State* L);
int luaopen_skynet_profile(lua_State* L);
int luaopen_skynet_codecache(lua_State* L);
int luaopen_skynet_socketdriver(lua_State* L);
int luaopen_skynet_netpack(lua_State* L);
int luaopen_skynet_multicast_core(lua_State* L);
int luaopen_skynet_memory(lua_State* L);
int luaopen_skynet_dispatcher(lua_State* L);
}
