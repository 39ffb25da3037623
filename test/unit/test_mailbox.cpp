#include <doctest/doctest.h>

#include <thread>
#include <vector>

#include "core/mailbox.h"

using skynet::mailbox;
using skynet::message;

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
    message out;
    for (int i = 0; i < 5000; ++i) {
        REQUIRE(mq.pop(out));
        CHECK(out.session == i);
    }
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
