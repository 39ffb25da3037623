#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "core/node.h"
#include "core/scheduler.h"

using namespace skynet;

namespace {

node& dummy_node() {
    static node n({{"thread", "1"}, {"harbor", "0"}}, [](std::string_view) { return nullptr; });
    return n;
}

// Producers push into a few mailboxes following the flag protocol; the workers pop one message per turn and
// requeue a service that still has messages.  Every message must be handled: a lost wake-up leaves some
// stuck, and the test then fails on its deadline (a hang check, not a timing measurement).
void run_no_lost_wakeup(int workers) {
    scheduler sched(workers);
    constexpr int services = 5, producers = 3, per_producer = 20000;
    std::vector<service_ptr> svcs;
    for (int i = 0; i < services; ++i) {
        svcs.push_back(std::make_shared<service>(dummy_node(), nullptr));
        message drain;
        svcs.back()->mq().pop(drain);   // clears the initial scheduled flag: the service is idle
    }
    std::atomic<int> handled{0};
    std::atomic<bool> two_at_once{false};
    std::vector<std::atomic<int>> running(services);
    sched.start([&](service_ptr s, int) {
        int idx = int(s->handle());
        if (running[idx].fetch_add(1) != 0) two_at_once = true;
        message m;
        bool got = s->mq().pop(m);
        running[idx].fetch_sub(1);
        if (!got) return;
        handled.fetch_add(1);
        sched.push(std::move(s));
    });
    for (int i = 0; i < services; ++i) svcs[i]->set_handle(uint32_t(i));
    std::vector<std::thread> threads;
    for (int p = 0; p < producers; ++p)
        threads.emplace_back([&, p] {
            for (int i = 0; i < per_producer; ++i) {
                auto& s = svcs[(i + p) % services];
                if (s->mq().push(message{uint32_t(p), i, 0, nullptr, 0}) == mailbox::push_result::schedule)
                    sched.push(s);
                if (i % 1000 == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
            }
        });
    for (auto& t : threads) t.join();
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (handled.load() < producers * per_producer && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    sched.stop();
    CHECK(handled.load() == producers * per_producer);
    CHECK_FALSE(two_at_once.load());   // one service never runs on two workers at once
}

}  // namespace

TEST_CASE("scheduler: no lost wake-up with 1 worker") { run_no_lost_wakeup(1); }
TEST_CASE("scheduler: no lost wake-up with 2 workers") { run_no_lost_wakeup(2); }
TEST_CASE("scheduler: no lost wake-up with 8 workers") { run_no_lost_wakeup(8); }

TEST_CASE("scheduler weights follow skynet's table") {
    scheduler s(8);
    CHECK(s.weight(0) == -1);
    CHECK(s.weight(3) == -1);
    CHECK(s.weight(4) == 0);
    CHECK(s.weight(8) == 1);
    CHECK(s.weight(16) == 2);
    CHECK(s.weight(24) == 3);
}
