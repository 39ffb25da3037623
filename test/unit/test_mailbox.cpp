#include <doctest/doctest.h>

#include <thread>
#include <vector>

#include "core/mailbox.h"

using skynet::mailbox;
using skynet::message;

namespace {
// Pops the sessions first .. last - 1, each in its turn.
void check_pops_in_order(mailbox& mq, int first, int last) {
    message out;
    for (int i = first; i < last; ++i) {
        REQUIRE(mq.pop(out));
        CHECK(out.session == i);
    }
}
}  // namespace

TEST_CASE("mailbox starts scheduled, so nothing runs before init") {
    mailbox mq;
    message m{1, 0, 0, nullptr, 0};
    CHECK(mq.push(m) == mailbox::push_result::queued);
    message out;
    CHECK(mq.pop(out));
    CHECK_FALSE(mq.pop(out));   // empty: the scheduled flag is cleared
    CHECK(mq.push(m) == mailbox::push_result::schedule);   // idle -> the pusher must schedule it
    CHECK(mq.push(m) == mailbox::push_result::queued);
}

TEST_CASE("mailbox try_schedule only succeeds on an idle mailbox") {
    mailbox mq;
    CHECK_FALSE(mq.try_schedule());
    message out;
    CHECK_FALSE(mq.pop(out));
    CHECK(mq.try_schedule());
    CHECK_FALSE(mq.try_schedule());
}

TEST_CASE("mailbox grows and keeps FIFO order") {
    mailbox mq;
    for (int i = 0; i < 5000; ++i) mq.push(message{0, i, 0, nullptr, 0});
    CHECK(mq.length() == 5000);
    check_pops_in_order(mq, 0, 5000);
}

TEST_CASE("mailbox grows while its ring has wrapped around, and keeps FIFO order") {
    // Pops move the head forward, so every doubling below copies a ring whose oldest message is not at
    // index 0; a grow that copied from 0 instead of head would reorder or lose messages.
    mailbox mq;
    int next_in = 0, next_out = 0;
    message out;
    for (int round = 0; round < 12; ++round) {
        for (int i = 0; i < 5 + round * 7; ++i) mq.push(message{0, next_in++, 0, nullptr, 0});
        for (int i = 0; i < 3 + round * 5; ++i) {
            REQUIRE(mq.pop(out));
            CHECK(out.session == next_out++);
        }
    }
    CHECK(mq.length() == size_t(next_in - next_out));
    while (mq.pop(out)) CHECK(out.session == next_out++);
    CHECK(next_out == next_in);
}

TEST_CASE("mailbox: several producers, nothing lost, order kept per sender") {
    mailbox mq;
    constexpr int producers = 4, per = 20000;
    std::vector<std::thread> threads;
    for (int p = 1; p <= producers; ++p)
        threads.emplace_back([&, p] {
            for (int i = 0; i < per; ++i) mq.push(message{uint32_t(p), i, 0, nullptr, 0});
        });
    std::vector<int> next(producers + 1, 0);
    int received = 0;
    message out;
    while (received < producers * per) {
        if (mq.pop(out)) {
            REQUIRE(out.source >= 1);
            REQUIRE(out.source <= producers);
            CHECK(out.session == next[out.source]);
            next[out.source] = out.session + 1;
            ++received;
        } else {
            std::this_thread::yield();
        }
    }
    for (auto& t : threads) t.join();
    CHECK_FALSE(mq.pop(out));
    for (int p = 1; p <= producers; ++p) CHECK(next[p] == per);
}

TEST_CASE("mailbox: rings grown by racing pushers, single and batched, while the owner drains in batches") {
    // A bigger ring is allocated with the lock down: the other pushers that find the ring full wait for it,
    // the owner keeps taking from the old one, others push into the room that makes, and a batch may then
    // still not fit.  Each of those must leave every message in place, once, in its sender's order.
    mailbox mq;
    constexpr int producers = 4, per = 30000, batch = 37;
    std::vector<std::thread> threads;
    for (int p = 1; p <= producers; ++p)
        threads.emplace_back([&, p] {
            message run[batch];
            for (int i = 0; i < per;) {
                if (p == 1 || i % 2) {   // producer 1 pushes singly, the others mix in batches
                    mq.push(message{uint32_t(p), i++, 0, nullptr, 0});
                    continue;
                }
                int n = 0;
                for (; n < batch && i < per; ++n) run[n] = message{uint32_t(p), i++, 0, nullptr, 0};
                mq.push_many(run, size_t(n));
            }
        });
    std::vector<int> next(producers + 1, 0);
    int received = 0;
    message got[8];
    while (received < producers * per) {
        size_t n = mq.pop_batch(got, 8);
        if (n == 0) {
            std::this_thread::yield();
            continue;
        }
        for (size_t i = 0; i < n; ++i) {
            mq.start_one();
            REQUIRE(got[i].source >= 1);
            REQUIRE(got[i].source <= producers);
            REQUIRE(got[i].session == next[got[i].source]);
            next[got[i].source] = got[i].session + 1;
        }
        received += int(n);
    }
    for (auto& t : threads) t.join();
    CHECK(mq.length() == 0);
    for (int p = 1; p <= producers; ++p) CHECK(next[p] == per);
}

