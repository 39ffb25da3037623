#include "config/config_check.h"

#include "config/config_loader.h"

#include <cctype>

namespace skynet {
namespace {

bool is_blank(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

// 18 digits always fit in a long long, so the sum below cannot overflow.
constexpr size_t max_digits = 18;

[[noreturn]] void refuse(const std::string& path, const std::string& key, const std::string& rule,
                         const std::string& value) {
    throw config_error(path + ": " + key + " must be " + rule + ", got \"" + value + "\"");
}

// Checks key (when present) against [low, high] and writes it back in plain decimal. `extra` lets a key
// accept one word besides the numbers (thread = "auto").
void check_integer(const std::string& path, std::map<std::string, std::string>& config, const std::string& key,
                   long long low, long long high, const std::string& rule, std::string_view extra = {}) {
    auto it = config.find(key);
    if (it == config.end() || (!extra.empty() && it->second == extra)) {
        return;
    }
    std::optional<long long> n = parse_config_integer(it->second);
    if (!n || *n < low || *n > high) {
        refuse(path, key, rule, it->second);
    }
    it->second = std::to_string(*n);
}

}  // namespace

std::optional<long long> parse_config_integer(std::string_view text) {
    size_t i = 0;
    size_t end = text.size();
    while (i < end && is_blank(text[i])) {
        ++i;
    }
    while (end > i && is_blank(text[end - 1])) {
        --end;
    }
    bool negative = false;
    if (i < end && (text[i] == '+' || text[i] == '-')) {
        negative = text[i] == '-';
        ++i;
    }
    size_t first_digit = i;
    long long value = 0;
    while (i < end && std::isdigit(static_cast<unsigned char>(text[i])) != 0) {
        if (i - first_digit == max_digits) {
            return std::nullopt;
        }
        value = value * 10 + (text[i] - '0');
        ++i;
    }
    if (i == first_digit) {
        return std::nullopt;
    }
    if (i < end && text[i] == '.') {
        ++i;
        while (i < end && text[i] == '0') {
            ++i;
        }
    }
    if (i != end) {
        return std::nullopt;
    }
    return negative ? -value : value;
}

void check_config(const std::string& path, std::map<std::string, std::string>& config) {
    // 0 and "auto" are this project's way to ask for one worker per core (README, config keys).
    check_integer(path, config, "thread", 0, max_worker_threads,
                  "an integer from 1 to " + std::to_string(max_worker_threads) + ", or 0 or \"auto\" (one per core)",
                  "auto");
    // A handle keeps the harbor id in its top 8 bits.
    check_integer(path, config, "harbor", 0, 255, "an integer from 0 to 255");
    check_integer(path, config, "socket_threads", 1, max_socket_threads,
                  "an integer from 1 to " + std::to_string(max_socket_threads));
}

}  // namespace skynet
