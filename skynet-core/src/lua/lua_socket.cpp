// skynet.socketdriver: the socket functions of spec §5.2 over the socket server (net/socket_server.h).
//
// Every function checks all of its Lua arguments before it allocates anything or calls into the
// server: luaL_error long-jumps over C++ destructors, so nothing owning memory may be alive when an
// argument check can still fail.
#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "core/node.h"
#include "lua/builtin_modules.h"
#include "lua/snlua.h"
#include "net/address.h"
#include "net/read_buffer.h"
#include "net/socket_event.h"
#include "net/socket_server.h"
#include "net/unix_path.h"

namespace skynet {

namespace {

constexpr const char* buffer_meta = "skynet.socketdriver.buffer";
constexpr int default_backlog = 32;

// ---- context ------------------------------------------------------------------------------------------

snlua* ctx(lua_State* L) { return static_cast<snlua*>(lua_touserdata(L, lua_upvalueindex(1))); }

socket_server* server(lua_State* L) {
    auto* s = static_cast<socket_server*>(lua_touserdata(L, lua_upvalueindex(2)));
    if (!s) luaL_error(L, "socket server is not running");
    return s;
}

uint32_t self_handle(lua_State* L) { return ctx(L)->self().handle(); }

// ---- the read buffer userdata -------------------------------------------------------------------------

read_buffer* check_buffer(lua_State* L, int index) {
    auto* b = static_cast<read_buffer*>(luaL_testudata(L, index, buffer_meta));
    if (!b) luaL_error(L, "Need buffer object at param %d", index);
    return b;
}

int buffer_gc(lua_State* L) {
    auto* b = static_cast<read_buffer*>(luaL_testudata(L, 1, buffer_meta));
    if (b) b->~read_buffer();
    return 0;
}

int l_buffer(lua_State* L) {
    void* p = lua_newuserdatauv(L, sizeof(read_buffer), 0);
    new (p) read_buffer();   // constructed before __gc can ever see it
    if (luaL_newmetatable(L, buffer_meta)) {
        lua_pushcfunction(L, buffer_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    return 1;
}

// push(buffer, pool, msg, sz) -> bytes buffered.  Takes ownership of msg.
int l_push(lua_State* L) {
    read_buffer* b = check_buffer(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    char* msg = static_cast<char*>(lua_touserdata(L, 3));
    if (!msg) return luaL_error(L, "need message block at param 3");
    lua_Integer sz = luaL_checkinteger(L, 4);
    if (sz < 0) return luaL_error(L, "invalid message size %d", int(sz));
    if (!b->push(msg, size_t(sz))) {
        std::free(msg);
        return luaL_error(L, "not enough memory");
    }
    lua_pushinteger(L, lua_Integer(b->size()));
    return 1;
}

// Pushes the first n bytes as a Lua string and drops n + skip bytes.
void pop_string(lua_State* L, read_buffer* b, size_t n, size_t skip) {
    if (const char* p = b->contiguous(n)) {
        lua_pushlstring(L, p, n);
    } else {
        luaL_Buffer lb;
        char* out = luaL_buffinitsize(L, &lb, n);
        b->copy(out, n);
        luaL_pushresultsize(&lb, n);
    }
    b->drop(n + skip);
}

// pop(buffer, pool, sz) -> string | nil, bytes left
int l_pop(lua_State* L) {
    read_buffer* b = check_buffer(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_Integer sz = luaL_checkinteger(L, 3);
    if (sz <= 0 || size_t(sz) > b->size())
        lua_pushnil(L);
    else
        pop_string(L, b, size_t(sz), 0);
    lua_pushinteger(L, lua_Integer(b->size()));
    return 2;
}

int l_readall(lua_State* L) {
    read_buffer* b = check_buffer(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    pop_string(L, b, b->size(), 0);
    return 1;
}

int l_clear(lua_State* L) {
    if (lua_isnoneornil(L, 1)) return 0;
    read_buffer* b = check_buffer(L, 1);
    b->clear();
    return 0;
}

// readline(buffer, pool, sep) -> the line without sep, or nothing.  With a non-table pool it only checks:
// true when a whole line is buffered.
int l_readline(lua_State* L) {
    read_buffer* b = check_buffer(L, 1);
    bool check_only = !lua_istable(L, 2);
    size_t seplen = 0;
    const char* sep = luaL_checklstring(L, 3, &seplen);
    size_t at = b->find(std::string_view(sep, seplen));
    if (at == read_buffer::npos) return 0;
    if (check_only) {
        lua_pushboolean(L, 1);
        return 1;
    }
    pop_string(L, b, at, seplen);
    return 1;
}

int l_drop(lua_State* L) {
    void* msg = lua_touserdata(L, 1);
    luaL_checkinteger(L, 2);
    std::free(msg);
    return 0;
}

int l_str2p(lua_State* L) {
    size_t sz = 0;
    const char* s = luaL_checklstring(L, 1, &sz);
    void* p = std::malloc(sz ? sz : 1);
    if (!p) return luaL_error(L, "not enough memory");
    std::memcpy(p, s, sz);
    lua_pushlightuserdata(L, p);
    lua_pushinteger(L, lua_Integer(sz));
    return 2;
}

// header(s): a 1..4 byte big-endian length.
int l_header(lua_State* L) {
    size_t len = 0;
    const auto* s = reinterpret_cast<const unsigned char*>(luaL_checklstring(L, 1, &len));
    if (len < 1 || len > 4) return luaL_error(L, "Invalid read %s", reinterpret_cast<const char*>(s));
    lua_Integer n = 0;
    for (size_t i = 0; i < len; ++i) n = (n << 8) | s[i];
    lua_pushinteger(L, n);
    return 1;
}

// unpack(msg, sz) -> type, id, ud, data-pointer or text [, udp address]
int l_unpack(lua_State* L) {
    void* msg = lua_touserdata(L, 1);
    lua_Integer sz = luaL_checkinteger(L, 2);
    socket_event* ev = view_socket_event(msg, sz < 0 ? 0 : size_t(sz));
    if (!ev) return luaL_error(L, "invalid socket message (size %d)", int(sz));
    lua_pushinteger(L, ev->type);
    lua_pushinteger(L, ev->id);
    lua_pushinteger(L, ev->ud);
    if (ev->buffer) {
        // The data block is the caller's from now on (socket.lua pushes it into a read buffer or frees it).
        lua_pushlightuserdata(L, ev->buffer);
        ev->buffer = nullptr;
        if (ev->type == int32_t(socket_event_type::udp)) {
            std::string_view addr = ev->text();
            lua_pushlstring(L, addr.data(), addr.size());
            return 5;
        }
        return 4;
    }
    std::string_view text = ev->text();
    lua_pushlstring(L, text.data(), text.size());
    return 4;
}

// ---- arguments ----------------------------------------------------------------------------------------

// An address given as (host, port) or as one "host:port" / "[v6]:port" string.  check_address raises on a
// bad argument and creates nothing; parse_address creates the host string and never raises.
struct address_arg {
    std::string_view text;
    bool has_port;
    lua_Integer port;
};

address_arg check_address(lua_State* L, int index) {
    size_t len = 0;
    const char* s = luaL_checklstring(L, index, &len);
    address_arg a{std::string_view(s, len), false, 0};
    if (!lua_isnoneornil(L, index + 1)) {
        a.has_port = true;
        a.port = luaL_checkinteger(L, index + 1);
    }
    return a;
}

bool parse_address(const address_arg& a, std::string& host, int& port) {
    if (a.has_port) {
        if (a.port < 0 || a.port > 65535) return false;
        host.assign(a.text);
        port = int(a.port);
        return true;
    }
    return split_host_port(a.text, host, port);
}

// The data argument of send / lsend / udp_send at `index` (and index+1 for a size), as a malloc'ed block.
// Raises on a bad argument before anything is allocated; after the allocation nothing can raise.
byte_buffer send_data(lua_State* L, int index) {
    switch (lua_type(L, index)) {
        case LUA_TLIGHTUSERDATA: {
            if (!lua_isinteger(L, index + 1))
                luaL_error(L, "send: a lightuserdata needs a size (user objects are not supported)");
            lua_Integer sz = lua_tointeger(L, index + 1);
            if (sz < 0) luaL_error(L, "send: invalid size %d", int(sz));
            // Ownership passes to the socket layer, as in skynet.
            return byte_buffer(lua_touserdata(L, index), size_t(sz));
        }
        case LUA_TUSERDATA: {
            size_t sz = lua_isinteger(L, index + 1) ? size_t(lua_tointeger(L, index + 1)) : lua_rawlen(L, index);
            if (sz > lua_rawlen(L, index)) luaL_error(L, "send: size larger than the userdata");
            void* copy = std::malloc(sz ? sz : 1);
            if (!copy) luaL_error(L, "not enough memory");
            std::memcpy(copy, lua_touserdata(L, index), sz);
            return byte_buffer(copy, sz);
        }
        case LUA_TTABLE: {
            // First every piece goes on the stack as a string (conversions may raise: nothing is allocated
            // yet), then they are copied out, which cannot raise.
            int top = lua_gettop(L);
            size_t total = 0;
            for (lua_Integer i = 1;; ++i) {
                luaL_checkstack(L, 2, "too many strings to send");
                int t = lua_rawgeti(L, index, i);
                if (t == LUA_TNIL) {
                    lua_pop(L, 1);
                    break;
                }
                if (t != LUA_TSTRING && t != LUA_TNUMBER) luaL_error(L, "Invalid strings table");
                size_t len = 0;
                lua_tolstring(L, -1, &len);
                total += len;
            }
            int pieces = lua_gettop(L) - top;
            char* out = static_cast<char*>(std::malloc(total ? total : 1));
            if (!out) luaL_error(L, "not enough memory");
            size_t at = 0;
            for (int i = 1; i <= pieces; ++i) {
                size_t len = 0;
                const char* s = lua_tolstring(L, top + i, &len);   // already strings: no conversion
                std::memcpy(out + at, s, len);
                at += len;
            }
            lua_settop(L, top);
            return byte_buffer(out, total);
        }
        default: {
            size_t len = 0;
            const char* s = luaL_checklstring(L, index, &len);
            void* copy = std::malloc(len ? len : 1);
            if (!copy) luaL_error(L, "not enough memory");
            std::memcpy(copy, s, len);
            return byte_buffer(copy, len);
        }
    }
}

// A reason from the server, kept in a plain array so that the std::string can die before luaL_error.
struct reason_text {
    char text[256] = {0};
    void set(const std::string& s) { std::snprintf(text, sizeof text, "%s", s.c_str()); }
};

// ---- TCP ----------------------------------------------------------------------------------------------

// connect("unix:<path>"): our extension.  A malformed path raises, as a malformed port does for TCP.
int connect_unix(lua_State* L, const address_arg& a, socket_server* s, uint32_t self) {
    reason_text reason;
    int id = -1;
    {
        std::string path, error;
        parse_unix_address(a.text, path);
        id = s->connect_unix(self, path, error);
        if (id < 0) reason.set(error);
    }
    if (id < 0) return luaL_error(L, "connect failed: %s", reason.text);
    lua_pushinteger(L, id);
    return 1;
}

int l_connect(lua_State* L) {
    address_arg a = check_address(L, 1);
    socket_server* s = server(L);
    uint32_t self = self_handle(L);
    // Only the one-string form: with a port, "unix:..." keeps meaning a host name, as it does on skynet.
    if (!a.has_port && a.text.starts_with(unix_address_prefix)) return connect_unix(L, a, s, self);
    int id = -1;
    bool bad = false;
    {
        std::string host;
        int port = 0;
        if (!parse_address(a, host, port) || port == 0)
            bad = true;
        else
            id = s->connect(self, host, port);
    }
    if (bad) return luaL_error(L, "Invalid port");
    if (id < 0) return luaL_error(L, "connect failed: reach skynet socket number limit");
    lua_pushinteger(L, id);
    return 1;
}

int l_close(lua_State* L) {
    int id = int(luaL_checkinteger(L, 1));
    lua_pushboolean(L, server(L)->close(id, false));
    return 1;
}

int l_shutdown(lua_State* L) {
    int id = int(luaL_checkinteger(L, 1));
    lua_pushboolean(L, server(L)->close(id, true));
    return 1;
}

// listen("unix:<path>" [, nil, backlog]): our extension.
int listen_unix(lua_State* L, std::string_view address, int backlog, socket_server* s, uint32_t self) {
    reason_text reason;
    int id = -1;
    {
        std::string path, error;
        parse_unix_address(address, path);
        id = s->listen_unix(self, path, backlog, error);
        if (id < 0) reason.set(error);
    }
    if (id < 0) return luaL_error(L, "Listen error: %s", reason.text);
    lua_pushinteger(L, id);
    return 1;
}

int l_listen(lua_State* L) {
    size_t host_len = 0;
    const char* host = luaL_checklstring(L, 1, &host_len);
    // A Unix path takes no port; with a port, "unix:..." stays a host name (which cannot resolve).
    bool unix_path = lua_isnoneornil(L, 2) && std::string_view(host, host_len).starts_with(unix_address_prefix);
    lua_Integer port = unix_path ? 0 : luaL_checkinteger(L, 2);
    int backlog = int(luaL_optinteger(L, 3, default_backlog));
    socket_server* s = server(L);
    uint32_t self = self_handle(L);
    if (unix_path) return listen_unix(L, std::string_view(host, host_len), backlog, s, self);
    reason_text reason;
    int id = -1;
    {
        std::string error;
        id = s->listen(self, std::string(host, host_len), int(port), backlog, error);
        if (id < 0) reason.set(error);
    }
    if (id < 0) return luaL_error(L, "Listen error: %s (%s:%d)", reason.text, host, int(port));
    lua_pushinteger(L, id);
    return 1;
}

int send_common(lua_State* L, bool low) {
    int id = int(luaL_checkinteger(L, 1));
    socket_server* s = server(L);
    bool ok = s->send(id, send_data(L, 2), low);
    lua_pushboolean(L, ok);
    return 1;
}

int l_send(lua_State* L) { return send_common(L, false); }
int l_lsend(lua_State* L) { return send_common(L, true); }

int l_bind(lua_State* L) {
    int fd = int(luaL_checkinteger(L, 1));
    int id = server(L)->bind(self_handle(L), fd);
    if (id < 0) return luaL_error(L, "bind failed: reach skynet socket number limit");
    lua_pushinteger(L, id);
    return 1;
}

int l_start(lua_State* L) {
    int id = int(luaL_checkinteger(L, 1));
    server(L)->start(self_handle(L), id);
    return 0;
}

int l_pause(lua_State* L) {
    int id = int(luaL_checkinteger(L, 1));
    server(L)->pause(id);
    return 0;
}

int l_nodelay(lua_State* L) {
    int id = int(luaL_checkinteger(L, 1));
    server(L)->nodelay(id);
    return 0;
}

// ---- UDP ----------------------------------------------------------------------------------------------

enum class udp_kind { plain, listen, dial };

// udp([host [, port]]), udp_listen(host [, port]), udp_dial(host [, port]).
int open_udp(lua_State* L, udp_kind kind, const char* failure) {
    bool has_host = !lua_isnoneornil(L, 1) || kind != udp_kind::plain;
    address_arg a{};
    if (has_host) a = check_address(L, 1);
    socket_server* s = server(L);
    uint32_t self = self_handle(L);
    reason_text reason;
    int id = -1;
    {
        std::string host, error;
        int port = 0;
        if (has_host && !parse_address(a, host, port)) {
            error = "invalid address";
        } else if (kind == udp_kind::dial) {
            id = s->udp_dial(self, host, port, error);
        } else {
            id = s->udp(self, host, port, error);
        }
        if (id < 0) reason.set(error);
    }
    if (id < 0) return luaL_error(L, "%s: %s", failure, reason.text);
    lua_pushinteger(L, id);
    return 1;
}

int l_udp(lua_State* L) { return open_udp(L, udp_kind::plain, "udp init failed"); }
int l_udp_listen(lua_State* L) { return open_udp(L, udp_kind::listen, "udp listen host failed"); }
int l_udp_dial(lua_State* L) { return open_udp(L, udp_kind::dial, "udp dial host failed"); }

// udp_connect(id, host [, port]): the default peer of send().
int l_udp_connect(lua_State* L) {
    int id = int(luaL_checkinteger(L, 1));
    address_arg a = check_address(L, 2);
    socket_server* s = server(L);
    bool ok = false;
    {
        std::string host;
        int port = 0;
        ok = parse_address(a, host, port) && s->udp_connect(id, host, port);
    }
    if (!ok) return luaL_error(L, "udp connect failed");
    return 0;
}

// udp_send(id, address, data) -> boolean
int l_udp_send(lua_State* L) {
    int id = int(luaL_checkinteger(L, 1));
    size_t len = 0;
    const char* addr = luaL_checklstring(L, 2, &len);
    asio::ip::udp::endpoint to;
    if (!decode_udp_address(std::string_view(addr, len), to)) return luaL_error(L, "Invalid udp address");
    socket_server* s = server(L);
    bool ok = s->udp_send(id, to, send_data(L, 3));
    lua_pushboolean(L, ok);
    return 1;
}

// udp_address(address) -> ip, port
int l_udp_address(lua_State* L) {
    size_t len = 0;
    const char* addr = luaL_checklstring(L, 1, &len);
    asio::ip::udp::endpoint ep;
    if (!decode_udp_address(std::string_view(addr, len), ep)) return luaL_error(L, "Invalid udp address");
    char text[INET6_ADDRSTRLEN] = {0};
    if (ep.address().is_v4()) {
        auto b = ep.address().to_v4().to_bytes();
        inet_ntop(AF_INET, b.data(), text, sizeof text);
    } else {
        auto b = ep.address().to_v6().to_bytes();
        inet_ntop(AF_INET6, b.data(), text, sizeof text);
    }
    lua_pushstring(L, text);
    lua_pushinteger(L, ep.port());
    return 2;
}

// ---- resolve / netstat --------------------------------------------------------------------------------

int l_resolve(lua_State* L) {
    const char* host = luaL_checkstring(L, 1);
    // The answers are copied to a plain array first, so that the addrinfo list is freed before anything
    // that could raise.
    constexpr int max_answers = 64;
    char answers[max_answers][INET6_ADDRSTRLEN];
    int n = 0;
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;   // one entry per address, not one per socket type
    addrinfo* list = nullptr;
    int status = getaddrinfo(host, nullptr, &hints, &list);
    if (status == 0) {
        for (addrinfo* p = list; p && n < max_answers; p = p->ai_next) {
            const void* a = p->ai_family == AF_INET
                                ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(p->ai_addr)->sin_addr)
                                : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(p->ai_addr)->sin6_addr);
            if (inet_ntop(p->ai_family, a, answers[n], INET6_ADDRSTRLEN)) ++n;
        }
        freeaddrinfo(list);
    }
    if (status != 0) return luaL_error(L, "%s", gai_strerror(status));
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; ++i) {
        lua_pushstring(L, answers[i]);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

void set_int(lua_State* L, const char* key, lua_Integer v) {
    lua_pushinteger(L, v);
    lua_setfield(L, -2, key);
}

void set_string(lua_State* L, const char* key, const std::string& v) {
    lua_pushlstring(L, v.data(), v.size());
    lua_setfield(L, -2, key);
}

// The netstat list lives in a userdata while the Lua table is built, so that a memory error there
// still frees it (through __gc).
constexpr const char* info_meta = "skynet.socketdriver.info";
using info_list = std::vector<socket_info>;

int info_gc(lua_State* L) {
    auto* list = static_cast<info_list*>(luaL_testudata(L, 1, info_meta));
    if (list) list->~info_list();
    return 0;
}

int l_info(lua_State* L) {
    socket_server* s = server(L);
    void* mem = lua_newuserdatauv(L, sizeof(info_list), 0);
    auto* list = new (mem) info_list();
    if (luaL_newmetatable(L, info_meta)) {
        lua_pushcfunction(L, info_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    *list = s->info();
    lua_createtable(L, int(list->size()), 0);
    int n = 0;
    for (const auto& i : *list) {
        lua_createtable(L, 0, 12);
        set_int(L, "id", i.id);
        set_int(L, "address", i.owner);
        lua_pushstring(L, i.type);
        lua_setfield(L, -2, "type");
        if (std::strcmp(i.type, "LISTEN") == 0) {
            set_int(L, "accept", lua_Integer(i.read));
            set_int(L, "rtime", lua_Integer(i.rtime));
            if (!i.name.empty()) set_string(L, "sock", i.name);
        } else {
            set_int(L, "read", lua_Integer(i.read));
            set_int(L, "write", lua_Integer(i.write));
            set_int(L, "wbuffer", lua_Integer(i.wbuffer));
            set_int(L, "rtime", lua_Integer(i.rtime));
            set_int(L, "wtime", lua_Integer(i.wtime));
            lua_pushboolean(L, i.reading);
            lua_setfield(L, -2, "reading");
            lua_pushboolean(L, i.writing);
            lua_setfield(L, -2, "writing");
            if (!i.name.empty()) set_string(L, "peer", i.name);
            if (!i.local.empty()) set_string(L, "sock", i.local);
        }
        lua_rawseti(L, -2, ++n);
    }
    return 1;
}

}  // namespace

}  // namespace skynet

extern "C" int luaopen_skynet_socketdriver(lua_State* L) {
    using namespace skynet;
    luaL_checkversion(L);
    static const luaL_Reg free_functions[] = {
        {"buffer", l_buffer},   {"push", l_push},       {"pop", l_pop},     {"drop", l_drop},
        {"readall", l_readall}, {"clear", l_clear},     {"readline", l_readline},
        {"str2p", l_str2p},     {"header", l_header},   {"unpack", l_unpack},
        {nullptr, nullptr},
    };
    static const luaL_Reg with_context[] = {
        {"connect", l_connect},
        {"close", l_close},
        {"shutdown", l_shutdown},
        {"listen", l_listen},
        {"send", l_send},
        {"lsend", l_lsend},
        {"bind", l_bind},
        {"start", l_start},
        {"pause", l_pause},
        {"nodelay", l_nodelay},
        {"udp", l_udp},
        {"udp_connect", l_udp_connect},
        {"udp_dial", l_udp_dial},
        {"udp_listen", l_udp_listen},
        {"udp_send", l_udp_send},
        {"udp_address", l_udp_address},
        {"resolve", l_resolve},
        {"info", l_info},
        {nullptr, nullptr},
    };
    luaL_newlib(L, free_functions);
    snlua* l = snlua::of(L);
    lua_pushlightuserdata(L, l);
    lua_pushlightuserdata(L, l->owner().component<socket_server>());
    luaL_setfuncs(L, with_context, 2);
    return 1;
}