TEST_CASE("a mailbox closed while a pusher grows its ring refuses that push") {
    // The pusher lets the lock go while it allocates; a close in that window must still win: the message is
    // not queued into a dead mailbox (the caller keeps it) and close hands back only what was queued.
    // A full ring of 16k messages: the next push allocates 1 MB, a window the closer often lands in.
    constexpr int full = 16384;
    for (int round = 0; round < 40; ++round) {
        mailbox mq;
        int queued = 0;
        for (; queued < full; ++queued) mq.push(message{0, queued, 0, nullptr, 0});
        std::vector<message> rest;
        std::thread closer([&] { rest = mq.close(); });
        auto r = mq.push(message{0, queued, 0, nullptr, 0});
        closer.join();
        size_t expected = r == mailbox::push_result::dead ? full : full + 1;
        // close ran either before the push took the lock, in the window, or after the push: in the first two
        // the push is refused, in the last the message is handed back with the rest.
        REQUIRE(rest.size() == expected);
        for (size_t i = 0; i < rest.size(); ++i) REQUIRE(rest[i].session == int(i));
        CHECK(mq.push(message{}) == mailbox::push_result::dead);
    }
}

TEST_CASE("mailbox overload threshold starts at 1024 and doubles") {
    mailbox mq;
    message out;
    for (int i = 0; i < 1025; ++i) mq.push(message{0, i, 0, nullptr, 0});
    mq.pop(out);   // 1024 left: not above the threshold
    CHECK(mq.take_overload() == 0);
    for (int i = 0; i < 5000; ++i) mq.push(message{0, i, 0, nullptr, 0});
    mq.pop(out);   // 6023 > 1024: reported once, the threshold doubles straight to 8192
    CHECK(mq.take_overload() == 6023);
    mq.pop(out);   // 6022 is below 8192: not reported again
    mq.pop(out);
    CHECK(mq.take_overload() == 0);
    for (int i = 0; i < 100; ++i) mq.pop(out);
    CHECK(mq.take_overload() == 0);   // below 8192 now
    while (mq.pop(out)) {
    }
    // Drained: the threshold is back at 1024.
    for (int i = 0; i < 1026; ++i) mq.push(message{0, i, 0, nullptr, 0});
    mq.pop(out);
    CHECK(mq.take_overload() == 1025);
}

TEST_CASE("a closed mailbox refuses pushes and returns what was queued") {
    mailbox mq;
    mq.push(message{7, 1, 0, nullptr, 0});
    mq.push(message{8, 2, 0, nullptr, 0});
    auto rest = mq.close();
    REQUIRE(rest.size() == 2);
    CHECK(rest[0].source == 7);
    CHECK(rest[1].source == 8);
    CHECK(mq.push(message{9, 3, 0, nullptr, 0}) == mailbox::push_result::dead);
}

TEST_CASE("mailbox pop_batch takes the oldest messages in order; those in hand still count in length") {
    mailbox mq;
    for (int i = 0; i < 10; ++i) mq.push(message{0, i, 0, nullptr, 0});
    message held[4];
    REQUIRE(mq.pop_batch(held, 4) == 4);
    for (int i = 0; i < 4; ++i) CHECK(held[i].session == i);
    CHECK(mq.length() == 10);   // none of the four started yet
    mq.start_one();
    CHECK(mq.length() == 9);    // as if the first had been popped alone
    mq.start_one();
    CHECK(mq.length() == 8);
    // The two not started go back in front, in order.
    mq.unpop(held + 2, 2);
    CHECK(mq.length() == 8);
    check_pops_in_order(mq, 2, 10);
    message out;
    CHECK_FALSE(mq.pop(out));
}

