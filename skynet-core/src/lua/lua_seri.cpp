// The pack/unpack wire format of spec §9. Every value starts with a byte `type | cookie << 3`.
//
// Lua errors are long jumps that skip C++ destructors, so nothing in this file owns memory through a C++
// object. The bytes are first written into a fixed array on the C stack (plenty for most messages); a larger
// message moves to a malloc'ed block that a Lua userdata owns until the very end, so an error raised in the
// middle of packing (a bad value, a failing __pairs) leaves that block to the garbage collector.
#include "lua/lua_seri.h"

#include <climits>
#include <cstdarg>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace skynet {
namespace {

constexpr int type_nil = 0;
constexpr int type_boolean = 1;
constexpr int type_number = 2;
constexpr int type_userdata = 3;
constexpr int type_short_string = 4;
constexpr int type_long_string = 5;
constexpr int type_table = 6;

// Cookies of type_number.
constexpr int number_zero = 0;
constexpr int number_byte = 1;
constexpr int number_word = 2;
constexpr int number_dword = 4;
constexpr int number_qword = 6;
constexpr int number_real = 8;

// A short string or an array size must fit in the 5-bit cookie; 31 means "the array size follows".
constexpr int max_cookie = 32;
constexpr int array_size_follows = max_cookie - 1;

// skynet's limit: a value packed at a depth above this raises.
constexpr int max_pack_depth = 32;
// Packed data from a peer can nest at most 33 tables; anything far deeper is hostile and would only burn
// C stack, so unpack refuses it.
constexpr int max_unpack_depth = 128;

constexpr size_t local_capacity = 512;
constexpr const char* heap_buffer_meta = "skynet.seri.heap_buffer";

static_assert(sizeof(lua_Number) == 8, "the wire format carries floats as IEEE doubles");
static_assert(sizeof(void*) <= 8, "light userdata travels as 8 bytes");

constexpr uint8_t combine(int type, int cookie) { return static_cast<uint8_t>(type | (cookie << 3)); }

// Owned by a full userdata; its __gc frees whatever is still attached.
struct heap_buffer {
    unsigned char* data;
};

int heap_buffer_gc(lua_State* L) {
    auto* h = static_cast<heap_buffer*>(lua_touserdata(L, 1));
    if (h != nullptr) {
        std::free(h->data);
        h->data = nullptr;
    }
    return 0;
}

// Plain data only: it must survive a long jump without a destructor.
struct writer {
    lua_State* L;
    int where;          // the level whose position prefixes the writer's errors (luaL_where)
    int owner_slot;     // stack slot reserved for the heap_buffer userdata
    heap_buffer* heap;  // null while the bytes still fit in `local`
    unsigned char* data;
    size_t size;
    size_t capacity;
    unsigned char local[local_capacity];
};

// Reserves a stack slot for the owner and starts writing into the local array.
void writer_init(writer& w, lua_State* L, int where = 1) {
    luaL_checkstack(L, LUA_MINSTACK, nullptr);
    lua_pushnil(L);
    w.L = L;
    w.where = where;
    w.owner_slot = lua_gettop(L);
    w.heap = nullptr;
    w.data = w.local;
    w.size = 0;
    w.capacity = local_capacity;
}

// luaL_error, with the position of the writer's level.
[[noreturn]] void writer_error(const writer& w, const char* fmt, ...) {
    va_list args;
    va_start(args, fmt);
    luaL_where(w.L, w.where);
    lua_pushvfstring(w.L, fmt, args);
    va_end(args);
    lua_concat(w.L, 2);
    lua_error(w.L);
    __builtin_unreachable();
}

void writer_reserve(writer& w, size_t extra) {
    if (extra <= w.capacity - w.size) {
        return;
    }
    lua_State* L = w.L;
    if (extra > SIZE_MAX / 2 - w.size) {
        writer_error(w, "serialize buffer too large");
    }
    size_t need = w.size + extra;
    size_t capacity = w.capacity * 2;
    while (capacity < need) {
        capacity *= 2;
    }
    if (w.heap == nullptr) {
        // First time out of the local array: create the owner before the block exists, so a failure in
        // either step leaks nothing.
        luaL_checkstack(L, 3, nullptr);
        auto* h = static_cast<heap_buffer*>(lua_newuserdatauv(L, sizeof(heap_buffer), 0));
        h->data = nullptr;
        if (luaL_newmetatable(L, heap_buffer_meta)) {
            lua_pushcfunction(L, heap_buffer_gc);
            lua_setfield(L, -2, "__gc");
        }
        lua_setmetatable(L, -2);
        lua_replace(L, w.owner_slot);
        auto* block = static_cast<unsigned char*>(std::malloc(capacity));
        if (block == nullptr) {
            writer_error(w, "not enough memory to serialize %I bytes", static_cast<lua_Integer>(capacity));
        }
        std::memcpy(block, w.local, w.size);
        h->data = block;
        w.heap = h;
        w.data = block;
    } else {
        // On failure realloc leaves the old block in place, still owned by the userdata.
        auto* block = static_cast<unsigned char*>(std::realloc(w.heap->data, capacity));
        if (block == nullptr) {
            writer_error(w, "not enough memory to serialize %I bytes", static_cast<lua_Integer>(capacity));
        }
        w.heap->data = block;
        w.data = block;
    }
    w.capacity = capacity;
}

void put_bytes(writer& w, const void* bytes, size_t n) {
    writer_reserve(w, n);
    std::memcpy(w.data + w.size, bytes, n);
    w.size += n;
}

void put_byte(writer& w, uint8_t b) {
    writer_reserve(w, 1);
    w.data[w.size++] = b;
}

// Little-endian whatever the host order is.
void put_le(writer& w, uint64_t v, int nbytes) {
    writer_reserve(w, static_cast<size_t>(nbytes));
    for (int i = 0; i < nbytes; ++i) {
        w.data[w.size++] = static_cast<unsigned char>(v >> (8 * i));
    }
}

void pack_integer(writer& w, lua_Integer v) {
    if (v == 0) {
        put_byte(w, combine(type_number, number_zero));
    } else if (v < INT32_MIN || v > INT32_MAX) {
        put_byte(w, combine(type_number, number_qword));
        put_le(w, static_cast<uint64_t>(v), 8);
    } else if (v < 0) {
        put_byte(w, combine(type_number, number_dword));
        put_le(w, static_cast<uint32_t>(static_cast<int32_t>(v)), 4);
    } else if (v < 0x100) {
        put_byte(w, combine(type_number, number_byte));
        put_le(w, static_cast<uint64_t>(v), 1);
    } else if (v < 0x10000) {
        put_byte(w, combine(type_number, number_word));
        put_le(w, static_cast<uint64_t>(v), 2);
    } else {
        put_byte(w, combine(type_number, number_dword));
        put_le(w, static_cast<uint64_t>(v), 4);
    }
}

void pack_real(writer& w, lua_Number n) {
    uint64_t bits;
    std::memcpy(&bits, &n, sizeof bits);
    put_byte(w, combine(type_number, number_real));
    put_le(w, bits, 8);
}

void pack_string(writer& w, const char* s, size_t len) {
    if (len < static_cast<size_t>(max_cookie)) {
        put_byte(w, combine(type_short_string, static_cast<int>(len)));
    } else if (len < 0x10000) {
        put_byte(w, combine(type_long_string, 2));
        put_le(w, len, 2);
    } else if (len <= UINT32_MAX) {
        put_byte(w, combine(type_long_string, 4));
        put_le(w, len, 4);
    } else {
        // skynet would silently truncate the length; refusing is the only way not to corrupt the stream.
        writer_error(w, "serialize can't pack a string of %I bytes", static_cast<lua_Integer>(len));
    }
    put_bytes(w, s, len);
}

void pack_value(writer& w, int index, int depth);

// A table with __pairs: array size 0, then whatever the iterator yields, then nil.
void pack_table_metapairs(writer& w, int index, int depth) {
    lua_State* L = w.L;
    put_byte(w, combine(type_table, 0));
    lua_pushvalue(L, index);  // the __pairs metamethod is already on the stack
    lua_call(L, 1, 3);        // -> iterator, state, control
    int iter = lua_gettop(L) - 2;
    for (;;) {
        lua_pushvalue(L, iter);
        lua_pushvalue(L, iter + 1);
        lua_pushvalue(L, iter + 2);
        lua_call(L, 2, 2);  // -> key, value
        int key = lua_gettop(L) - 1;
        if (lua_isnil(L, key)) {
            lua_pop(L, 2);
            break;
        }
        pack_value(w, key, depth);
        pack_value(w, key + 1, depth);
        lua_pop(L, 1);
        lua_replace(L, iter + 2);  // the key is the next control value
    }
    lua_pop(L, 3);
    put_byte(w, combine(type_nil, 0));
}

void pack_table(writer& w, int index, int depth) {
    lua_State* L = w.L;
    luaL_checkstack(L, LUA_MINSTACK, nullptr);
    if (luaL_getmetafield(L, index, "__pairs") != LUA_TNIL) {
        pack_table_metapairs(w, index, depth);
        return;
    }
    auto array_size = static_cast<lua_Integer>(lua_rawlen(L, index));
    if (array_size >= array_size_follows) {
        put_byte(w, combine(type_table, array_size_follows));
        pack_integer(w, array_size);
    } else {
        put_byte(w, combine(type_table, static_cast<int>(array_size)));
    }
    for (lua_Integer i = 1; i <= array_size; ++i) {
        lua_rawgeti(L, index, i);
        pack_value(w, lua_gettop(L), depth);
        lua_pop(L, 1);
    }
    lua_pushnil(L);
    while (lua_next(L, index) != 0) {
        int key = lua_gettop(L) - 1;
        if (lua_isinteger(L, key)) {
            lua_Integer k = lua_tointeger(L, key);
            if (k > 0 && k <= array_size) {
                lua_pop(L, 1);  // already sent in the array part
                continue;
            }
        }
        pack_value(w, key, depth);
        pack_value(w, key + 1, depth);
        lua_pop(L, 1);
    }
    put_byte(w, combine(type_nil, 0));
}

// `index` must be absolute: packing pushes and pops above it.
void pack_value(writer& w, int index, int depth) {
    lua_State* L = w.L;
    if (depth > max_pack_depth) {
        writer_error(w, "serialize can't pack too depth table");
    }
    int type = lua_type(L, index);
    switch (type) {
    case LUA_TNIL:
        put_byte(w, combine(type_nil, 0));
        break;
    case LUA_TBOOLEAN:
        put_byte(w, combine(type_boolean, lua_toboolean(L, index) ? 1 : 0));
        break;
    case LUA_TNUMBER:
        if (lua_isinteger(L, index)) {
            pack_integer(w, lua_tointeger(L, index));
        } else {
            pack_real(w, lua_tonumber(L, index));
        }
        break;
    case LUA_TSTRING: {
        size_t len = 0;
        const char* s = lua_tolstring(L, index, &len);
        pack_string(w, s, len);
        break;
    }
    case LUA_TLIGHTUSERDATA:
        put_byte(w, combine(type_userdata, 0));
        put_le(w, reinterpret_cast<uintptr_t>(lua_touserdata(L, index)), 8);
        break;
    case LUA_TTABLE:
        pack_table(w, index, depth + 1);
        break;
    default:
        writer_error(w, "Unsupport type %s to serialize", lua_typename(L, type));
    }
}

// Packs slots from..to; on return the owner slot is still on the stack.
void pack_range(writer& w, int from, int to) {
    for (int i = from; i <= to; ++i) {
        pack_value(w, i, 0);
    }
}

// ---- unpack ----

struct reader {
    const unsigned char* data;
    size_t size;
    size_t pos;
};

// No "file:line:" prefix (lua_error, not luaL_error): callers match on the message starting with
// "Invalid serialize stream".
[[noreturn]] void invalid_stream(lua_State* L, const reader& r, const char* what) {
    lua_pushfstring(L, "Invalid serialize stream (%s at byte %I of %I)", what, static_cast<lua_Integer>(r.pos),
                    static_cast<lua_Integer>(r.size));
    lua_error(L);
    std::abort();  // lua_error never returns
}

const unsigned char* read_bytes(lua_State* L, reader& r, size_t n) {
    if (n > r.size - r.pos) {
        invalid_stream(L, r, "truncated");
    }
    const unsigned char* p = r.data + r.pos;
    r.pos += n;
    return p;
}

uint64_t read_le(lua_State* L, reader& r, int nbytes) {
    const unsigned char* p = read_bytes(L, r, static_cast<size_t>(nbytes));
    uint64_t v = 0;
    for (int i = 0; i < nbytes; ++i) {
        v |= static_cast<uint64_t>(p[i]) << (8 * i);
    }
    return v;
}

lua_Integer read_integer(lua_State* L, reader& r, int cookie) {
    switch (cookie) {
    case number_zero:
        return 0;
    case number_byte:
        return static_cast<lua_Integer>(read_le(L, r, 1));
    case number_word:
        return static_cast<lua_Integer>(read_le(L, r, 2));
    case number_dword:  // signed: negatives travel as int32
        return static_cast<int32_t>(static_cast<uint32_t>(read_le(L, r, 4)));
    case number_qword:
        return static_cast<lua_Integer>(read_le(L, r, 8));
    default:
        invalid_stream(L, r, "bad number cookie");
    }
}

void unpack_value(lua_State* L, reader& r, int depth);

void unpack_table(lua_State* L, reader& r, int cookie, int depth) {
    if (depth > max_unpack_depth) {
        invalid_stream(L, r, "tables nested too deep");
    }
    if (!lua_checkstack(L, LUA_MINSTACK)) {
        invalid_stream(L, r, "stack overflow");
    }
    lua_Integer array_size = cookie;
    if (cookie == array_size_follows) {
        uint8_t t = *read_bytes(L, r, 1);
        if ((t & 7) != type_number || (t >> 3) == number_real) {
            invalid_stream(L, r, "bad array size");
        }
        array_size = read_integer(L, r, t >> 3);
    }
    // Every item takes at least one byte, so a larger claim is a lie; checking it first keeps a hostile
    // size from making us preallocate gigabytes.
    if (array_size < 0 || static_cast<uint64_t>(array_size) > r.size - r.pos) {
        invalid_stream(L, r, "bad array size");
    }
    lua_createtable(L, array_size > INT_MAX ? INT_MAX : static_cast<int>(array_size), 0);
    for (lua_Integer i = 1; i <= array_size; ++i) {
        unpack_value(L, r, depth);
        lua_rawseti(L, -2, i);
    }
    for (;;) {
        unpack_value(L, r, depth);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            return;
        }
        if (lua_type(L, -1) == LUA_TNUMBER && !lua_isinteger(L, -1) && std::isnan(lua_tonumber(L, -1))) {
            invalid_stream(L, r, "NaN table key");  // lua_rawset would raise its own error
        }
        unpack_value(L, r, depth);
        lua_rawset(L, -3);
    }
}

