#include <doctest/doctest.h>

#include <set>

#include "core/node.h"
#include "core/registry.h"
#include "dummy_node.h"

using namespace skynet;

namespace {
// Services in these tests are never run; they only need a node to belong to.
using unit::dummy_node;
service_ptr make() { return std::make_shared<service>(dummy_node(), nullptr); }
}  // namespace

TEST_CASE("registry hands out handles with the harbor in the top 8 bits") {
    registry r(3);
    auto s = make();
    uint32_t h = r.insert(s);
    CHECK((h >> 24) == 3);
    CHECK((h & 0xffffff) != 0);
    CHECK(r.grab(h) == s);
    CHECK(r.count() == 1);
}

TEST_CASE("registry: handles are unique, a removed handle is not found and not reused at once") {
    registry r(0);
    std::set<uint32_t> seen;
    std::vector<uint32_t> handles;
    for (int i = 0; i < 1000; ++i) {
        uint32_t h = r.insert(make());
        CHECK(seen.insert(h).second);
        handles.push_back(h);
    }
    CHECK(r.count() == 1000);
    for (int i = 0; i < 1000; i += 2) CHECK(r.remove(handles[i]) != nullptr);
    CHECK(r.count() == 500);
    CHECK(r.grab(handles[0]) == nullptr);
    CHECK(r.remove(handles[0]) == nullptr);
    for (int i = 0; i < 100; ++i) CHECK(seen.insert(r.insert(make())).second);
}

TEST_CASE("registry numbers handles as skynet does, across table doublings and holes") {
    // Expected values worked out with skynet's rule: four slots at first, doubled when full, and each new
    // handle is the first index from the last one given whose slot is free.
    registry r(0);
    std::vector<uint32_t> got;
    for (int i = 0; i < 20; ++i) got.push_back(r.insert(make()));
    for (uint32_t i = 0; i < 20; ++i) CHECK(got[i] == i + 1);   // dense while nothing dies

    registry full(0);
    for (int i = 0; i < 16; ++i) full.insert(make());   // 16 slots, all taken
    REQUIRE(full.remove(0x10) != nullptr);
    CHECK(full.insert(make()) == 0x20);   // :11..:1f collide with live services, :20 lands on the free slot

    registry holes(0);
    for (int i = 0; i < 9; ++i) holes.insert(make());
    REQUIRE(holes.remove(2) != nullptr);
    std::vector<uint32_t> next;
    for (int i = 0; i < 9; ++i) next.push_back(holes.insert(make()));
    CHECK(next == std::vector<uint32_t>{0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x12, 0x13});
}

TEST_CASE("registry local names: bind, duplicate fails, removed with the service") {
    registry r(0);
    uint32_t a = r.insert(make());
    uint32_t b = r.insert(make());
    CHECK(r.bind_local("alpha", a));
    CHECK_FALSE(r.bind_local("alpha", b));
    CHECK(r.bind_local("beta", a));
    CHECK(r.find_local("alpha") == a);
    CHECK(r.find_local("nosuch") == 0);
    r.remove(a);
    CHECK(r.find_local("alpha") == 0);
    CHECK(r.find_local("beta") == 0);
    CHECK(r.bind_local("alpha", b));
}

TEST_CASE("registry global names: messages park until the name is bound") {
    registry r(0);
    uint32_t a = r.insert(make());
    message m{5, 42, 10, nullptr, 0};
    CHECK(r.park_for_global("CHAT_HUB", m));
    CHECK(r.park_for_global("CHAT_HUB", m));
    auto waiting = r.bind_global("CHAT_HUB", a);
    CHECK(waiting.size() == 2);
    CHECK(waiting[0].session == 42);
    CHECK(r.find_global("CHAT_HUB") == a);
    CHECK_FALSE(r.park_for_global("CHAT_HUB", m));   // bound now: the caller delivers directly
    r.remove(a);
    CHECK(r.find_global("CHAT_HUB") == 0);
}
