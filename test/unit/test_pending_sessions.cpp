#include <doctest/doctest.h>

#include <map>
#include <random>

#include "lua/pending_sessions.h"

using namespace skynet::sched;

namespace {

// Checks the table against a std::map model: same keys, same values, and every key findable.
void check_same(pending_sessions& table, const std::map<int32_t, uint32_t>& model) {
    REQUIRE(table.size() == model.size());
    for (const auto& [session, value] : model) {
        auto* e = table.find(session);
        REQUIRE(e != nullptr);
        CHECK(e->thread == value);
    }
    size_t seen = 0;
    table.for_each([&](const pending_sessions::entry& e) {
        ++seen;
        CHECK(model.count(e.session) == 1);
    });
    CHECK(seen == model.size());
}

}  // namespace

TEST_CASE("pending_sessions: entries are found, updated and dropped like a map's, through growth and deletions") {
    pending_sessions table;
    std::map<int32_t, uint32_t> model;
    CHECK(table.find(1) == nullptr);
    std::mt19937 rng(7);
    // Keys from a small range collide and form long runs, which the backward shift must keep findable;
    // negative and zero sessions are keys like any other.
    std::uniform_int_distribution<int32_t> key(-40, 400);
    for (int step = 0; step < 20000; ++step) {
        int32_t k = key(rng);
        if (rng() % 3 == 0) {
            auto* e = table.find(k);
            CHECK((e != nullptr) == (model.count(k) == 1));
            if (e) {
                e->waiter = pending_sessions::no_waiter;
                e->watch = pending_sessions::no_watch;
                table.drop_if_empty(e);
                model.erase(k);
            }
        } else {
            auto& e = table.get_or_add(k);
            e.waiter = pending_sessions::waiting_thread;
            e.thread = uint32_t(step);
            model[k] = uint32_t(step);
        }
        if (step % 1000 == 0) check_same(table, model);
    }
    check_same(table, model);
}

TEST_CASE("pending_sessions: an entry stays while it has a waiter, a watch or the wait mark") {
    pending_sessions table;
    auto& e = table.get_or_add(5);
    CHECK(e.waiter == pending_sessions::no_waiter);
    CHECK(e.watch == pending_sessions::no_watch);
    e.watch = pending_sessions::watch_handle;
    e.watched = 0x10;
    table.drop_if_empty(&e);
    REQUIRE(table.find(5) != nullptr);
    table.find(5)->watch = pending_sessions::no_watch;
    table.find(5)->waiter = pending_sessions::broken;
    table.drop_if_empty(table.find(5));
    REQUIRE(table.find(5) != nullptr);
    table.find(5)->waiter = pending_sessions::no_waiter;
    table.find(5)->is_wait = true;
    table.drop_if_empty(table.find(5));
    REQUIRE(table.find(5) != nullptr);
    table.find(5)->is_wait = false;
    table.drop_if_empty(table.find(5));
    CHECK(table.find(5) == nullptr);
    CHECK(table.size() == 0);
    table.drop_if_empty(nullptr);   // nothing to drop
}

TEST_CASE("pending_sessions: the steady churn of calls (one session pending for long) keeps the table small") {
    pending_sessions table;
    table.get_or_add(1).waiter = pending_sessions::waiting_thread;   // a skynet.wait that never ends
    for (int32_t s = 2; s < 100000; ++s) {
        table.get_or_add(s).waiter = pending_sessions::waiting_thread;
        auto* e = table.find(s);
        REQUIRE(e != nullptr);
        e->waiter = pending_sessions::no_waiter;
        table.drop_if_empty(e);
    }
    CHECK(table.size() == 1);
    CHECK(table.find(1) != nullptr);
    CHECK(table.find(99999) == nullptr);
}

TEST_CASE("anchor_slots: slots are reused before new ones are handed out") {
    anchor_slots slots;
    CHECK(slots.take() == 1);
    CHECK(slots.take() == 2);
    CHECK(slots.take() == 3);
    slots.give(2);
    CHECK(slots.take() == 2);
    CHECK(slots.take() == 4);
    CHECK(slots.high_water() == 4);
}
