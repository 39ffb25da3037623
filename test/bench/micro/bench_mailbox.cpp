// Mailbox: one message through a service's queue, on one thread and between a producer and a consumer thread.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "core/mailbox.h"
#include "harness.h"

namespace {

using skynet::mailbox;
using skynet::message;

// The common case of a service that keeps up: the queue holds one message at a time.
void push_pop(size_t n) {
    mailbox mq;
    message m{1, 0, skynet::PTYPE_LUA, nullptr, 0};
    message out;
    for (size_t i = 0; i < n; ++i) {
        m.session = int32_t(i);
        mq.push(m);
        mq.pop(out);
        micro::keep(out);
    }
}

// A burst: 64 messages queued before the service drains them, so the ring's wrap-around is exercised.
void push_pop_burst(size_t n) {
    constexpr size_t burst = 64;
    mailbox mq;
    message m{1, 0, skynet::PTYPE_LUA, nullptr, 0};
    message out;
    for (size_t done = 0; done < n; done += burst) {
        size_t k = std::min(burst, n - done);   // exactly n messages, so the per-op figure is exact
        for (size_t i = 0; i < k; ++i) {
            m.session = int32_t(i);
            mq.push(m);
        }
        for (size_t i = 0; i < k; ++i) {
            mq.pop(out);
            micro::keep(out);
        }
    }
}

// Messages per second from a producer thread to a consumer (this thread): both contend for the mailbox
// mutex, as a busy sender and its receiver's worker do. The consumer yields when it finds the queue empty
// rather than spinning hard, since the machine may have only two cores for both threads.
void producer_consumer(size_t n) {
    mailbox mq;
    std::thread producer([&mq, n] {
        for (size_t i = 0; i < n; ++i) mq.push(message{1, int32_t(i), skynet::PTYPE_LUA, nullptr, 0});
    });
    message out;
    for (size_t got = 0; got < n;) {
        if (mq.pop(out)) {
            micro::keep(out);
            ++got;
        } else {
            std::this_thread::yield();
        }
    }
    producer.join();
}

// The longest the owner waits between two batches while a producer floods its mailbox with 2M messages in
// runs of 256 (the timer thread's way), the ring doubling up to 64 MB on the way.  The owner is the slower
// side, so the queue keeps growing.  Each doubling's new pages cost a fault each; the figure says whether
// the owner pays for them too (it did while the ring grew under the lock: 34-36 ms on a 2-vCPU VM, against
// 8-9 ms since; what is left is the copy into the bigger ring, which the lock still covers).
double worst_gap_while_growing_us() {
    using clock = std::chrono::steady_clock;
    constexpr int total = 1 << 21, run = 256;
    mailbox mq;
    std::thread producer([&] {
        message batch[run];
        for (int i = 0; i < total;) {
            int n = 0;
            for (; n < run && i < total; ++n) batch[n] = message{1, i++, skynet::PTYPE_RESPONSE, nullptr, 0};
            mq.push_many(batch, size_t(n));
        }
    });
    message got[16];
    double worst = 0;
    auto last = clock::now();
    for (int received = 0; received < total;) {
        size_t n = mq.pop_batch(got, 16);
        if (n == 0) continue;   // the producer is far ahead; only at the very start is the queue empty
        for (size_t i = 0; i < n; ++i) {
            mq.start_one();
            micro::keep(got[i]);
        }
        received += int(n);
        auto now = clock::now();
        worst = std::max(worst, std::chrono::duration<double, std::micro>(now - last).count());
        last = now;
        for (int k = 0; k < 200; ++k) micro::keep(k);   // a little work per batch: the owner is the slower side
    }
    producer.join();
    return worst;
}

void growth_stall() {
    std::vector<double> rounds;
    for (int r = 0; r < 7; ++r) rounds.push_back(worst_gap_while_growing_us());
    std::sort(rounds.begin(), rounds.end());
    std::printf("MICRO name=mailbox.owner_worst_gap_while_growing value=%.0f unit=us best=%.0f n=%d rounds=%zu\n",
                rounds[rounds.size() / 2], rounds.front(), 1 << 21, rounds.size());
}

void run_group() {
    micro::run("mailbox.push_pop", push_pop);
    micro::run("mailbox.push_pop_burst64", push_pop_burst);
    micro::run("mailbox.producer_consumer", producer_consumer, micro::unit::ops_per_sec);
    growth_stall();
}

[[maybe_unused]] const int registered = micro::add_group("mailbox", run_group);

}  // namespace
