#include <doctest/doctest.h>

#include <mutex>
#include <thread>
#include <vector>

#include "core/light_mutex.h"

using namespace skynet;

TEST_CASE("light_mutex: contended lockers exclude each other, including those that sleep") {
    light_mutex mu;
    long counter = 0;   // plain: a lost update shows a broken lock
    constexpr int threads = 4, rounds = 20000;
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            for (int i = 0; i < rounds; ++i) {
                std::lock_guard lock(mu);
                long v = counter;
                // now and then hold the lock long enough for the others to go to sleep on it
                if ((i + t) % 997 == 0) std::this_thread::yield();
                counter = v + 1;
            }
        });
    }
    for (auto& w : workers) w.join();
    CHECK(counter == long(threads) * rounds);
}

TEST_CASE("light_mutex: try_lock fails while held and succeeds once released") {
    light_mutex mu;
    CHECK(mu.try_lock());
    bool other = true;
    std::thread([&] { other = mu.try_lock(); }).join();
    CHECK_FALSE(other);
    mu.unlock();
    std::thread([&] {
        other = mu.try_lock();
        if (other) mu.unlock();
    }).join();
    CHECK(other);
}
