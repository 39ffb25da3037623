// skynet.netpack: 2-byte big-endian framing for snax.gateserver (spec §5.3).
//
//   filter(queue, msg, sz) -> queue, event, ...   (queue is created on first use and returned)
//       "data", fd, ptr, size     exactly one frame completed (the caller owns ptr)
//       "more"                    several frames queued: drain them with pop
//       "open", fd, "ip:port"     a connection was accepted on the listen socket
//       "close", fd               "error", fd, reason        "warning", fd, kb
//       "init", id, address, port the listen socket is up (or a socket was started / transferred)
//   pop(queue) -> fd, ptr, size   pack(str | ptr, sz) -> ptr, size   tostring(ptr, sz) frees ptr
//   clear(queue)
#include <cstdlib>
#include <cstring>
#include <new>

#include "lua/builtin_modules.h"
#include "net/netpack_queue.h"
#include "net/socket_event.h"

namespace skynet {

namespace {

constexpr const char* queue_meta = "skynet.netpack.queue";

int queue_gc(lua_State* L) {
    auto* q = static_cast<netpack_queue*>(luaL_testudata(L, 1, queue_meta));
    if (q) q->~netpack_queue();
    return 0;
}

// The queue at index 1, created (and put at index 1) when it is nil.
netpack_queue* get_queue(lua_State* L) {
    if (auto* q = static_cast<netpack_queue*>(luaL_testudata(L, 1, queue_meta))) return q;
    if (!lua_isnil(L, 1)) luaL_error(L, "netpack: bad queue (%s)", luaL_typename(L, 1));
    void* mem = lua_newuserdatauv(L, sizeof(netpack_queue), 0);
    auto* q = new (mem) netpack_queue();
    if (luaL_newmetatable(L, queue_meta)) {
        lua_pushcfunction(L, queue_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    lua_replace(L, 1);
    return q;
}

netpack_queue* opt_queue(lua_State* L) {
    return static_cast<netpack_queue*>(luaL_testudata(L, 1, queue_meta));
}

int push_frame(lua_State* L, const netpack_queue::frame& f) {
    lua_pushinteger(L, f.fd);
    lua_pushlightuserdata(L, f.data);
    lua_pushinteger(L, lua_Integer(f.size));
    return 3;
}

int l_filter(lua_State* L) {
    void* msg = lua_touserdata(L, 2);
    lua_Integer sz = luaL_checkinteger(L, 3);
    socket_event* ev = view_socket_event(msg, sz < 0 ? 0 : size_t(sz));
    if (!ev) return luaL_error(L, "netpack: invalid socket message (size %d)", int(sz));
    lua_settop(L, 1);
    netpack_queue* q = get_queue(L);   // may raise before anything is taken from the event
    std::string_view text = ev->text();
    switch (socket_event_type(ev->type)) {
        case socket_event_type::data: {
            size_t before = q->queued();
            // The received block is consumed here: frames are copied out of it, then it is freed.
            char* block = static_cast<char*>(ev->buffer);
            ev->buffer = nullptr;
            bool ok = q->feed(ev->id, reinterpret_cast<const uint8_t*>(block), size_t(ev->ud < 0 ? 0 : ev->ud));
            std::free(block);
            if (!ok) return luaL_error(L, "netpack: not enough memory");
            size_t added = q->queued() - before;
            if (added == 0) return 1;
            if (q->queued() == 1) {
                lua_pushliteral(L, "data");
                netpack_queue::frame f;
                q->pop(f);
                return 2 + push_frame(L, f);   // queue, "data", fd, ptr, size
            }
            lua_pushliteral(L, "more");
            return 2;
        }
        case socket_event_type::connect:
            lua_pushliteral(L, "init");
            lua_pushinteger(L, ev->id);
            lua_pushlstring(L, text.data(), text.size());
            lua_pushinteger(L, ev->ud);
            return 5;
        case socket_event_type::close:
            q->close(ev->id);
            lua_pushliteral(L, "close");
            lua_pushinteger(L, ev->id);
            return 3;
        case socket_event_type::accept:
            lua_pushliteral(L, "open");
            lua_pushinteger(L, ev->ud);
            lua_pushlstring(L, text.data(), text.size());
            return 4;
        case socket_event_type::error:
            q->close(ev->id);
            lua_pushliteral(L, "error");
            lua_pushinteger(L, ev->id);
            lua_pushlstring(L, text.data(), text.size());
            return 4;
        case socket_event_type::warning:
            lua_pushliteral(L, "warning");
            lua_pushinteger(L, ev->id);
            lua_pushinteger(L, ev->ud);
            return 4;
        case socket_event_type::udp:
        default:
            // Not a gate's business: drop the datagram.
            std::free(ev->buffer);
            ev->buffer = nullptr;
            return 1;
    }
}

int l_pop(lua_State* L) {
    netpack_queue* q = opt_queue(L);
    netpack_queue::frame f;
    if (!q || !q->pop(f)) return 0;
    return push_frame(L, f);
}

int l_clear(lua_State* L) {
    if (netpack_queue* q = opt_queue(L)) q->clear();
    return 0;
}

// pack(str) / pack(ptr, sz) -> a malloc'ed "length + data" block and its size.  A pointer is not freed.
int l_pack(lua_State* L) {
    const char* data = nullptr;
    size_t len = 0;
    if (lua_isuserdata(L, 1)) {
        data = static_cast<const char*>(lua_touserdata(L, 1));
        lua_Integer sz = luaL_checkinteger(L, 2);
        if (sz < 0) return luaL_error(L, "Invalid size (negative) of data : %d", int(sz));
        len = size_t(sz);
    } else {
        data = luaL_checklstring(L, 1, &len);
    }
    if (len > netpack_queue::max_frame) return luaL_error(L, "Invalid size (too long) of data : %d", int(len));
    auto* out = static_cast<uint8_t*>(std::malloc(len + 2));
    if (!out) return luaL_error(L, "not enough memory");
    out[0] = uint8_t(len >> 8);
    out[1] = uint8_t(len & 0xff);
    if (len) std::memcpy(out + 2, data, len);
    lua_pushlightuserdata(L, out);
    lua_pushinteger(L, lua_Integer(len + 2));
    return 2;
}

// tostring(ptr, sz) -> string, and frees ptr.
int l_tostring(lua_State* L) {
    void* p = lua_touserdata(L, 1);
    lua_Integer sz = luaL_checkinteger(L, 2);
    if (!p) {
        lua_pushliteral(L, "");
        return 1;
    }
    // Copy first, free after: if the copy raises (out of memory) the block stays with the caller.
    lua_pushlstring(L, static_cast<const char*>(p), size_t(sz < 0 ? 0 : sz));
    std::free(p);
    return 1;
}

}  // namespace

}  // namespace skynet

extern "C" int luaopen_skynet_netpack(lua_State* L) {
    using namespace skynet;
    luaL_checkversion(L);
    static const luaL_Reg functions[] = {
        {"filter", l_filter}, {"pop", l_pop},           {"pack", l_pack},
        {"clear", l_clear},   {"tostring", l_tostring}, {nullptr, nullptr},
    };
    luaL_newlib(L, functions);
    return 1;
}
