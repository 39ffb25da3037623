// A service's session counter (service::new_session) and NEXTSESSION, the text command that moves it
// (a testing aid, docs/core-boundary.md; test/lua/session_wrap.lua uses it to start near the wrap).
#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include "core/node.h"
#include "dummy_node.h"

using namespace skynet;

namespace {
// The services here are never run; NEXTSESSION only touches the calling service's own counter.
using unit::dummy_node;

// The message of the command_error a NEXTSESSION parameter gets ("" when it is accepted).
std::string refusal(service& s, std::string_view param) {
    try {
        dummy_node().command(s, "NEXTSESSION", param);
    } catch (const command_error& e) {
        return e.what();
    }
    return "";
}
}  // namespace

TEST_CASE("sessions count from 1 and wrap from INT32_MAX back to 1, never 0 or negative") {
    service s(dummy_node(), nullptr);
    CHECK(s.next_session() == 1);
    CHECK(s.new_session() == 1);
    CHECK(s.new_session() == 2);
    s.set_next_session(INT32_MAX - 1);
    CHECK(s.new_session() == INT32_MAX - 1);
    CHECK(s.next_session() == INT32_MAX);
    CHECK(s.new_session() == INT32_MAX);
    CHECK(s.next_session() == 1);
    CHECK(s.new_session() == 1);
    CHECK(s.new_session() == 2);
}

TEST_CASE("NEXTSESSION sets the caller's next session and answers it; without a parameter it only answers") {
    node& n = dummy_node();
    service s(n, nullptr);
    service other(n, nullptr);
    CHECK(n.command(s, "NEXTSESSION", "") == std::optional<std::string>("1"));
    CHECK(n.command(s, "NEXTSESSION", "2147483645") == std::optional<std::string>("2147483645"));
    CHECK(n.command(s, "NEXTSESSION", "") == std::optional<std::string>("2147483645"));   // a query takes nothing
    CHECK(s.new_session() == 2147483645);
    CHECK(s.new_session() == 2147483646);
    CHECK(s.new_session() == 2147483647);
    CHECK(s.new_session() == 1);
    CHECK(other.new_session() == 1);   // only the caller's counter moved
    // the bounds, and blanks around the number (as every text command trims its parameter)
    CHECK(n.command(s, "NEXTSESSION", "2147483647") == std::optional<std::string>("2147483647"));
    CHECK(s.new_session() == INT32_MAX);
    CHECK(n.command(s, "NEXTSESSION", " 1 ") == std::optional<std::string>("1"));
    CHECK(s.new_session() == 1);
    // moving the counter down works too (the caller must know no session there is pending)
    n.command(s, "NEXTSESSION", "3");
    CHECK(s.new_session() == 3);
}

TEST_CASE("NEXTSESSION refuses anything but an integer from 1 to 2147483647, naming it, and changes nothing") {
    service s(dummy_node(), nullptr);
    s.set_next_session(77);
    const std::string rule = "NEXTSESSION: the session must be an integer from 1 to 2147483647, got ";
    CHECK(refusal(s, "0") == rule + "\"0\"");
    CHECK(refusal(s, "-5") == rule + "\"-5\"");
    CHECK(refusal(s, "2147483648") == rule + "\"2147483648\"");
    CHECK(refusal(s, "99999999999999999999999") == rule + "\"99999999999999999999999\"");
    CHECK(refusal(s, "abc") == rule + "\"abc\"");
    CHECK(refusal(s, "12abc") == rule + "\"12abc\"");
    CHECK(refusal(s, "1.5") == rule + "\"1.5\"");
    CHECK(refusal(s, "0x10") == rule + "\"0x10\"");
    CHECK(refusal(s, "1 2") == rule + "\"1 2\"");
    // a long parameter is cut in the message
    CHECK(refusal(s, std::string(100, '7')) == rule + "\"" + std::string(64, '7') + "...\"");
    CHECK(s.next_session() == 77);
    CHECK(refusal(s, "5").empty());
    CHECK(s.next_session() == 5);
}
