#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "core/scheduler.h"
#include "dummy_node.h"

using namespace skynet;

namespace {

using unit::dummy_node;

// Idle services with handles 0..n-1 (a new service's mailbox starts scheduled; one pop makes it idle).
std::vector<service_ptr> idle_services(int n) {
    std::vector<service_ptr> svcs;
    for (int i = 0; i < n; ++i) {
        svcs.push_back(std::make_shared<service>(dummy_node(), nullptr));
        message drain;
        svcs.back()->mq().pop(drain);
        svcs.back()->set_handle(uint32_t(i));
    }
    return svcs;
}

// Pushes m onto s's mailbox and, when that made s ready (the flag protocol), gives s to the scheduler:
// handed off (hand) or queued.
void make_ready(scheduler& sched, const service_ptr& s, const message& m, bool hand) {
    if (s->mq().push(m) != mailbox::push_result::schedule) return;
    if (hand)
        sched.hand_off(s);
    else
        sched.push(s);
}

message token() { return message{0, 1, 0, nullptr, 0}; }

// Producers push into a few mailboxes following the flag protocol; the workers pop one message per turn and
// requeue a service that still has messages.  Every message must be handled: a lost wake-up leaves some
// stuck, and the test then fails on its deadline (a hang check, not a timing measurement).
// With hops > 0, each message carries a number of hops (in its session): the service that handles it passes
// it on to another service and hands that one off when it becomes ready, so slots fill, get stolen and get
// pushed out to the queue while producers push from outside.
void run_no_lost_wakeup(int workers, int hops = 0) {
    scheduler sched(workers);
    constexpr int services = 6, producers = 3;
    const int per_producer = hops > 0 ? 10000 : 20000;
    std::vector<service_ptr> svcs = idle_services(services);
    std::atomic<int> handled{0};
    std::atomic<bool> two_at_once{false};
    std::vector<std::atomic<int>> running(services);
    // A turn owns its service from its start until a pop finds the mailbox empty (which clears the flag: a
    // push may schedule it again at once, and another worker run it while this turn is still returning) or
    // until it requeues the service.  `running` counts the turns inside those stretches only.
    auto enter = [&](int idx) {
        if (running[idx].fetch_add(1) != 0) two_at_once = true;
    };
    sched.start([&](service_ptr s, int) {
        int idx = int(s->handle());
        enter(idx);
        running[idx].fetch_sub(1);
        message m;
        if (!s->mq().pop(m)) return;
        enter(idx);
        handled.fetch_add(1);
        if (m.session > 0)
            make_ready(sched, svcs[(idx + 1 + m.session) % services], message{m.source, m.session - 1, 0, nullptr, 0},
                       true);
        running[idx].fetch_sub(1);
        sched.push(std::move(s));
    });
    std::vector<std::thread> threads;
    for (int p = 0; p < producers; ++p)
        threads.emplace_back([&, p] {
            for (int i = 0; i < per_producer; ++i) {
                // with hops, a handoff from outside the workers: the queue
                make_ready(sched, svcs[(i + p) % services], message{uint32_t(p), hops, 0, nullptr, 0}, hops > 0);
                if (i % 1000 == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
            }
        });
    for (auto& t : threads) t.join();
    const int expected = producers * per_producer * (hops + 1);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (handled.load() < expected && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    sched.stop();
    CHECK(handled.load() == expected);
    CHECK_FALSE(two_at_once.load());   // one service never runs on two workers at once
}

// Waits (bounded) until `done` holds; a hang check, not a timing measurement.
template <class Pred>
bool wait_until(Pred done, std::chrono::seconds limit = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    return true;
}

// A turn that hands a service off and then keeps working must not hold it back: another worker takes it
// from the slot.  With `asleep`, the other worker has gone to sleep first, so the handoff has to wake it.
void run_slot_is_stolen(bool asleep) {
    scheduler sched(2);
    std::vector<service_ptr> svcs = idle_services(2);
    std::atomic<bool> b_ran{false}, a_saw_b{false};
    std::atomic<int> a_worker{-1}, b_worker{-1};
    sched.start([&](service_ptr s, int worker) {
        message m;
        while (s->mq().pop(m)) {}
        if (s->handle() == 0) {
            a_worker = worker;
            make_ready(sched, svcs[1], token(), true);
            // This turn "computes" until B has run somewhere else.
            a_saw_b = wait_until([&] { return b_ran.load(); });
        } else {
            b_worker = worker;
            b_ran = true;
        }
    });
    if (asleep) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    make_ready(sched, svcs[0], token(), false);
    CHECK(wait_until([&] { return b_ran.load(); }));
    CHECK(wait_until([&] { return a_worker.load() >= 0; }));
    sched.stop();
    CHECK(a_saw_b.load());
    CHECK(a_worker.load() != b_worker.load());
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

TEST_CASE("scheduler: no lost wake-up with handoffs, 1 worker") { run_no_lost_wakeup(1, 3); }
TEST_CASE("scheduler: no lost wake-up with handoffs, 2 workers") { run_no_lost_wakeup(2, 3); }
TEST_CASE("scheduler: no lost wake-up with handoffs, 8 workers") { run_no_lost_wakeup(8, 3); }

TEST_CASE("scheduler: a service handed off runs before the queue, a second handoff sends the first there") {
    // One worker, so the order of turns is the whole story.  A's turn pushes X to the queue, then hands off
    // B and C: C (the last handed off) runs right after A, then X and B in queue order.
    scheduler sched(1);
    std::vector<service_ptr> svcs = idle_services(4);   // A, B, C, X
    std::mutex mu;
    std::vector<int> order;
    std::atomic<int> turns{0};
    auto ready = [&](int i, bool hand) { make_ready(sched, svcs[i], token(), hand); };
    sched.start([&](service_ptr s, int) {
        message m;
        while (s->mq().pop(m)) {}
        int idx = int(s->handle());
        {
            std::lock_guard lock(mu);
            order.push_back(idx);
        }
        if (idx == 0) {
            ready(3, false);
            ready(1, true);
            ready(2, true);
        }
        turns.fetch_add(1);
    });
    ready(0, true);   // from outside the workers: the queue
    CHECK(wait_until([&] { return turns.load() == 4; }));
    sched.stop();
    CHECK(order == std::vector<int>{0, 2, 3, 1});
}

TEST_CASE("scheduler: a handed-off service another worker can run is stolen") { run_slot_is_stolen(false); }
TEST_CASE("scheduler: a handoff wakes a sleeping worker to steal it") { run_slot_is_stolen(true); }

TEST_CASE("scheduler: a chain of handoffs gives way to the queue") {
    // One worker; A and B hand each other off for ever (a request/reply pair).  X, pushed to the queue from
    // outside, must still get its turn, and soon: within a few chains, not when the pair stops.
    scheduler sched(1);
    std::vector<service_ptr> svcs = idle_services(3);   // A, B, X
    std::atomic<int> pair_turns{0}, pair_turns_before_x{-1};
    std::atomic<bool> stop_pair{false};
    sched.start([&](service_ptr s, int) {
        message m;
        while (s->mq().pop(m)) {}
        int idx = int(s->handle());
        if (idx == 2) {
            pair_turns_before_x = pair_turns.load();
            return;
        }
        int n = pair_turns.fetch_add(1) + 1;
        if (n == 100) {   // the pair is running: now X arrives, from another thread
            std::thread([&] { make_ready(sched, svcs[2], token(), false); }).join();
        }
        if (stop_pair.load() || n > 100000) return;
        make_ready(sched, svcs[1 - idx], token(), true);
    });
    make_ready(sched, svcs[0], token(), false);
    CHECK(wait_until([&] { return pair_turns_before_x.load() >= 0; }));
    stop_pair = true;
    sched.stop();
    CHECK(pair_turns_before_x.load() >= 100);
    CHECK(pair_turns_before_x.load() <= 100 + 16);
}
