// skynet.pack / skynet.unpack: the value serialiser whose byte format is spec §9.
// The format is shared with skynet itself (cluster peers read what we write), so every byte matters.
#pragma once

#include <lua.hpp>

#include <cstddef>

namespace skynet {

// Lua C function: pack(...) -> lightuserdata, size. The buffer comes from malloc; whoever ends up owning it
// frees it with free() (normally the core, after sending it as a message).
int seri_pack(lua_State* L);

// Lua C function: packstring(...) -> string. Same bytes as seri_pack, but nothing is left to free.
int seri_packstring(lua_State* L);

// Lua C function: unpack(lightuserdata, size) or unpack(string) -> every packed value.
// nil, or an empty input, returns nothing. Malformed input raises "Invalid serialize stream ...".
// The input buffer is only read, never freed.
int seri_unpack(lua_State* L);

// seri_unpack's work for size (> 0) bytes at data (not null), which must stay alive until it returns: pushes
// every packed value and returns how many.  Raises as seri_unpack does, so only inside a Lua C function or
// a protected call.
int seri_unpack_values(lua_State* L, const void* data, size_t size);

// Packs the stack slots from..to (inclusive; negative indices allowed) into a malloc'ed buffer and stores
// its length in *size. Raises a Lua error (long jump) on an unsupported value or a too deep table, so it
// may only be called from inside a Lua C function or a protected call. Nothing is leaked when it raises.
// The returned pointer is never null, even for zero values (size 0).
// `where` is the level (luaL_where) whose position starts the error messages: 1, as luaL_error, for a C
// function packing its own arguments; 0 names the running C function, i.e. no position, for one that packs
// in place of calling skynet.pack (whose errors then read as if skynet.pack had been called).
void* seri_pack_values(lua_State* L, int from, int to, size_t* size, int where = 1);

// Packs the slots from..top and replaces them with the message: a lightuserdata and its size (what
// skynet.pack returns).  Raises as seri_pack_values, with the same `where`; nothing leaks when it does.
void seri_pack_in_place(lua_State* L, int from, int where = 1);

}  // namespace skynet
