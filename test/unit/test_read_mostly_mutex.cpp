#include <doctest/doctest.h>

#include <atomic>
#include <shared_mutex>
#include <thread>
#include <vector>

#include "core/read_mostly_mutex.h"

using namespace skynet;

TEST_CASE("read_mostly_mutex: readers never see a writer's update half done, and writers exclude each other") {
    read_mostly_mutex mu;
    // a writer sets both halves to the same value; a reader must always find them equal
    long a = 0, b = 0;
    std::atomic<bool> stop{false};
    std::atomic<long> torn{0}, reads{0};
    std::vector<std::thread> threads;
    for (int r = 0; r < 3; ++r) {
        threads.emplace_back([&] {
            while (!stop.load(std::memory_order_relaxed)) {
                std::shared_lock lock(mu);
                if (a != b) torn.fetch_add(1, std::memory_order_relaxed);
                reads.fetch_add(1, std::memory_order_relaxed);
            }
        });
    }
    constexpr int writers = 2, writes = 2000;
    std::vector<std::thread> writer_threads;
    for (int w = 0; w < writers; ++w) {
        writer_threads.emplace_back([&] {
            for (int i = 0; i < writes; ++i) {
                std::unique_lock lock(mu);
                long v = a + 1;
                a = v;
                std::this_thread::yield();   // a reader that slipped in would see a != b now
                b = v;
            }
        });
    }
    for (auto& t : writer_threads) t.join();
    stop = true;
    for (auto& t : threads) t.join();
    CHECK(torn.load() == 0);
    CHECK(a == writers * writes);   // no update lost: writers excluded each other
    CHECK(b == a);
    CHECK(reads.load() > 0);
}

TEST_CASE("read_mostly_mutex: a reader waits for the writer in, then gets in") {
    read_mostly_mutex mu;
    std::atomic<int> stage{0};
    int value = 0;
    std::unique_lock writer(mu);
    std::thread reader([&] {
        stage = 1;
        std::shared_lock lock(mu);
        stage = value == 42 ? 2 : 3;
    });
    while (stage.load() != 1) std::this_thread::yield();
    for (int i = 0; i < 100; ++i) std::this_thread::yield();
    CHECK(stage.load() == 1);   // still waiting: the writer is in
    value = 42;
    writer.unlock();
    reader.join();
    CHECK(stage.load() == 2);   // got in after the writer, and saw its update
}