TEST_CASE("mailbox pop_batch on an empty queue clears the scheduled flag") {
    mailbox mq;
    message held[4];
    CHECK(mq.pop_batch(held, 4) == 0);
    CHECK(mq.push(message{}) == mailbox::push_result::schedule);
    CHECK(mq.pop_batch(held, 4) == 1);   // fewer than asked: all there is
    CHECK(mq.pop_batch(held, 4) == 0);
    CHECK(mq.try_schedule());
}

TEST_CASE("mailbox unpop into a full, wrapped ring grows it and keeps the order") {
    mailbox mq;
    message held[8];
    int next_in = 0;
    for (; next_in < 5; ++next_in) mq.push(message{0, next_in, 0, nullptr, 0});
    REQUIRE(mq.pop_batch(held, 5) == 5);   // head moved to 5 of 8
    for (; next_in < 13; ++next_in) mq.push(message{0, next_in, 0, nullptr, 0});   // 8 queued, wrapped
    mq.start_one();
    mq.unpop(held + 1, 4);   // sessions 1..4 back in front of 5..12
    CHECK(mq.length() == 12);
    check_pops_in_order(mq, 1, 13);
}

TEST_CASE("messages in hand put back before close are handed back with the queued ones") {
    // The worker's turn does this when the service retires mid-batch: the teardown must see every message
    // that was not started, in order, to answer the requests among them.
    mailbox mq;
    for (int i = 0; i < 6; ++i) mq.push(message{uint32_t(10 + i), i + 1, 0, nullptr, 0});
    message held[4];
    REQUIRE(mq.pop_batch(held, 4) == 4);
    mq.start_one();   // session 1 ran and retired the service
    mq.unpop(held + 1, 3);
    auto rest = mq.close();
    REQUIRE(rest.size() == 5);
    for (size_t i = 0; i < rest.size(); ++i) CHECK(rest[i].session == int(i) + 2);
    CHECK(mq.push(message{}) == mailbox::push_result::dead);
}

TEST_CASE("mailbox unschedule_if_empty gives an empty mailbox up and keeps a non-empty one") {
    mailbox mq;
    mq.push(message{});
    CHECK_FALSE(mq.unschedule_if_empty());
    CHECK_FALSE(mq.try_schedule());   // still scheduled
    message out;
    REQUIRE(mq.pop(out));
    CHECK(mq.unschedule_if_empty());
    CHECK(mq.push(message{}) == mailbox::push_result::schedule);
}

TEST_CASE("mailbox push_many appends in order and schedules an idle mailbox once") {
    mailbox mq;
    message out;
    CHECK_FALSE(mq.pop(out));   // idle
    std::vector<message> burst;
    for (int i = 0; i < 100; ++i) burst.push_back(message{0, i, 0, nullptr, 0});
    CHECK(mq.push_many(burst.data(), 50) == mailbox::push_result::schedule);
    CHECK(mq.push_many(burst.data() + 50, 50) == mailbox::push_result::queued);
    CHECK(mq.length() == 100);
    check_pops_in_order(mq, 0, 100);
    mq.close();
    CHECK(mq.push_many(burst.data(), 1) == mailbox::push_result::dead);
}

TEST_CASE("mailbox make_room grows the ring once for what is coming, and not when it fits") {
    mailbox mq;
    message m{1, 0, 0, nullptr, 0};
    for (int i = 0; i < 3; ++i) mq.push(m);
    size_t before = mq.capacity();
    mq.make_room(before - 3);   // fits as it is
    CHECK(mq.capacity() == before);
    mq.make_room(5000);
    size_t room = mq.capacity();
    CHECK(room >= 5003);
    for (int i = 0; i < 5000; ++i) {
        m.session = i;
        mq.push(m);
    }
    CHECK(mq.capacity() == room);   // the pushes found their room
    CHECK(mq.length() == 5003);
    message out;
    for (int i = 0; i < 3; ++i) REQUIRE(mq.pop(out));
    check_pops_in_order(mq, 0, 5000);
    // a dead mailbox takes nothing, and makes no room for it
    mq.close();
    mq.make_room(room * 4);
    CHECK(mq.capacity() == room);
}

TEST_CASE("mailbox overload is reported by pop_batch as by single pops") {
    mailbox mq;
    message held[16];
    for (int i = 0; i < 1030; ++i) mq.push(message{0, i, 0, nullptr, 0});
    REQUIRE(mq.pop_batch(held, 16) == 16);   // 1029 left after the first of them: above 1024
    CHECK(mq.take_overload() == 1029);
    REQUIRE(mq.pop_batch(held, 16) == 16);
    CHECK(mq.take_overload() == 0);   // the threshold doubled to 2048
}
