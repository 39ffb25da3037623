// skynet.dispatcher.service: the parts of skynet.lua that make a service, in C (docs/core-boundary.md, "The
// scheduler in C"): register_protocol, dispatch, self, init_service and start; the built-in protocols; the
// kill hook; and the lazy parts, whose names live here rather than in every service's state.
//
// A function that may run Lua code able to yield (start's function, the debug and error handlers, exiting)
// calls it with a continuation, so that a skynet thread can block in it as it could in the Lua version.
#include <string>

#include "lua/scheduler_shared.h"
#include "lua/snlua.h"

namespace skynet::sched {

namespace {

// Every function made here is a closure over [snlua, S] (scheduler_shared.h's context, get_state...).

// Pushes a new closure of f over this module's two upvalues (plus `extra` values from the top).
void push_closure(lua_State* L, lua_CFunction f, int extra = 0) {
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushvalue(L, state_index);
    if (extra) lua_rotate(L, -(extra + 2), 2);
    lua_pushcclosure(L, f, 2 + extra);
}

// Pushes skynet[name] (as Lua reads it: a replaced API function is the one called).
void push_api(lua_State* L, const char* name) {
    get_state(L, st_skynet);
    lua_getfield(L, -1, name);
    lua_remove(L, -2);
}

// Pushes skynet.core's function `name` (I.c).
void push_core(lua_State* L, const char* name) {
    push_internal(L, state_index, "c");
    lua_getfield(L, -1, name);
    lua_remove(L, -2);
}

int no_results(lua_State*, int, lua_KContext) { return 0; }

// ---- Lazy parts -----------------------------------------------------------------------------------------
// Most services never call skynet.request, watch, killthread, trace and the like, and rarely meet an unknown
// session or a dying thread; that code (lualib/skynet/lazy/) is loaded the first time one of its names is
// read from `skynet` (the API) or from I (what the parts define for skynet.lua and for each other).

struct lazy_name {
    const char* name;
    const char* part;
};

const lazy_name api_names[] = {
    {"response", "response"}, {"rawcall", "response"}, {"tracecall", "response"},
    {"request", "request"},
    {"watch", "watch"}, {"unwatch", "watch"},
    {"task", "tasks"}, {"uniqtask", "tasks"}, {"killthread", "tasks"},
    {"trace", "trace"}, {"tracetag", "trace"}, {"tracelog", "trace"}, {"traceproto", "trace"},
    {"trace_timeout", "trace"},
    {"query", "node"}, {"register", "node"}, {"name", "node"}, {"harbor", "node"}, {"setenv", "node"},
    {"endless", "node"}, {"mqlen", "node"}, {"stat", "node"}, {"memlimit", "node"},
    {"uniqueservice", "node"}, {"queryservice", "node"}, {"address", "node"}, {"context", "node"},
    {"ignoreret", "node"}, {"genid", "node"}, {"rawsend", "node"}, {"redirect", "node"},
    {"starttime", "node"}, {"time", "node"}, {"localname", "node"}, {"getenv", "node"},
    {"newservice", "node"},
    {"dispatch_unknown_request", "dispatch"}, {"dispatch_unknown_response", "dispatch"},
    {"term", "errors"},
    {"exit", "exit"},
    {"info_func", "debug"},
};

const lazy_name internal_names[] = {
    {"free_session", "sessions"}, {"enter_careful", "sessions"}, {"careful_timeout", "sessions"},
    {"auxsend", "sessions"}, {"auxtimeout", "sessions"}, {"auxgenid", "sessions"}, {"yield_call", "sessions"},
    {"lua_wait", "sessions"},
    {"raw_dispatch_message", "dispatch"},
    {"error_dispatch", "errors"}, {"forgot_response", "errors"}, {"fail_request", "errors"},
    {"abort_unpacking", "errors"}, {"join_error", "errors"}, {"thread_failed", "errors"},
    {"abandon_all", "exit"}, {"exit_service", "exit"},
    {"end_trace", "trace"}, {"trace_resume", "trace"}, {"note_timeout", "trace"},
    // not a part: the Lua views of the snlua's session entries, made when a part first asks for them
    {"session_id_coroutine", "views"}, {"watching_session", "views"}, {"session_coroutine_id", "views"},
    {"session_coroutine_address", "views"}, {"wait_token", "views"},
};

// I.session_id_coroutine, watching_session, session_coroutine_id, session_coroutine_address, wait_token: the
// five proxies of skynet.dispatcher.sessions (session_table.h).  Only the lazy parts use them, so a service that
// never loads one does without their tables and closures.
void install_session_views(lua_State* L) {
    get_state(L, st_internal);
    const int internal = lua_gettop(L);
    lua_pushcfunction(L, sessions_new);
    get_state(L, st_session_anchors);
    get_state(L, st_sleep_session);
    lua_call(L, 2, 5);
    static const char* const names[] = {"session_id_coroutine", "watching_session", "session_coroutine_id",
                                        "session_coroutine_address", "wait_token"};
    for (int i = 4; i >= 0; --i) lua_setfield(L, internal, names[i]);
    lua_pop(L, 1);
}

// The debug protocol's handler comes from skynet.debug's init, given what it needs of the scheduler.
void install_debug(lua_State* L, int module) {
    lua_getfield(L, module, "init");
    get_state(L, st_skynet);
    lua_createtable(L, 0, 4);
    get_state(L, st_dispatch_message);
    lua_setfield(L, -2, "dispatch");
    get_state(L, st_suspend);
    lua_setfield(L, -2, "suspend");
    get_state(L, st_resume);
    lua_setfield(L, -2, "resume");
    get_state(L, st_internal);
    lua_setfield(L, -2, "internal");
    lua_call(L, 2, 1);   // dispatch
    get_state(L, st_proto);
    lua_getfield(L, -1, "debug");   // p
    lua_getfield(L, -1, "lazy");
    if (lua_toboolean(L, -1)) {
        lua_pushnil(L);
        lua_setfield(L, -3, "lazy");
        lua_pushvalue(L, -4);
        lua_setfield(L, -3, "dispatch");
    }
    lua_pop(L, 4);
}

// Loads a part: found next to skynet.lua rather than through package.path, because a service that changed
// package.path must still be able to fail a request or exit.  A part's module is called as m(skynet, I).
void load_part(lua_State* L, const char* part) {
    if (std::strcmp(part, "views") == 0) return install_session_views(L);
    int top = lua_gettop(L);
    std::string name = std::strcmp(part, "debug") == 0 ? "skynet.debug" : std::string("skynet.lazy.") + part;
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "loaded");     // top + 2
    const int loaded = top + 2;
    if (lua_getfield(L, loaded, name.c_str()) == LUA_TNIL) {
        lua_pop(L, 1);
        bool found = false;
        if (get_state(L, st_lib_dir) == LUA_TSTRING) {
            std::string filename = lua_tostring(L, -1);
            for (char ch : name) filename += ch == '.' ? '/' : ch;
            filename += ".lua";
            lua_getglobal(L, "loadfile");
            lua_pushstring(L, filename.c_str());
            lua_call(L, 1, 1);
            if (lua_isfunction(L, -1)) {
                lua_pushstring(L, name.c_str());
                lua_pushstring(L, filename.c_str());
                lua_call(L, 2, 1);
                if (!lua_toboolean(L, -1)) {
                    lua_pop(L, 1);
                    lua_pushboolean(L, 1);
                }
                lua_pushvalue(L, -1);
                lua_setfield(L, loaded, name.c_str());
                found = true;
            }
        }
        if (!found) {
            // this file was not loaded from a file: package.path, and its messages
            lua_getglobal(L, "require");
            lua_pushstring(L, name.c_str());
            lua_call(L, 1, 1);
        }
    }
    const int module = lua_gettop(L);
    if (std::strcmp(part, "debug") == 0) {
        install_debug(L, module);
    } else {
        lua_pushvalue(L, module);
        get_state(L, st_skynet);
        get_state(L, st_internal);
        lua_call(L, 2, 0);
    }
    lua_settop(L, top);
}

// __index of skynet (api) or I (internal): a name of a part loads it, then is read again.
template <const lazy_name* names, size_t count>
int lazy_index(lua_State* L) {
    if (lua_type(L, 2) != LUA_TSTRING) return 0;
    const char* key = lua_tostring(L, 2);
    for (size_t i = 0; i < count; ++i) {
        if (std::strcmp(names[i].name, key) == 0) {
            load_part(L, names[i].part);
            lua_rawget(L, 1);
            return 1;
        }
    }
    return 0;
}

constexpr size_t api_count = sizeof api_names / sizeof api_names[0];
constexpr size_t internal_count = sizeof internal_names / sizeof internal_names[0];

// ---- Protocols ------------------------------------------------------------------------------------------

// skynet.register_protocol(class)
int l_register_protocol(lua_State* L) {
    // (not luaL_checktype: its message names the function by a search of package.loaded, whose order varies)
    if (!lua_istable(L, 1)) return luaL_error(L, "register_protocol needs a table, got %s", luaL_typename(L, 1));
    lua_settop(L, 1);
    lua_getfield(L, 1, "name");   // 2
    lua_getfield(L, 1, "id");     // 3
    if (lua_type(L, 2) != LUA_TSTRING || !lua_isinteger(L, 3) || lua_tointeger(L, 3) < 0 || lua_tointeger(L, 3) > 255)
        return luaL_error(L, "register_protocol needs a string name and an integer id in 0..255");
    get_state(L, st_proto);       // 4
    lua_pushvalue(L, 2);
    bool taken = lua_gettable(L, 4) != LUA_TNIL;
    lua_pushvalue(L, 3);
    taken = lua_gettable(L, 4) != LUA_TNIL || taken;
    if (taken)
        return luaL_error(L, "protocol %s (%I) is already registered", lua_tostring(L, 2), lua_tointeger(L, 3));
    lua_settop(L, 4);
    lua_pushvalue(L, 2);
    lua_pushvalue(L, 1);
    lua_settable(L, 4);
    lua_pushvalue(L, 3);
    lua_pushvalue(L, 1);
    lua_settable(L, 4);
    return 0;
}

// skynet.dispatch(typename [, func]) -> the old dispatch function, or the current one
int l_dispatch(lua_State* L) {
    lua_settop(L, 2);
    get_state(L, st_proto);
    lua_pushvalue(L, 1);
    lua_gettable(L, 3);   // 4: p
    if (lua_toboolean(L, 2)) {
        if (lua_isnil(L, 4)) {
            luaL_tolstring(L, 1, nullptr);
            return luaL_error(L, "unknown protocol %s", lua_tostring(L, -1));
        }
        lua_getfield(L, 4, "dispatch");
        lua_pushvalue(L, 2);
        lua_setfield(L, 4, "dispatch");
        return 1;
    }
    if (!lua_toboolean(L, 4)) return 1;   // p and p.dispatch
    lua_getfield(L, 4, "dispatch");
    return 1;
}

// The error protocol: its unpack gives the message as it is, its handler is lazy/errors.lua's.
int identity(lua_State* L) { return lua_gettop(L); }

int l_error_dispatch(lua_State* L) {
    push_internal(L, state_index, "error_dispatch");
    lua_insert(L, 1);
    lua_callk(L, lua_gettop(L) - 1, LUA_MULTRET, 0, all_results);
    return lua_gettop(L);
}

// The debug protocol until its first message: that loads skynet.debug, whose handler then takes over.
int l_debug_dispatch(lua_State* L) {
    load_part(L, "debug");
    get_state(L, st_proto);
    lua_getfield(L, -1, "debug");
    lua_getfield(L, -1, "dispatch");
    lua_replace(L, -3);
    lua_pop(L, 1);
    lua_insert(L, 1);
    lua_callk(L, lua_gettop(L) - 1, LUA_MULTRET, 0, all_results);
    return lua_gettop(L);
}

// register_protocol { name = name, id = id, pack = c.pack, unpack = ..., dispatch = ... }, for the four
// protocols every service has.  unpack/dispatch: a C function, or nullptr (c.unpack / none).
void register_builtin(lua_State* L, const char* name, int id, bool lua_pack, lua_CFunction unpack,
                      lua_CFunction dispatch) {
    push_closure(L, l_register_protocol);
    lua_createtable(L, 0, 6);
    lua_pushstring(L, name);
    lua_setfield(L, -2, "name");
    lua_pushinteger(L, id);
    lua_setfield(L, -2, "id");
    if (lua_pack) {
        push_core(L, "pack");
        lua_setfield(L, -2, "pack");
        push_core(L, "unpack");
        lua_setfield(L, -2, "unpack");
    }
    if (unpack) {
        lua_pushcfunction(L, unpack);
        lua_setfield(L, -2, "unpack");
    }
    if (dispatch) {
        push_closure(L, dispatch);
        lua_setfield(L, -2, "dispatch");
    }
    lua_call(L, 1, 0);
}

// ---- Starting a service ---------------------------------------------------------------------------------

// skynet.self(): the service's handle (what c.addresscommand "REG" answers)
int l_self(lua_State* L) {
    lua_pushinteger(L, lua_Integer(context(L)->self().handle()));
    return 1;
}

// xpcall's body in init_service: skynet.require's init_all() (the skynet.init hooks of the main chunk),
// then start's function (third upvalue).  Either may block.
int init_body_k(lua_State* L, int, lua_KContext step) {
    if (step == 0) {
        lua_pushvalue(L, lua_upvalueindex(3));
        lua_callk(L, 0, 0, 1, init_body_k);
    }
    return 0;
}

int init_body(lua_State* L) {
    get_state(L, st_require);
    lua_getfield(L, -1, "init_all");
    lua_remove(L, -2);
    lua_callk(L, 0, 0, 0, init_body_k);
    return init_body_k(L, LUA_OK, 0);
}

// After the body: LAUNCHOK to the launcher, or the error logged, ERROR sent and the service ended.
// Stack: start, traceback, [error].
int init_service_done(lua_State* L, int status, lua_KContext) {
    if (status == LUA_OK || status == LUA_YIELD) {
        push_api(L, "send");
        lua_pushliteral(L, ".launcher");
        lua_pushliteral(L, "lua");
        lua_pushliteral(L, "LAUNCHOK");
        lua_call(L, 3, 0);
        return 0;
    }
    luaL_tolstring(L, 3, nullptr);
    push_core(L, "error");
    lua_pushfstring(L, "init service failed: %s", lua_tostring(L, -2));
    lua_call(L, 1, 0);
    push_api(L, "send");
    lua_pushliteral(L, ".launcher");
    lua_pushliteral(L, "lua");
    lua_pushliteral(L, "ERROR");
    lua_call(L, 3, 0);
    lua_pushliteral(L, "error");
    push_internal(L, state_index, "exit_service");
    lua_insert(L, -2);
    lua_callk(L, 1, 0, 0, no_results);   // yields "QUIT" in a skynet thread
    return 0;
}

// skynet.init_service(start)
int l_init_service(lua_State* L) {
    lua_settop(L, 1);
    lua_getglobal(L, "debug");
    lua_getfield(L, -1, "traceback");
    lua_remove(L, -2);   // 2
    lua_pushvalue(L, 1);
    push_closure(L, init_body, 1);
    int status = lua_pcallk(L, 0, 0, 2, 0, init_service_done);
    return init_service_done(L, status, 0);
}

// The body of start's timeout: skynet.init_service(start's function), then no init thread any more.
int start_body_done(lua_State* L, int, lua_KContext) {
    lua_pushboolean(L, 0);
    lua_rawseti(L, state_index, st_init_thread);
    return 0;
}

int start_body(lua_State* L) {
    push_api(L, "init_service");
    lua_pushvalue(L, lua_upvalueindex(3));
    lua_callk(L, 1, 0, 0, start_body_done);
    return start_body_done(L, LUA_OK, 0);
}

// skynet.start(start_func): the callback is installed, and start's function runs in a timeout(0) thread.
int l_start(lua_State* L) {
    lua_settop(L, 1);
    push_core(L, "callback");
    get_state(L, st_callback);
    lua_call(L, 1, 0);
    push_api(L, "timeout");
    lua_pushinteger(L, 0);
    lua_pushvalue(L, 1);
    push_closure(L, start_body, 1);
    lua_call(L, 2, 1);
    lua_rawseti(L, state_index, st_init_thread);
    return 0;
}

// Whether exit.lua's abandon_all would find anything to do: a queued fork, a pending session (a waiting
// thread, a watched call, a skynet.wait), a request being handled with its session, or an open response
// closure.  Most services are killed idle (a node's shutdown, a kill of a finished worker); for them the
// exit part and the Lua views of the sessions it reads need not be loaded only to find nothing.
bool nothing_to_abandon(lua_State* L, snlua* l) {
    if (l->scalars.at(st_fork_head) <= l->scalars.at(st_fork_tail) || l->pending.size() != 0) return false;
    for (const task_record& t : l->tasks)
        if (t.used && t.has_session) return false;
    get_state(L, st_internal);
    lua_pushliteral(L, "unresponse");
    bool none = false;
    if (lua_rawget(L, -2) == LUA_TTABLE) {
        lua_pushnil(L);
        none = lua_next(L, -2) == 0;
    }
    lua_settop(L, 0);
    return none;
}

// Killed from outside (spec §0.3): the core calls this before closing the state.  It runs in the main
// thread, where no skynet thread is current.
int l_kill_hook(lua_State* L) {
    lua_pushnil(L);
    lua_rawseti(L, state_index, st_running_thread);
    if (nothing_to_abandon(L, context(L))) return 0;
    call_internal_at(L, state_index, "abandon_all", 0, 0);
    return 0;
}

}  // namespace

