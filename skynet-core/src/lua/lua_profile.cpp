// skynet.profile (start, stop, resume, wrap) and the no-op skynet.codecache of stock Lua (spec §1.1, §7).
//
// profile.resume wraps the standard coroutine.resume: it records which coroutine runs (so that SIGNAL 0
// can hook the code that is really looping) and, for coroutines under profile.start, sums their CPU time
// while they run.
#include <ctime>

#include "lua/builtin_modules.h"
#include "lua/compile_cache.h"
#include "lua/snlua.h"

namespace skynet {

namespace {

const char* const start_key = "skynet.profile.start";   // co -> CPU time when it last started running
const char* const total_key = "skynet.profile.total";   // co -> CPU seconds accumulated so far

double thread_cpu() {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}

// Pushes registry[key], creating a weak-keyed table the first time.
void push_table(lua_State* L, const char* key) {
    if (lua_getfield(L, LUA_REGISTRYINDEX, key) == LUA_TTABLE) return;
    lua_pop(L, 1);
    lua_newtable(L);
    lua_newtable(L);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, key);
}

// The snlua of this state, or null outside a service (no registry entry).
snlua* context(lua_State* L) {
    lua_getfield(L, LUA_REGISTRYINDEX, "skynet_context");
    auto* l = static_cast<snlua*>(lua_touserdata(L, -1));
    lua_pop(L, 1);
    return l;
}

// The coroutine argument at index 1, or the running one; pushes it.
void push_co(lua_State* L) {
    if (lua_isthread(L, 1))
        lua_pushvalue(L, 1);
    else
        lua_pushthread(L);
}

int l_start(lua_State* L) {
    push_co(L);
    int co = lua_gettop(L);
    push_table(L, start_key);
    lua_pushvalue(L, co);
    if (lua_rawget(L, -2) != LUA_TNIL)
        return luaL_error(L, "Thread %p start profile more than once", lua_topointer(L, co));
    lua_pop(L, 1);
    lua_pushvalue(L, co);
    lua_pushnumber(L, thread_cpu());
    lua_rawset(L, -3);
    push_table(L, total_key);
    lua_pushvalue(L, co);
    lua_pushnumber(L, 0);
    lua_rawset(L, -3);
    if (auto* l = context(L)) ++l->profiled;
    return 0;
}

int l_stop(lua_State* L) {
    push_co(L);
    int co = lua_gettop(L);
    push_table(L, start_key);
    int starts = lua_gettop(L);
    lua_pushvalue(L, co);
    if (lua_rawget(L, starts) == LUA_TNIL) return luaL_error(L, "Call profile.start() before profile.stop()");
    double started = lua_tonumber(L, -1);
    lua_pop(L, 1);
    push_table(L, total_key);
    int totals = lua_gettop(L);
    lua_pushvalue(L, co);
    lua_rawget(L, totals);
    double total = lua_tonumber(L, -1) + (thread_cpu() - started);
    lua_pop(L, 1);
    lua_pushvalue(L, co);
    lua_pushnil(L);
    lua_rawset(L, starts);
    lua_pushvalue(L, co);
    lua_pushnil(L);
    lua_rawset(L, totals);
    if (auto* l = context(L); l && l->profiled > 0) --l->profiled;
    lua_pushnumber(L, total);
    return 1;
}

// Pauses or resumes the CPU clock of a profiled coroutine around a resume.
void account(lua_State* L, int co, bool entering) {
    push_table(L, start_key);
    lua_pushvalue(L, co);
    if (lua_rawget(L, -2) == LUA_TNIL) {
        lua_pop(L, 2);
        return;
    }
    double started = lua_tonumber(L, -1);
    lua_pop(L, 1);
    double now = thread_cpu();
    if (!entering) {
        push_table(L, total_key);
        lua_pushvalue(L, co);
        lua_rawget(L, -2);
        double total = lua_tonumber(L, -1) + (now - started);
        lua_pop(L, 1);
        lua_pushvalue(L, co);
        lua_pushnumber(L, total);
        lua_rawset(L, -3);
        lua_pop(L, 1);
    }
    lua_pushvalue(L, co);
    lua_pushnumber(L, now);
    lua_rawset(L, -3);
    lua_pop(L, 1);
}

// Resumes `co` with the n values on top of L's stack, the way coroutine.resume does (same results, same
// error messages, which lua_resume produces), but without a second C call through the original function:
// every message a service handles goes through here twice.  Leaves true + results, or false + error.
int resume_values(lua_State* L, lua_State* co, int nargs) {
    if (!lua_checkstack(co, nargs)) {
        lua_pushboolean(L, 0);
        lua_pushliteral(L, "too many arguments to resume");
        return 2;
    }
    lua_xmove(L, co, nargs);
    int nres = 0;
    int status = lua_resume(co, L, nargs, &nres);
    if (status == LUA_OK || status == LUA_YIELD) {
        if (!lua_checkstack(L, nres + 1)) {
            lua_pop(co, nres);
            lua_pushboolean(L, 0);
            lua_pushliteral(L, "too many results to resume");
            return 2;
        }
        lua_xmove(co, L, nres);
        lua_pushboolean(L, 1);
        lua_insert(L, -(nres + 1));
        return nres + 1;
    }
    // The error message; when co is L itself (resuming the running coroutine) it is already on top.
    lua_xmove(co, L, 1);
    lua_pushboolean(L, 0);
    lua_insert(L, -2);
    return 2;
}

// Upvalue 1: the snlua (or nil outside a service).
int l_resume(lua_State* L) {
    luaL_checktype(L, 1, LUA_TTHREAD);
    lua_State* co = lua_tothread(L, 1);
    auto* l = static_cast<snlua*>(lua_touserdata(L, lua_upvalueindex(1)));
    int nargs = lua_gettop(L) - 1;
    // Only pay for the accounting's table look-ups while some coroutine is profiled.
    bool accounting = !l || l->profiled > 0;
    if (accounting) account(L, 1, true);
    lua_State* previous = l ? l->enter(co) : nullptr;
    int nret = resume_values(L, co, nargs);
    if (l) l->active.store(previous, std::memory_order_relaxed);
    if (accounting) account(L, 1, false);   // co is still at index 1, below the results
    return nret;
}

// coroutine.wrap on top of our resume: errors propagate to the caller like the standard wrap.
int l_wrap_call(lua_State* L) {
    lua_State* co = lua_tothread(L, lua_upvalueindex(1));
    int nargs = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(2));   // profile.resume
    lua_pushthread(co);
    lua_xmove(co, L, 1);
    lua_rotate(L, 1, 2);
    lua_call(L, nargs + 1, LUA_MULTRET);
    if (!lua_toboolean(L, 1)) {
        int status = lua_status(co);
        if (status != LUA_OK && status != LUA_YIELD) lua_resetthread(co);
        lua_settop(L, 2);
        if (lua_type(L, 2) == LUA_TSTRING) {
            luaL_where(L, 1);
            lua_insert(L, 2);
            lua_concat(L, 2);
        }
        return lua_error(L);
    }
    return lua_gettop(L) - 1;
}