void unpack_value(lua_State* L, reader& r, int depth) {
    uint8_t t = *read_bytes(L, r, 1);
    int type = t & 7;
    int cookie = t >> 3;
    switch (type) {
    case type_nil:
        lua_pushnil(L);
        break;
    case type_boolean:
        lua_pushboolean(L, cookie != 0);
        break;
    case type_number:
        if (cookie == number_real) {
            uint64_t bits = read_le(L, r, 8);
            double d;
            std::memcpy(&d, &bits, sizeof d);
            lua_pushnumber(L, d);
        } else {
            lua_pushinteger(L, read_integer(L, r, cookie));
        }
        break;
    case type_userdata:
        lua_pushlightuserdata(L, reinterpret_cast<void*>(static_cast<uintptr_t>(read_le(L, r, 8))));
        break;
    case type_short_string: {
        const unsigned char* s = read_bytes(L, r, static_cast<size_t>(cookie));
        lua_pushlstring(L, reinterpret_cast<const char*>(s), static_cast<size_t>(cookie));
        break;
    }
    case type_long_string: {
        if (cookie != 2 && cookie != 4) {
            invalid_stream(L, r, "bad long string cookie");
        }
        auto len = static_cast<size_t>(read_le(L, r, cookie));
        const unsigned char* s = read_bytes(L, r, len);
        lua_pushlstring(L, reinterpret_cast<const char*>(s), len);
        break;
    }
    case type_table:
        unpack_table(L, r, cookie, depth + 1);
        break;
    default:
        invalid_stream(L, r, "unknown type");
    }
}

}  // namespace

