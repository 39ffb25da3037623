// The checks of the integer config keys (thread, harbor, socket_threads): what is accepted, how it is
// rewritten, and the exact message of each refusal.
#include "config/config_check.h"
#include "config/config_loader.h"

#include <doctest/doctest.h>

#include <map>
#include <string>

using skynet::check_config;
using skynet::config_error;
using skynet::parse_config_integer;

namespace {

// The message check_config throws for one key set to `value`, or "" when it accepts it.
std::string refusal(const std::string& key, const std::string& value) {
    std::map<std::string, std::string> config{{key, value}};
    try {
        check_config("cfg", config);
    } catch (const config_error& e) {
        return e.what();
    }
    return "";
}

// What check_config leaves as the value of key, which must be accepted.
std::string accepted(const std::string& key, const std::string& value) {
    std::map<std::string, std::string> config{{key, value}};
    check_config("cfg", config);
    return config.at(key);
}

}  // namespace

TEST_CASE("config check: integers as config values write them") {
    CHECK(parse_config_integer("8") == 8);
    CHECK(parse_config_integer("-3") == -3);
    CHECK(parse_config_integer("+4") == 4);
    CHECK(parse_config_integer(" 12\t") == 12);
    CHECK(parse_config_integer("8.0") == 8);  // thread = 16 / 2
    CHECK(parse_config_integer("8.") == 8);
    CHECK(parse_config_integer("123456789012345678") == 123456789012345678LL);
    for (const char* bad : {"", " ", "many", "8x", "x8", "1.5", "8.01", "0x10", "1e3", "- 1", "+", ".5",
                            "1234567890123456789", "99999999999999999999999", "true", "inf", "nan"}) {
        CAPTURE(bad);
        CHECK_FALSE(parse_config_integer(bad).has_value());
    }
}

TEST_CASE("config check: thread") {
    CHECK(accepted("thread", "8") == "8");
    CHECK(accepted("thread", "1") == "1");
    CHECK(accepted("thread", "1024") == "1024");
    CHECK(accepted("thread", "4.0") == "4");
    CHECK(accepted("thread", " 2 ") == "2");
    CHECK(accepted("thread", "0") == "0");
    CHECK(accepted("thread", "auto") == "auto");
    const std::string rule = "cfg: thread must be an integer from 1 to 1024, or 0 or \"auto\" (one per core), got ";
    CHECK(refusal("thread", "many") == rule + "\"many\"");
    CHECK(refusal("thread", "-2") == rule + "\"-2\"");
    CHECK(refusal("thread", "2.5") == rule + "\"2.5\"");
    CHECK(refusal("thread", "1025") == rule + "\"1025\"");
    CHECK(refusal("thread", "100000") == rule + "\"100000\"");
    CHECK(refusal("thread", "") == rule + "\"\"");
    CHECK(refusal("thread", "true") == rule + "\"true\"");
    CHECK(refusal("thread", "AUTO") == rule + "\"AUTO\"");
}

TEST_CASE("config check: harbor") {
    CHECK(accepted("harbor", "0") == "0");
    CHECK(accepted("harbor", "255") == "255");
    CHECK(accepted("harbor", "1.0") == "1");
    const std::string rule = "cfg: harbor must be an integer from 0 to 255, got ";
    CHECK(refusal("harbor", "x") == rule + "\"x\"");
    CHECK(refusal("harbor", "-1") == rule + "\"-1\"");
    CHECK(refusal("harbor", "256") == rule + "\"256\"");
    CHECK(refusal("harbor", "0.5") == rule + "\"0.5\"");
}

TEST_CASE("config check: socket_threads") {
    CHECK(accepted("socket_threads", "1") == "1");
    CHECK(accepted("socket_threads", "64") == "64");
    const std::string rule = "cfg: socket_threads must be an integer from 1 to 64, got ";
    CHECK(refusal("socket_threads", "0") == rule + "\"0\"");
    CHECK(refusal("socket_threads", "65") == rule + "\"65\"");
    CHECK(refusal("socket_threads", "two") == rule + "\"two\"");
}

TEST_CASE("config check: absent keys keep their defaults, other keys are not looked at") {
    std::map<std::string, std::string> config{{"start", "main"}, {"chat_port", "many"}};
    check_config("cfg", config);
    CHECK(config.size() == 2);
    CHECK(config.at("chat_port") == "many");
}
