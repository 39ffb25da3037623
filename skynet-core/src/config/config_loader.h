// The config file loader of spec §4.1: the file is Lua, run in a table that offers only `include`, after
// every $NAME in its text has been replaced by that environment variable.
#pragma once

#include <map>
#include <stdexcept>
#include <string>

namespace skynet {

struct config_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Evaluates the config file as skynet does and returns every key as a string (booleans "true"/"false",
// numbers via lua_tostring). Throws config_error with one line naming the file on any problem: a missing
// or unreadable file, a syntax or runtime error, an unset $VAR, a table or function value, a non-string key.
std::map<std::string, std::string> load_config(const std::string& path);

}  // namespace skynet