void* seri_pack_values(lua_State* L, int from, int to, size_t* size, int where) {
    if (from < 0) {
        from = lua_absindex(L, from);
    }
    if (to < 0) {
        to = lua_absindex(L, to);
    }
    writer w;
    writer_init(w, L, where);
    pack_range(w, from, to);
    void* out;
    if (w.heap != nullptr) {
        out = w.heap->data;
        w.heap->data = nullptr;  // ownership leaves the userdata
    } else {
        // malloc(0) may return null, and callers treat null as "no message"; always hand out a real block.
        out = std::malloc(w.size == 0 ? 1 : w.size);
        if (out == nullptr) {
            writer_error(w, "not enough memory to serialize %I bytes", static_cast<lua_Integer>(w.size));
        }
        std::memcpy(out, w.local, w.size);
    }
    lua_settop(L, w.owner_slot - 1);
    *size = w.size;
    return out;
}

void seri_pack_in_place(lua_State* L, int from, int where) {
    size_t size = 0;
    void* buffer = seri_pack_values(L, from, lua_gettop(L), &size, where);
    lua_settop(L, from - 1);
    // seri_pack_values checked LUA_MINSTACK slots above the values, so these pushes cannot raise (and lose
    // the buffer).
    lua_pushlightuserdata(L, buffer);
    lua_pushinteger(L, static_cast<lua_Integer>(size));
}