int l_wrap(lua_State* L) {
    luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_State* co = lua_newthread(L);
    lua_pushvalue(L, 1);
    lua_xmove(L, co, 1);
    lua_getfield(L, LUA_REGISTRYINDEX, "skynet.profile.resume");
    lua_pushcclosure(L, l_wrap_call, 2);
    return 1;
}

int l_cache_noop(lua_State*) { return 0; }

int l_cache_clear(lua_State*) {
    clear_compile_cache();
    return 0;
}

}  // namespace

}  // namespace skynet

extern "C" int luaopen_skynet_profile(lua_State* L) {
    using namespace skynet;
    luaL_checkversion(L);
    lua_createtable(L, 0, 4);
    lua_pushcfunction(L, l_start);
    lua_setfield(L, -2, "start");
    lua_pushcfunction(L, l_stop);
    lua_setfield(L, -2, "stop");
    lua_getfield(L, LUA_REGISTRYINDEX, "skynet_context");
    lua_pushcclosure(L, l_resume, 1);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, "skynet.profile.resume");
    lua_setfield(L, -2, "resume");
    lua_pushcfunction(L, l_wrap);
    lua_setfield(L, -2, "wrap");
    return 1;
}

extern "C" int luaopen_skynet_codecache(lua_State* L) {
    using namespace skynet;
    luaL_checkversion(L);
    lua_createtable(L, 0, 4);
    lua_pushcfunction(L, l_cache_clear);
    lua_setfield(L, -2, "clear");
    lua_pushcfunction(L, [](lua_State* L) -> int {
        lua_pushinteger(L, lua_Integer(prefetched_loads()));
        return 1;
    });
    lua_setfield(L, -2, "prefetched");
    lua_pushcfunction(L, l_cache_noop);
    lua_setfield(L, -2, "mode");
    lua_getglobal(L, "loadfile");
    lua_setfield(L, -2, "loadfile");
    return 1;
}
