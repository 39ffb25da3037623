// Mailbox: one message through a service's queue, on one thread and between a producer and a consumer thread.
#include <algorithm>
#include <thread>

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

void run_group() {
    micro::run("mailbox.push_pop", push_pop);
    micro::run("mailbox.push_pop_burst64", push_pop_burst);
    micro::run("mailbox.producer_consumer", producer_consumer, micro::unit::ops_per_sec);
}

[[maybe_unused]] const int registered = micro::add_group("mailbox", run_group);

}  // namespace