int seri_pack(lua_State* L) {
    seri_pack_in_place(L, 1);
    return 2;
}

int seri_packstring(lua_State* L) {
    int top = lua_gettop(L);
    writer w;
    writer_init(w, L);
    pack_range(w, 1, top);
    // If lua_pushlstring fails for lack of memory, the heap block still belongs to the userdata.
    lua_pushlstring(L, reinterpret_cast<const char*>(w.data), w.size);
    if (w.heap != nullptr) {
        std::free(w.heap->data);
        w.heap->data = nullptr;
    }
    return 1;
}

int seri_unpack(lua_State* L) {
    if (lua_isnoneornil(L, 1)) {
        return 0;
    }
    const unsigned char* data;
    size_t size;
    if (lua_type(L, 1) == LUA_TSTRING) {
        data = reinterpret_cast<const unsigned char*>(lua_tolstring(L, 1, &size));
    } else {
        data = static_cast<const unsigned char*>(lua_touserdata(L, 1));
        lua_Integer n = luaL_checkinteger(L, 2);
        if (n < 0) {
            lua_pushfstring(L, "Invalid serialize stream (negative size %I)", n);
            return lua_error(L);
        }
        size = static_cast<size_t>(n);
    }
    if (size == 0) {
        return 0;
    }
    if (data == nullptr) {
        return luaL_error(L, "deserialize null pointer");
    }
    lua_settop(L, 1);  // a string argument stays on the stack, which keeps `data` alive
    return seri_unpack_values(L, data, size);
}

int seri_unpack_values(lua_State* L, const void* data, size_t size) {
    int top = lua_gettop(L);
    reader r{static_cast<const unsigned char*>(data), size, 0};
    while (r.pos < r.size) {
        if (!lua_checkstack(L, LUA_MINSTACK)) {
            invalid_stream(L, r, "too many values");
        }
        unpack_value(L, r, 0);
    }
    return lua_gettop(L) - top;
}

}  // namespace skynet
