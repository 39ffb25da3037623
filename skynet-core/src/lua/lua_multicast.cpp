// skynet.multicast.core: the shared message packages of skynet.multicast.
//
// A published message is packed once and shared by every subscriber of the channel:
//
//   publisher    mc.pack(msg, sz)        -> box, sizeof(box)  (box: a malloc'ed cell holding the
//                                           package pointer; it travels to multicastd in a lua call)
//   multicastd   skynet.tostring(box, n) -> the pointer bytes, sent as the body of every
//                                           PTYPE_MULTICAST message of the fan-out
//                mc.bind(box, count)     -> sets the reference count, frees the box
//   subscriber   mc.unpack(body, sz)     -> package, msg, sz (the protocol's unpack)
//                mc.close(package)       -> drops one reference; the last one frees msg and package
//
// mc.remote(box) unwraps a box back into (msg, sz) and frees the box and package without touching
// msg; mc.packremote(msg, sz) packs a copy of msg; mc.nextid(id) steps a channel id (the low 8 bits
// keep the harbor id).
//
// Every Lua argument is checked before anything is allocated: luaL_error long-jumps, so an error
// raised after an allocation would leak it.
#include <lua.hpp>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

namespace {

struct Package {
    std::atomic<int> references;
    uint32_t size;
    void* data;  // malloc'ed message, owned by the package
};

// The message body carries the package pointer, so its size is the size of a pointer.
constexpr lua_Integer kBodySize = static_cast<lua_Integer>(sizeof(Package*));

// Checks that argument `idx` is a non-null light userdata and returns it.
void* check_pointer(lua_State* L, int idx, const char* what) {
    if (lua_type(L, idx) != LUA_TLIGHTUSERDATA) {
        luaL_error(L, "%s expected (a light userdata), got %s", what, luaL_typename(L, idx));
        return nullptr;
    }
    void* p = lua_touserdata(L, idx);
    if (p == nullptr) {
        luaL_error(L, "%s is a NULL pointer", what);
    }
    return p;
}

uint32_t check_size(lua_State* L, int idx) {
    lua_Integer sz = luaL_checkinteger(L, idx);
    if (sz < 0 || static_cast<uint64_t>(sz) > UINT32_MAX) {
        luaL_error(L, "Size should be 32bit integer (got %I)", sz);
    }
    return static_cast<uint32_t>(sz);
}

// Creates the package and its box around `data` (ownership taken) and pushes box, sizeof(box).
// Raises (after freeing data) only if memory runs out.
int push_box(lua_State* L, void* data, uint32_t size) {
    void* pmem = std::malloc(sizeof(Package));
    Package** box = static_cast<Package**>(std::malloc(sizeof(Package*)));
    if (pmem == nullptr || box == nullptr) {
        std::free(pmem);
        std::free(box);
        std::free(data);
        return luaL_error(L, "multicast: out of memory");
    }
    Package* pack = new (pmem) Package;
    pack->references.store(0, std::memory_order_relaxed);
    pack->size = size;
    pack->data = data;
    *box = pack;
    lua_pushlightuserdata(L, box);
    lua_pushinteger(L, kBodySize);
    return 2;
}

void free_package(Package* pack) {
    std::free(pack->data);
    pack->~Package();
    std::free(pack);
}

// Reads the (data, size) arguments of pack/packremote. `data` may be a light userdata (a buffer from
// skynet.pack), a string (a custom pack function may return one), or nil when size is 0.
struct Source {
    const void* ptr;
    uint32_t size;
    bool is_string;
};

Source check_source(lua_State* L) {
    Source src{nullptr, 0, false};
    switch (lua_type(L, 1)) {
    case LUA_TSTRING: {
        size_t len = 0;
        src.ptr = lua_tolstring(L, 1, &len);
        if (len > UINT32_MAX) {
            luaL_error(L, "Size should be 32bit integer");
        }
        src.size = lua_isnoneornil(L, 2) ? static_cast<uint32_t>(len) : check_size(L, 2);
        if (src.size > len) {
            luaL_error(L, "multicast pack: size %d is larger than the string (%d)",
                       static_cast<int>(src.size), static_cast<int>(len));
        }
        src.is_string = true;
        break;
    }
    case LUA_TLIGHTUSERDATA:
        src.ptr = lua_touserdata(L, 1);
        src.size = check_size(L, 2);
        if (src.ptr == nullptr && src.size != 0) {
            luaL_error(L, "multicast pack: NULL message of size %d", static_cast<int>(src.size));
        }
        break;
    case LUA_TNIL:
    case LUA_TNONE:
        src.size = lua_isnoneornil(L, 2) ? 0 : check_size(L, 2);
        if (src.size != 0) {
            luaL_error(L, "multicast pack: no message but size %d", static_cast<int>(src.size));
        }
        break;
    default:
        luaL_error(L, "multicast pack: message expected (light userdata or string), got %s",
                   luaL_typename(L, 1));
    }
    return src;
}

// Copies `size` bytes into a new malloc'ed buffer (nullptr for an empty message).
void* copy_message(lua_State* L, const void* ptr, uint32_t size) {
    if (size == 0) {
        return nullptr;
    }
    void* copy = std::malloc(size);
    if (copy == nullptr) {
        luaL_error(L, "multicast: out of memory");
        return nullptr;
    }
    std::memcpy(copy, ptr, size);
    return copy;
}

// pack(msg, sz) -> box, sizeof(box). Takes ownership of a light userdata msg; a string is copied.
int l_pack(lua_State* L) {
    Source src = check_source(L);
    void* data = src.is_string ? copy_message(L, src.ptr, src.size) : const_cast<void*>(src.ptr);
    return push_box(L, data, src.size);
}

// packremote(msg, sz) -> box, sizeof(box). Always copies msg (the caller keeps its buffer).
int l_packremote(lua_State* L) {
    Source src = check_source(L);
    void* data = copy_message(L, src.ptr, src.size);
    return push_box(L, data, src.size);
}

// unpack(body, sz) -> package, msg, sz. The body holds the package pointer (possibly unaligned).
int l_unpack(lua_State* L) {
    void* body = check_pointer(L, 1, "multicast message");
    lua_Integer sz = luaL_checkinteger(L, 2);
    if (sz != kBodySize) {
        return luaL_error(L, "Invalid multicast package size %I", sz);
    }
    Package* pack = nullptr;
    std::memcpy(&pack, body, sizeof(pack));
    if (pack == nullptr) {
        return luaL_error(L, "Invalid multicast package (NULL)");
    }
    lua_pushlightuserdata(L, pack);
    lua_pushlightuserdata(L, pack->data);
    lua_pushinteger(L, static_cast<lua_Integer>(pack->size));
    return 3;
}

// bind(box, count) -> package. Sets how many receivers will close the package; frees the box.
int l_bind(lua_State* L) {
    Package** box = static_cast<Package**>(check_pointer(L, 1, "multicast box"));
    lua_Integer count = luaL_checkinteger(L, 2);
    if (count <= 0 || count > INT32_MAX) {
        return luaL_error(L, "Invalid multicast reference count %I", count);
    }
    Package* pack = *box;
    if (pack == nullptr) {
        return luaL_error(L, "Invalid multicast box (NULL package)");
    }
    if (pack->references.load(std::memory_order_relaxed) != 0) {
        return luaL_error(L, "Can't bind a multicast package more than once");
    }
    // Release: the receivers on other workers must see the package fully written.
    pack->references.store(static_cast<int>(count), std::memory_order_release);
    std::free(box);
    lua_pushlightuserdata(L, pack);
    return 1;
}

// close(package): one receiver is done; the last frees the message and the package.
int l_close(lua_State* L) {
    Package* pack = static_cast<Package*>(check_pointer(L, 1, "multicast package"));
    int left = pack->references.fetch_sub(1, std::memory_order_acq_rel) - 1;
    if (left == 0) {
        free_package(pack);
    } else if (left < 0) {
        // Closed more times than bound: the package was already freed by the close that reached 0,
        // so there is nothing left to free here; report the misuse.
        return luaL_error(L, "Invalid multicast package reference %d", left);
    }
    return 0;
}

// remote(box) -> msg, sz. Unwraps a box that will not be bound; the caller now owns msg.
int l_remote(lua_State* L) {
    Package** box = static_cast<Package**>(check_pointer(L, 1, "multicast box"));
    Package* pack = *box;
    if (pack == nullptr) {
        return luaL_error(L, "Invalid multicast box (NULL package)");
    }
    void* data = pack->data;
    uint32_t size = pack->size;
    pack->~Package();
    std::free(pack);
    std::free(box);
    lua_pushlightuserdata(L, data);
    lua_pushinteger(L, static_cast<lua_Integer>(size));
    return 2;
}

// nextid(id) -> id + 256, kept positive (channel ids travel as the int32 session of a message).
int l_nextid(lua_State* L) {
    uint32_t id = static_cast<uint32_t>(luaL_checkinteger(L, 1));
    id += 256;
    lua_pushinteger(L, static_cast<lua_Integer>(id & 0x7fffffffu));
    return 1;
}

}  // namespace

extern "C" int luaopen_skynet_multicast_core(lua_State* L) {
    static const luaL_Reg functions[] = {
        {"pack", l_pack},
        {"packremote", l_packremote},
        {"unpack", l_unpack},
        {"bind", l_bind},
        {"close", l_close},
        {"remote", l_remote},
        {"nextid", l_nextid},
        {nullptr, nullptr},
    };
    luaL_checkversion(L);
    luaL_newlib(L, functions);
    return 1;
}
