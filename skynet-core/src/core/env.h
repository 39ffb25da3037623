// The node's environment: config keys plus whatever services set (skynet.getenv / skynet.setenv).
#pragma once
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace skynet {

class env {
public:
    std::optional<std::string> get(const std::string& key) const;
    // False (and nothing changed) when the key exists: skynet never overwrites an env key.
    bool set(const std::string& key, const std::string& value);
    // Reads key, writing `fallback` back when it is missing (skynet's optstring/optint rule).
    std::string get_or_set(const std::string& key, const std::string& fallback);

private:
    mutable std::mutex mu_;
    std::map<std::string, std::string> values_;
};

}  // namespace skynet
