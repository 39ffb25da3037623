// skynet.core: the C/Lua boundary of spec §1.1, plus killhook (docs/core-boundary.md).
// Every function checks all of its Lua arguments before it allocates or touches the core, because
// luaL_error long-jumps past C++ destructors.
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "core/node.h"
#include "lua/builtin_modules.h"
#include "lua/lua_seri.h"
#include "lua/snlua.h"

namespace skynet {

namespace {

snlua* ctx(lua_State* L) { return static_cast<snlua*>(lua_touserdata(L, lua_upvalueindex(1))); }

// The message part of send/redirect: (msg [, sz]) at index i.  Sets data/size/type tags; raises on a bad type.
void message_arg(lua_State* L, int i, int& type, void*& data, size_t& size) {
    switch (lua_type(L, i)) {
        case LUA_TSTRING: {
            size_t len = 0;
            const char* s = lua_tolstring(L, i, &len);
            data = len ? const_cast<char*>(s) : nullptr;   // copied by the core
            size = len;
            break;
        }
        case LUA_TLIGHTUSERDATA: {
            lua_Integer sz = luaL_checkinteger(L, i + 1);
            data = lua_touserdata(L, i);
            size = size_t(sz < 0 ? 0 : sz);
            type |= PTYPE_TAG_DONTCOPY;
            break;
        }
        case LUA_TNONE:
        case LUA_TNIL:
            data = nullptr;
            size = 0;
            break;
        default:
            luaL_error(L, "invalid param %s", lua_typename(L, lua_type(L, i)));
    }
}

}  // namespace

void check_destination(lua_State* L, int index) {
    int isnum = 0;
    lua_Integer d = lua_tointegerx(L, index, &isnum);
    if (isnum && d == 0) luaL_error(L, "Invalid service address 0");
    if (!isnum && lua_type(L, index) != LUA_TSTRING)
        luaL_error(L, "dest address type (%s) must be a string or number.", luaL_typename(L, index));
}

int send_from_lua(lua_State* L, snlua* l, uint32_t source, int dest_index, int type, int session, int msg_index) {
    uint32_t dest = 0;
    const char* dest_name = nullptr;
    size_t dest_len = 0;
    int isnum = 0;
    lua_Integer d = lua_tointegerx(L, dest_index, &isnum);
    if (isnum && d != 0) {
        dest = uint32_t(d);
    } else if (!isnum && lua_type(L, dest_index) == LUA_TSTRING) {
        dest_name = lua_tolstring(L, dest_index, &dest_len);
    } else {
        check_destination(L, dest_index);   // raises
    }
    if (session < 0) {
        type |= PTYPE_TAG_ALLOCSESSION;
        session = 0;
    }
    void* data = nullptr;
    size_t size = 0;
    message_arg(L, msg_index, type, data, size);

    service& self = l->self();
    return dest_name ? self.owner().send_name(&self, source, std::string_view(dest_name, dest_len), type, session,
                                              data, size)
                     : self.owner().send(&self, source, dest, type, session, data, size);
}

namespace {

// send and redirect share everything but where the source comes from; type_index is where the type is.
int send_message(lua_State* L, uint32_t source, int type_index) {
    int type = int(luaL_checkinteger(L, type_index));
    int session = lua_isnil(L, type_index + 1) ? -1 : int(luaL_checkinteger(L, type_index + 1));
    int r = send_from_lua(L, ctx(L), source, 1, type, session, type_index + 2);
    if (r == -1) return 0;   // invalid or dead destination: nothing
    if (r == -2) {
        lua_pushboolean(L, 0);   // too large
        return 1;
    }
    lua_pushinteger(L, r);
    return 1;
}

int l_send(lua_State* L) { return send_message(L, ctx(L)->self().handle(), 2); }

int l_redirect(lua_State* L) {
    uint32_t source = uint32_t(luaL_checkinteger(L, 2));
    return send_message(L, source, 3);
}

int l_genid(lua_State* L) {
    service& self = ctx(L)->self();
    lua_pushinteger(L, self.new_session());
    return 1;
}

// The param of command/intcommand: nothing, a string, or a number formatted as skynet does ("%d").
std::string command_param(lua_State* L, int i, bool numeric_as_int) {
    if (lua_isnoneornil(L, i)) return std::string();
    if (numeric_as_int && lua_type(L, i) == LUA_TNUMBER) {
        lua_Integer n = lua_isinteger(L, i) ? lua_tointeger(L, i) : lua_Integer(lua_tonumber(L, i));
        return std::to_string(int32_t(n));
    }
    size_t len = 0;
    const char* s = luaL_checklstring(L, i, &len);
    return std::string(s, len);
}

// Runs a text command for the calling service.  A command that refuses its parameter (command_error)
// leaves its message in `err` and no result: the binding raises it once its C++ objects are gone, because
// luaL_error long-jumps past destructors.
struct command_failure {
    char text[256] = {0};
};

std::optional<std::string> run_command(snlua* l, const char* cmd, const std::string& param, command_failure& err) {
    try {
        return l->owner().command(l->self(), cmd, param);
    } catch (const command_error& e) {
        std::snprintf(err.text, sizeof err.text, "%s", e.what());
        return std::nullopt;
    }
}

int l_command(lua_State* L) {
    const char* cmd = luaL_checkstring(L, 1);
    if (!lua_isnoneornil(L, 2)) luaL_checkstring(L, 2);
    snlua* l = ctx(L);
    command_failure err;
    bool has = false;
    {
        std::string param = command_param(L, 2, false);
        std::optional<std::string> r = run_command(l, cmd, param, err);
        if (r) {
            has = true;
            lua_pushlstring(L, r->data(), r->size());
        }
    }
    if (err.text[0]) return luaL_error(L, "%s", err.text);
    return has ? 1 : 0;
}

int l_intcommand(lua_State* L) {
    const char* cmd = luaL_checkstring(L, 1);
    if (!lua_isnoneornil(L, 2) && lua_type(L, 2) != LUA_TNUMBER) luaL_checkstring(L, 2);
    snlua* l = ctx(L);
    command_failure err;
    char result[64] = {0};
    bool has = false;
    {
        std::string param = command_param(L, 2, true);
        auto r = run_command(l, cmd, param, err);
        if (r) {
            has = true;
            std::snprintf(result, sizeof result, "%s", r->c_str());
        }
    }
    if (err.text[0]) return luaL_error(L, "%s", err.text);
    if (!has) return 0;
    char* end = nullptr;
    long long n = std::strtoll(result, &end, 0);
    if (end && *end == '\0') {
        lua_pushinteger(L, n);
        return 1;
    }
    double f = std::strtod(result, &end);
    if (end && *end == '\0') {
        lua_pushnumber(L, f);
        return 1;
    }
    return luaL_error(L, "Invalid result %s", result);
}

int l_addresscommand(lua_State* L) {
    const char* cmd = luaL_checkstring(L, 1);
    if (!lua_isnoneornil(L, 2)) luaL_checkstring(L, 2);
    snlua* l = ctx(L);
    command_failure err;
    uint32_t addr = 0;
    bool has = false;
    {
        std::string param = command_param(L, 2, false);
        auto r = run_command(l, cmd, param, err);
        if (r && !r->empty() && (*r)[0] == ':') {
            addr = uint32_t(std::strtoul(r->c_str() + 1, nullptr, 16));
            has = true;
        }
    }
    if (err.text[0]) return luaL_error(L, "%s", err.text);
    if (!has) return 0;
    lua_pushinteger(L, addr);
    return 1;
}

int l_error(lua_State* L) {
    snlua* l = ctx(L);
    int n = lua_gettop(L);
    // Each argument through luaL_tolstring (so __tostring and __name apply), joined by single spaces.
    for (int i = 1; i <= n; ++i) {
        if (i > 1) lua_pushliteral(L, " ");
        luaL_tolstring(L, i, nullptr);
    }
    if (n == 0) lua_pushliteral(L, "");
    else lua_concat(L, 2 * n - 1);
    size_t len = 0;
    const char* s = lua_tolstring(L, -1, &len);
    l->owner().log(l->self().handle(), std::string_view(s, len));
    return 0;
}

int l_harbor(lua_State* L) {
    snlua* l = ctx(L);
    uint32_t h = uint32_t(luaL_checkinteger(L, 1));
    uint32_t harbor = h >> 24;
    uint32_t mine = l->owner().handles().harbor() >> 24;
    lua_pushinteger(L, harbor);
    lua_pushboolean(L, harbor != 0 && harbor != mine);
    return 2;
}

int l_callback(lua_State* L) {
    luaL_checktype(L, 1, LUA_TFUNCTION);
    bool forward = lua_toboolean(L, 2);
    ctx(L)->set_callback(L, 1, forward);
    return 0;
}

int l_killhook(lua_State* L) {
    luaL_checktype(L, 1, LUA_TFUNCTION);
    ctx(L)->set_killhook(L, 1);
    return 0;
}

int64_t monotonic_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// trace(tag, user [, co] [, level]): "<TRACE tag> ns user" plus up to three source:line frames.
int l_trace(lua_State* L) {
    snlua* l = ctx(L);
    const char* tag = luaL_checkstring(L, 1);
    const char* user = luaL_checkstring(L, 2);
    lua_State* co = L;
    int level = 1;
    if (lua_isthread(L, 3)) {
        co = lua_tothread(L, 3);
        level = int(luaL_optinteger(L, 4, 1));
    } else {
        level = int(luaL_optinteger(L, 3, 1));
    }
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    char head[64];
    std::snprintf(head, sizeof head, "> %" PRId64 " ", monotonic_ns());
    luaL_addstring(&b, "<TRACE ");
    luaL_addstring(&b, tag);
    luaL_addstring(&b, head);
    luaL_addstring(&b, user);
    lua_Debug ar;
    for (int i = 0; i < 3 && lua_getstack(co, level + i, &ar); ++i) {
        lua_getinfo(co, "Sl", &ar);
        if (ar.currentline <= 0) continue;
        char frame[256];
        std::snprintf(frame, sizeof frame, " %s:%d", ar.short_src, ar.currentline);
        luaL_addstring(&b, frame);
    }
    luaL_pushresult(&b);
    size_t len = 0;
    const char* s = lua_tolstring(L, -1, &len);
    l->owner().log(l->self().handle(), std::string_view(s, len));
    return 0;
}

int l_tostring(lua_State* L) {
    if (lua_isnoneornil(L, 1)) return 0;
    void* p = lua_touserdata(L, 1);
    lua_Integer sz = luaL_checkinteger(L, 2);
    if (!p || sz <= 0) {
        lua_pushliteral(L, "");
        return 1;
    }
    lua_pushlstring(L, static_cast<const char*>(p), size_t(sz));
    return 1;
}

int l_trash(lua_State* L) {
    switch (lua_type(L, 1)) {
        case LUA_TLIGHTUSERDATA: std::free(lua_touserdata(L, 1)); return 0;
        case LUA_TSTRING:
        case LUA_TNIL:
        case LUA_TNONE: return 0;
        default: return luaL_error(L, "skynet.trash invalid param %s", luaL_typename(L, 1));
    }
}

int l_now(lua_State* L) {
    lua_pushinteger(L, lua_Integer(ctx(L)->owner().timers().now_cs()));
    return 1;
}

int l_hpc(lua_State* L) {
    lua_pushinteger(L, lua_Integer(monotonic_ns()));
    return 1;
}

}  // namespace

}  // namespace skynet

extern "C" int luaopen_skynet_core(lua_State* L) {
    using namespace skynet;
    luaL_checkversion(L);
    static const luaL_Reg with_context[] = {
        {"send", l_send},
        {"genid", l_genid},
        {"redirect", l_redirect},
        {"command", l_command},
        {"intcommand", l_intcommand},
        {"addresscommand", l_addresscommand},
        {"error", l_error},
        {"harbor", l_harbor},
        {"callback", l_callback},
        {"trace", l_trace},
        {"killhook", l_killhook},
        {"now", l_now},
        {nullptr, nullptr},
    };
    static const luaL_Reg free_functions[] = {
        {"tostring", l_tostring},
        {"pack", seri_pack},
        {"unpack", seri_unpack},
        {"packstring", seri_packstring},
        {"trash", l_trash},
        {"hpc", l_hpc},
        {nullptr, nullptr},
    };
    lua_createtable(L, 0, 20);
    lua_getfield(L, LUA_REGISTRYINDEX, "skynet_context");
    if (!lua_touserdata(L, -1)) return luaL_error(L, "Init skynet context first");
    luaL_setfuncs(L, with_context, 1);
    luaL_setfuncs(L, free_functions, 0);
    return 1;
}
