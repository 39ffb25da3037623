// Modules loaded ahead of a service: a spare Lua state gets skynet.lua (and skynet.require, which the loader
// requires first) loaded by the spare thread, then hidden again, so that the service's own `require` finds
// them ready instead of undumping and running skynet.lua on the launch path.
//
// The service must not be able to tell. So the modules are not put in package.loaded: the Lua-file searcher
// (package.searchers[2], compile_cache.cpp) hands a prepared module to `require` only when `require` would
// have loaded the very same file (same path found on the service's package.path, same stamp), when every
// module it bound while loading is still the one `require` would give it, and when nothing it could have
// read while loading (the globals, the standard library tables, package.loaded, package.searchers) has
// changed since. Otherwise all prepared modules are dropped and the file loads as usual.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include <lua.hpp>

namespace skynet {

// The registry key of the table where, while the spare thread prepares, the Lua-file searcher records the
// file each module came from.
extern const char* const recording_key;

// Loads skynet.require and skynet into L (run by the spare thread, before L has a service) with `lua_path`
// as package.path, and records what is needed to hand them out later. Returns false (with the state left
// in an unknown condition: close it) when that failed or when loading them changed the globals.
bool prepare_modules(lua_State* L, const std::string& lua_path);

// For the searcher: if `name` is prepared and may be handed out for `filename` (found with this stamp),
// pushes a loader returning it and returns true. A mismatch drops every prepared module.
bool serve_prepared(lua_State* L, const char* name, const std::string& filename, int64_t mtime, int64_t size);

// Forgets whatever is still prepared (the end of a boot, or a state whose lua_path changed).
void drop_prepared(lua_State* L);

// Whether L still holds prepared modules (tests and boot).
bool has_prepared(lua_State* L);

}  // namespace skynet
