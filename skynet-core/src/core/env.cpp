#include "core/env.h"

namespace skynet {

std::optional<std::string> env::get(const std::string& key) const {
    std::lock_guard lock(mu_);
    auto it = values_.find(key);
    if (it == values_.end()) return std::nullopt;
    return it->second;
}

bool env::set(const std::string& key, const std::string& value) {
    std::lock_guard lock(mu_);
    return values_.emplace(key, value).second;
}

std::string env::get_or_set(const std::string& key, const std::string& fallback) {
    std::lock_guard lock(mu_);
    auto [it, inserted] = values_.emplace(key, fallback);
    return it->second;
}

}  // namespace skynet
