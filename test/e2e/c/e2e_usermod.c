/* A user's own C module, built by the test into a temporary folder and found through lua_cpath. */
#include <lauxlib.h>
#include <lua.h>

static int twice(lua_State *L) {
    lua_pushinteger(L, 2 * luaL_checkinteger(L, 1));
    return 1;
}

int luaopen_e2e_usermod(lua_State *L) {
    luaL_Reg funcs[] = {{"twice", twice}, {NULL, NULL}};
    luaL_newlib(L, funcs);
    return 1;
}
