// libFuzzer target: skynet.netpack's filter and pop (skynet-core/src/lua/lua_netpack.cpp over
// net/netpack_queue.*), driven through Lua exactly as snax.gateserver drives them.
//
// The input is a script of socket events for a few connections: bytes arriving in arbitrary pieces,
// closes, errors, and sometimes leaving "more" frames undrained for a while. A model that splits each
// connection's bytes by the 2-byte big-endian length says which frames must come out; the frames the
// filter and pop return must be exactly those, per connection and in order, and every block they hand out
// must be a malloc'ed block of the announced size (AddressSanitizer checks when it is read and freed).
#include <lua.hpp>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "lua/builtin_modules.h"
#include "lua_fuzz_support.h"
#include "net/socket_event.h"

namespace {

using frames = std::map<int, std::deque<std::string>>;
using skynet::socket_event_type;

// Reference framing: what a connection's bytes so far must have produced.
struct model {
    std::map<int, std::string> pending;
    frames expected;

    void feed(int fd, const uint8_t* p, size_t n) {
        std::string& buf = pending[fd];
        buf.append(reinterpret_cast<const char*>(p), n);
        for (;;) {
            if (buf.size() < 2) return;
            size_t len = (size_t(uint8_t(buf[0])) << 8) | uint8_t(buf[1]);
            if (buf.size() < 2 + len) return;
            expected[fd].push_back(buf.substr(2, len));
            buf.erase(0, 2 + len);
        }
    }
    void close(int fd) { pending.erase(fd); }
};

lua_State* L = nullptr;
int queue_ref = LUA_NOREF;

// Builds a PTYPE_SOCKET payload as the network thread does (net/socket_event.cpp).
void* make_event(socket_event_type type, int id, int ud, const uint8_t* data, size_t size, const char* text,
                 size_t* out_size) {
    size_t text_size = std::strlen(text);
    *out_size = sizeof(skynet::socket_event) + text_size;
    auto* ev = static_cast<skynet::socket_event*>(std::malloc(*out_size));
    ev->type = int32_t(type);
    ev->id = id;
    ev->ud = ud;
    ev->text_size = uint32_t(text_size);
    ev->buffer = nullptr;
    std::memcpy(ev + 1, text, text_size);
    if (type == socket_event_type::data) {
        void* block = std::malloc(size ? size : 1);
        if (size) std::memcpy(block, data, size);
        ev->buffer = block;
    }
    return ev;
}

// Takes a frame the filter or pop returned: checks it against the model and frees it.
void take_frame(frames& expected, int fd, void* ptr, lua_Integer size) {
    auto& q = expected[fd];
    if (q.empty()) fuzz::fail("netpack: a frame the byte stream does not contain, fd", std::to_string(fd).c_str());
    const std::string& want = q.front();
    if (size_t(size) != want.size() || (size && std::memcmp(ptr, want.data(), want.size()) != 0)) {
        fuzz::fail("netpack: a frame differs from the model's, fd", std::to_string(fd).c_str());
    }
    q.pop_front();
    std::free(ptr);
}

// netpack.pop until empty.
void drain(frames& expected) {
    for (;;) {
        lua_getfield(L, 1, "pop");
        lua_rawgeti(L, LUA_REGISTRYINDEX, queue_ref);
        if (lua_pcall(L, 1, 3, 0) != LUA_OK) fuzz::fail("netpack.pop raised:", lua_tostring(L, -1));
        if (lua_isnil(L, -3)) {
            lua_pop(L, 3);
            return;
        }
        take_frame(expected, int(lua_tointeger(L, -3)), lua_touserdata(L, -2), lua_tointeger(L, -1));
        lua_pop(L, 3);
    }
}

// netpack.filter(queue, msg, sz); returns whether "more" frames wait in the queue.
bool filter(void* msg, size_t size, frames& expected) {
    lua_getfield(L, 1, "filter");
    lua_rawgeti(L, LUA_REGISTRYINDEX, queue_ref);
    lua_pushlightuserdata(L, msg);
    lua_pushinteger(L, lua_Integer(size));
    int base = lua_gettop(L) - 4;
    if (lua_pcall(L, 3, LUA_MULTRET, 0) != LUA_OK) fuzz::fail("netpack.filter raised:", lua_tostring(L, -1));
    std::free(msg);   // the core frees the payload after dispatch; the filter took the data block
    int results = lua_gettop(L) - base;
    if (results < 1) fuzz::fail("netpack.filter returned no queue");
    // The queue is created on first use and must be passed back in from then on.
    lua_pushvalue(L, base + 1);
    lua_rawseti(L, LUA_REGISTRYINDEX, queue_ref);
    bool more = false;
    if (results >= 2) {
        const char* what = lua_tostring(L, base + 2);
        if (what == nullptr) fuzz::fail("netpack.filter: the event name is not a string");
        if (std::strcmp(what, "data") == 0) {
            take_frame(expected, int(lua_tointeger(L, base + 3)), lua_touserdata(L, base + 4),
                       lua_tointeger(L, base + 5));
        } else if (std::strcmp(what, "more") == 0) {
            more = true;
        }
    }
    lua_settop(L, base);
    return more;
}

void init() {
    L = fuzz::new_state(false);
    luaL_requiref(L, "skynet.netpack", luaopen_skynet_netpack, 0);
    lua_settop(L, 1);   // the module stays at index 1
    lua_pushnil(L);
    queue_ref = luaL_ref(L, LUA_REGISTRYINDEX);   // the queue: nil until the first filter creates it
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (L == nullptr) init();
    fuzz::begin_run();
    model m;
    // Each step: op, connection (0..3), then for data a piece length and that many bytes.
    size_t i = 0;
    bool undrained = false;
    while (i + 2 <= size) {
        uint8_t op = data[i] % 8;
        int fd = 100 + data[i + 1] % 4;
        i += 2;
        size_t ev_size = 0;
        void* ev = nullptr;
        if (op <= 4) {   // data, the most common event
            size_t n = 0;
            if (i < size) n = data[i++];
            if (op == 4 && i < size) n = n * 256 + data[i++];   // now and then a big piece
            if (n > size - i) n = size - i;
            m.feed(fd, data + i, n);
            ev = make_event(socket_event_type::data, fd, int(n), data + i, n, "", &ev_size);
            i += n;
        } else if (op == 5) {
            m.close(fd);
            ev = make_event(socket_event_type::close, fd, 0, nullptr, 0, "", &ev_size);
        } else if (op == 6) {
            m.close(fd);
            ev = make_event(socket_event_type::error, fd, 0, nullptr, 0, "Connection reset by peer", &ev_size);
        } else {
            ev = make_event(socket_event_type::accept, 1, fd, nullptr, 0, "127.0.0.1:4242", &ev_size);
        }
        bool more = filter(ev, ev_size, m.expected);
        // A gate drains "more" at once; sometimes leave frames queued to cover a non-empty queue.
        if (more || undrained) {
            if (op % 2 == 0) {
                drain(m.expected);
                undrained = false;
            } else {
                undrained = true;
            }
        }
    }
    drain(m.expected);
    for (auto& [fd, q] : m.expected) {
        if (!q.empty()) fuzz::fail("netpack: a complete frame never came out, fd", std::to_string(fd).c_str());
    }
    // Partial frames of this run must not leak into the next one.
    for (int fd = 100; fd < 104; ++fd) {
        size_t ev_size = 0;
        filter(make_event(socket_event_type::close, fd, 0, nullptr, 0, "", &ev_size), ev_size, m.expected);
    }
    return 0;
}
