// Checks of the config keys the core reads as integers (thread, harbor, socket_threads). skynet reads them
// with strtol and takes whatever prefix parses ("many" becomes 0 workers); here a value that is not an
// integer in the key's range stops the start with one line naming the key and the value.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace skynet {

// The largest values accepted. A worker or network thread per core is the useful range; the bounds only
// catch typos (thread = 100000 would start 100,000 threads).
constexpr long long max_worker_threads = 1024;
constexpr long long max_socket_threads = 64;

// An integer as a config value may write it: optional blanks, an optional sign, decimal digits, then
// optionally a '.' followed by zeros only (a Lua float with no fraction: `thread = 16 / 2` arrives as
// "8.0"), then optional blanks. Anything else, and values beyond 18 digits, give nullopt.
std::optional<long long> parse_config_integer(std::string_view text);

// Checks thread, harbor and socket_threads when present and rewrites each valid one in plain decimal
// ("8.0" becomes "8"), so that every later reader (atoi in the core, tonumber in Lua) sees the same
// number. Throws config_error naming `path`, the key and the value otherwise.
void check_config(const std::string& path, std::map<std::string, std::string>& config);

}  // namespace skynet