// service(S): fills skynet (S[st_skynet]) with register_protocol, dispatch, self, init_service and start,
// makes it and I load the lazy parts, registers the built-in protocols and sets the kill hook.  Called from
// skynet.lua's main chunk, whose file's folder is where the lazy parts are.
int service_new(lua_State* L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    static const struct { int slot; int type; } required[] = {
        {st_skynet, LUA_TTABLE},          {st_internal, LUA_TTABLE},       {st_proto, LUA_TTABLE},
        {st_callback, LUA_TFUNCTION},     {st_suspend, LUA_TFUNCTION},     {st_resume, LUA_TFUNCTION},
        {st_dispatch_message, LUA_TFUNCTION}, {st_require, LUA_TTABLE},
    };
    for (const auto& r : required) {
        if (lua_rawgeti(L, 1, r.slot) != r.type)
            return luaL_error(L, "skynet.dispatcher.service: S[%d] must be a %s", r.slot, lua_typename(L, r.type));
        lua_pop(L, 1);
    }
    // the caller's file: "@path/skynet.lua" gives "path/"
    lua_Debug ar;
    if (lua_getstack(L, 1, &ar) && lua_getinfo(L, "S", &ar) && ar.source[0] == '@') {
        const char* path = ar.source + 1;
        const char* slash = std::strrchr(path, '/');
        lua_pushlstring(L, path, slash ? size_t(slash - path + 1) : 0);
    } else {
        lua_pushboolean(L, 0);
    }
    lua_rawseti(L, 1, st_lib_dir);
    insert_context(L, 1);   // [context, S]: the upvalues of push_closure's functions

    lua_rawgeti(L, 2, st_skynet);   // 3
    static const luaL_Reg api[] = {
        {"register_protocol", l_register_protocol}, {"dispatch", l_dispatch},
        {"init_service", l_init_service},          {"start", l_start},
        {"self", l_self},                          {nullptr, nullptr},
    };
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 2);
    luaL_setfuncs(L, api, 2);

    lua_createtable(L, 0, 1);
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 2);
    lua_pushcclosure(L, lazy_index<api_names, api_count>, 2);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, 3);
    lua_rawgeti(L, 2, st_internal);
    lua_createtable(L, 0, 1);
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 2);
    lua_pushcclosure(L, lazy_index<internal_names, internal_count>, 2);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, -2);
    lua_settop(L, 2);

    // The functions below are made with push_closure, which reads the upvalues of a running closure: run
    // the rest inside one.
    lua_pushcclosure(L, [](lua_State* L) -> int {
        register_builtin(L, "lua", 10, true, nullptr, nullptr);
        register_builtin(L, "response", 1, false, nullptr, nullptr);
        register_builtin(L, "error", 7, false, identity, l_error_dispatch);
        register_builtin(L, "debug", 9, true, nullptr, l_debug_dispatch);
        get_state(L, st_proto);
        lua_getfield(L, -1, "debug");
        lua_pushboolean(L, 1);
        lua_setfield(L, -2, "lazy");
        lua_settop(L, 0);
        push_core(L, "killhook");
        if (lua_isfunction(L, -1)) {
            push_closure(L, l_kill_hook);
            lua_call(L, 1, 0);
        }
        return 0;
    }, 2);
    lua_call(L, 0, 0);
    return 0;
}

}  // namespace skynet::sched
