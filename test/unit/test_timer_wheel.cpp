// The timing wheel: exact expiry at every level boundary, ordering, long timers, big jumps, re-entrancy.
#include "core/timer.h"
#include "core/timer_wheel.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

using skynet::timer_event;
using skynet::timer_wheel;

namespace {

constexpr int64_t year_ms = int64_t(365) * 24 * 3600 * 1000;

struct fired {
    int32_t session;
    uint64_t at;  // the wheel's now() while the event was delivered
};

// Advances and records every delivered event together with the tick it was delivered at.
std::vector<fired> advance(timer_wheel& w, uint64_t to) {
    std::vector<fired> out;
    w.advance(to, [&](const timer_event& ev) { out.push_back({ev.session, w.now()}); });
    return out;
}

timer_event ev(int32_t session) { return timer_event{7, session}; }

}  // namespace

namespace skynet {
// The node indices of the events in the near slot of tick `due`, in chain order.
struct timer_wheel_inspector {
    static std::vector<uint32_t> near_chain(const timer_wheel& w, uint64_t due) {
        std::vector<uint32_t> out;
        for (uint32_t i = w.near_[due & timer_wheel::near_mask].head; i != timer_wheel::npos; i = w.nodes_[i].next)
            out.push_back(i);
        return out;
    }
    static size_t nodes(const timer_wheel& w) { return w.nodes_.size(); }
};
}  // namespace skynet
using skynet::timer_wheel_inspector;

TEST_CASE("timer_wheel: starts empty at the given time") {
    timer_wheel w(1234);
    CHECK(w.now() == 1234);
    CHECK(w.size() == 0);
    CHECK_FALSE(w.next_due().has_value());
    CHECK(advance(w, 5000).empty());
    CHECK(w.now() == 5000);
}

TEST_CASE("timer_wheel: each level boundary fires exactly at its due tick") {
    const int64_t delays[] = {1,       2,         255,       256,       257,          511,          512,
                              16383,   16384,     16385,     1 << 20,   (1 << 20) + 3, 1 << 26,     (1 << 26) + 1,
                              (int64_t(1) << 32) - 1, int64_t(1) << 32, (int64_t(1) << 32) + 5,
                              int64_t(5) << 32,      3 * year_ms};
    const uint64_t starts[] = {0, 1, 200, 255, 256, 16383, 12345678, (uint64_t(1) << 32) - 3, uint64_t(3) << 40};
    for (uint64_t start : starts) {
        for (int64_t delay : delays) {
            CAPTURE(start);
            CAPTURE(delay);
            const uint64_t due = start + static_cast<uint64_t>(delay);

            // One jump to just before, then tick by tick.
            timer_wheel w(start);
            w.add(delay, ev(1));
            CHECK(w.size() == 1);
            auto next = w.next_due();
            REQUIRE(next.has_value());
            CHECK(*next > start);
            CHECK(*next <= due);
            if (due >= 2) {
                CHECK(advance(w, due - 2).empty());
            }
            CHECK(advance(w, due - 1).empty());
            CHECK(w.size() == 1);
            CHECK(w.next_due() == std::optional<uint64_t>(due));  // by now it is in the near wheel
            auto got = advance(w, due);
            REQUIRE(got.size() == 1);
            CHECK(got[0].session == 1);
            CHECK(got[0].at == due);
            CHECK(w.size() == 0);
            CHECK(advance(w, due + 100000).empty());

            // One big jump past it: delivered once, at its own tick.
            timer_wheel j(start);
            j.add(delay, ev(2));
            auto late = advance(j, due + 12345);
            REQUIRE(late.size() == 1);
            CHECK(late[0].at == due);
            CHECK(j.now() == due + 12345);
        }
    }
}

TEST_CASE("timer_wheel: never early while approaching in uneven steps") {
    const int64_t delays[] = {300, 16384 + 77, (1 << 20) + 5, (1 << 26) - 1, (int64_t(1) << 32) + 5, 3 * year_ms};
    std::mt19937_64 rng(99);
    for (int64_t delay : delays) {
        CAPTURE(delay);
        timer_wheel w(777);
        const uint64_t due = 777 + static_cast<uint64_t>(delay);
        w.add(delay, ev(9));
        uint64_t now = 777;
        while (now < due - 1) {
            // Steps from 1 ms up to ~ a quarter of the remaining time, never reaching the due tick.
            uint64_t remaining = due - 1 - now;
            uint64_t step = 1 + rng() % (remaining / 4 + 1);
            now += std::min(step, remaining);
            REQUIRE(advance(w, now).empty());
            auto next = w.next_due();
            REQUIRE(next.has_value());
            CHECK(*next <= due);
            CHECK(*next > now);
        }
        auto got = advance(w, due);
        REQUIRE(got.size() == 1);
        CHECK(got[0].at == due);
    }
}

TEST_CASE("timer_wheel: zero and negative delays expire on the next advance") {
    timer_wheel w(500);
    w.add(0, ev(1));
    w.add(-5, ev(2));
    w.add(1, ev(3));
    CHECK(w.size() == 3);
    CHECK(w.next_due() == std::optional<uint64_t>(500));
    // Even without time moving.
    auto got = advance(w, 500);
    REQUIRE(got.size() == 2);
    CHECK(got[0].session == 1);
    CHECK(got[1].session == 2);
    CHECK(got[0].at == 500);
    got = advance(w, 501);
    REQUIRE(got.size() == 1);
    CHECK(got[0].session == 3);
    w.add(-1000000, ev(4));
    got = advance(w, 501);
    REQUIRE(got.size() == 1);
    CHECK(got[0].session == 4);
}

TEST_CASE("timer_wheel: due-time order and FIFO for equal times across levels") {
    timer_wheel w(100);
    // Equal due times reached through different levels: added far away first, then nearer.
    w.add(20000, ev(1));  // due 20100, starts in level 1
    w.add(5, ev(2));      // due 105
    w.add(20000, ev(3));  // due 20100
    w.add(1, ev(4));      // due 101
    CHECK(advance(w, 101).size() == 1);
    CHECK(advance(w, 19950).size() == 1);  // 105 fired
    w.add(150, ev(5));                      // due 20100, now filed in the near wheel
    w.add(149, ev(6));                      // due 20099
    auto got = advance(w, 30000);
    REQUIRE(got.size() == 4);
    CHECK(got[0].session == 6);
    CHECK(got[1].session == 1);
    CHECK(got[2].session == 3);
    CHECK(got[3].session == 5);
    CHECK(got[1].at == 20100);
    CHECK(got[3].at == 20100);
}

TEST_CASE("timer_wheel: time never goes backwards") {
    timer_wheel w(1000);
    w.add(10, ev(1));
    CHECK(advance(w, 500).empty());
    CHECK(w.now() == 1000);
    CHECK(advance(w, 1009).empty());
    CHECK(advance(w, 3).empty());
    CHECK(w.now() == 1009);
    CHECK(advance(w, 1010).size() == 1);
}

TEST_CASE("timer_wheel: timers of any length, and absurd ones, do not break the wheel") {
    timer_wheel w(0);
    w.add(INT64_MAX, ev(1));
    w.add(50 * year_ms, ev(2));
    w.add(10, ev(3));
    auto got = advance(w, 20 * static_cast<uint64_t>(year_ms));
    REQUIRE(got.size() == 1);
    CHECK(got[0].session == 3);
    CHECK(w.size() == 2);
    got = advance(w, 50 * static_cast<uint64_t>(year_ms));
    REQUIRE(got.size() == 1);
    CHECK(got[0].session == 2);
    CHECK(got[0].at == 50 * static_cast<uint64_t>(year_ms));
    CHECK(w.size() == 1);
    // The end of time: the capped timer fires, and the wheel keeps working afterwards.
    got = advance(w, UINT64_MAX);
    REQUIRE(got.size() == 1);
    CHECK(got[0].session == 1);
    w.add(5, ev(4));
    CHECK(advance(w, UINT64_MAX).size() == 1);
    CHECK(w.size() == 0);
}

TEST_CASE("timer_wheel: callbacks may add timers") {
    timer_wheel w(0);
    w.add(10, ev(1));
    std::vector<fired> out;
    auto cb = [&](const timer_event& e) {
        out.push_back({e.session, w.now()});
        if (e.session == 1) {
            w.add(5, ev(2));    // due 15: still inside this advance
            w.add(0, ev(3));    // due now: next advance
            w.add(300, ev(4));  // due 310: later
        }
        if (e.session == 2) {
            w.add(2, ev(5));  // due 17
        }
    };
    w.advance(100, cb);
    REQUIRE(out.size() == 3);
    CHECK(out[0].session == 1);
    CHECK(out[0].at == 10);
    CHECK(out[1].session == 2);
    CHECK(out[1].at == 15);
    CHECK(out[2].session == 5);
    CHECK(out[2].at == 17);
    // The zero delay added during delivery waits for the next call, even without time moving.
    out.clear();
    w.advance(100, cb);
    REQUIRE(out.size() == 1);
    CHECK(out[0].session == 3);
    out.clear();
    w.advance(1000, cb);
    REQUIRE(out.size() == 1);
    CHECK(out[0].session == 4);
    CHECK(out[0].at == 310);
}

TEST_CASE("timer_wheel: a delay added during delivery is measured from the delivered tick") {
    timer_wheel w(0);
    w.add(10, ev(1));
    std::vector<fired> out;
    w.advance(100, [&](const timer_event& e) {
        out.push_back({e.session, w.now()});
        if (e.session == 1) {
            w.add(2, ev(2));
        }
    });
    REQUIRE(out.size() == 2);
    CHECK(out[1].session == 2);
    CHECK(out[1].at == 12);
}

TEST_CASE("timer_wheel: a throwing callback loses no event") {
    timer_wheel w(0);
    for (int i = 1; i <= 5; ++i) {
        w.add(10, ev(i));  // all due at the same tick
    }
    w.add(20, ev(6));
    std::vector<int32_t> seen;
    auto thrower = [&](const timer_event& e) {
        seen.push_back(e.session);
        if (e.session == 2) {
            w.add(0, ev(7));  // due now, behind the events that were already due
            throw std::runtime_error("boom");
        }
    };
    CHECK_THROWS_AS(w.advance(100, thrower), std::runtime_error);
    CHECK(seen == std::vector<int32_t>{1, 2});
    CHECK(w.size() == 5);
    CHECK(w.next_due() == std::optional<uint64_t>(10));
    auto got = advance(w, 100);
    REQUIRE(got.size() == 5);
    CHECK(got[0].session == 3);
    CHECK(got[1].session == 4);
    CHECK(got[2].session == 5);
    CHECK(got[3].session == 7);
    CHECK(got[3].at == 10);
    CHECK(got[4].session == 6);
    CHECK(got[4].at == 20);
}

TEST_CASE("timer_wheel: a limited advance delivers in parts, in order, each at its own tick") {
    timer_wheel w(0);
    for (int i = 1; i <= 250; ++i) {
        w.add(10, ev(i));  // one tick with many events
    }
    w.add(11, ev(251));
    w.add(300, ev(252));  // past a cascade
    std::vector<fired> out;
    bool added = false;
    auto cb = [&](const timer_event& e) {
        out.push_back({e.session, w.now()});
        if (e.session == 5 && !added) {
            added = true;
            w.add(0, ev(900));  // due now: after the events of this tick that are still pending
            w.add(1, ev(901));  // due 11, behind 251
        }
    };
    std::vector<size_t> parts;
    for (int call = 0; call < 100 && w.size() > 0; ++call) parts.push_back(w.advance(1000, cb, 64));
    CHECK(w.size() == 0);
    REQUIRE(out.size() == 254);
    // 254 events in parts of at most 64: four full parts, then the rest
    REQUIRE(parts.size() >= 4);
    CHECK(parts[0] == 64);
    CHECK(parts[1] == 64);
    CHECK(parts[2] == 64);
    CHECK(parts[3] == 62);
    for (int i = 0; i < 250; ++i) {
        CHECK(out[size_t(i)].session == i + 1);
        CHECK(out[size_t(i)].at == 10);
    }
    CHECK(out[250].session == 900);
    CHECK(out[250].at == 10);
    CHECK(out[251].session == 251);
    CHECK(out[251].at == 11);
    CHECK(out[252].session == 901);
    CHECK(out[252].at == 11);
    CHECK(out[253].session == 252);
    CHECK(out[253].at == 300);
}

TEST_CASE("timer_wheel: between limited advances the rest is due now, and adds count from its tick") {
    timer_wheel w(0);
    for (int i = 1; i <= 10; ++i) w.add(50, ev(i));
    CHECK(w.advance(1000, [](const timer_event&) {}, 4) == 4);
    CHECK(w.now() == 50);
    CHECK(w.next_due() == std::optional<uint64_t>(50));
    w.add(5, ev(99));  // from the paused tick: due 55
    auto got = advance(w, 1000);
    REQUIRE(got.size() == 7);
    CHECK(got[0].session == 5);
    CHECK(got[5].session == 10);
    CHECK(got[6].session == 99);
    CHECK(got[6].at == 55);
}

TEST_CASE("timer_wheel: due_at counts the events of a tick in the near wheel") {
    timer_wheel w(1000);   // 1000 = 3 * 256 + 232: the block ends at 1024
    for (int i = 0; i < 3; ++i) w.add(5, ev(i));
    w.add(6, ev(3));
    w.add(40, ev(4));   // 1040: the next block, still on level 0
    CHECK(w.due_at(1005) == 3);
    CHECK(w.due_at(1006) == 1);
    CHECK(w.due_at(1007) == 0);
    CHECK(w.due_at(1000) == 0);   // now
    CHECK(w.due_at(1040) == 0);   // not in the near wheel yet
    CHECK(advance(w, 1006).size() == 4);
    CHECK(w.due_at(1005) == 0);
    CHECK(w.due_at(1006) == 0);
    advance(w, 1024);   // the cascade brings 1040 into the near wheel
    CHECK(w.due_at(1040) == 1);
}

TEST_CASE("timer_wheel: take_due_at takes a tick's events in order; later ones for that tick stay for advance") {
    timer_wheel w(0);
    for (int i = 1; i <= 5; ++i) w.add(20, ev(i));
    w.add(21, ev(6));
    std::vector<timer_event> taken{ev(99)};   // appended to what is there
    w.take_due_at(20, taken);
    REQUIRE(taken.size() == 6);
    CHECK(taken[0].session == 99);
    for (int i = 1; i <= 5; ++i) CHECK(taken[size_t(i)].session == i);
    CHECK(w.size() == 1);
    CHECK(w.due_at(20) == 0);
    CHECK(w.next_due() == std::optional<uint64_t>(21));
    w.take_due_at(20, taken);   // nothing more to take
    CHECK(taken.size() == 6);
    w.add(20, ev(7));   // for the same tick, after the take
    auto got = advance(w, 30);
    REQUIRE(got.size() == 2);
    CHECK(got[0].session == 7);
    CHECK(got[0].at == 20);
    CHECK(got[1].session == 6);
    CHECK(got[1].at == 21);
    // the taken nodes were freed: new timers reuse them
    size_t nodes = timer_wheel_inspector::nodes(w);
    for (int i = 0; i < 6; ++i) w.add(5, ev(i));
    CHECK(timer_wheel_inspector::nodes(w) == nodes);
}

TEST_CASE("timer_wheel: after a burst of expiries, the next burst of timers takes the freed nodes in index order") {
    timer_wheel w(0);
    const int n = 600;
    // Added in index order and falling due in another: the free list then holds the nodes shuffled.
    for (int i = 0; i < n; ++i) w.add(1 + (i * 7) % n, ev(i));
    REQUIRE(advance(w, uint64_t(n)).size() == size_t(n));
    const size_t nodes = timer_wheel_inspector::nodes(w);
    for (int i = 0; i < n; ++i) w.add(100, ev(1000 + i));
    CHECK(timer_wheel_inspector::nodes(w) == nodes);   // all reused
    auto chain = timer_wheel_inspector::near_chain(w, w.now() + 100);
    REQUIRE(chain.size() == size_t(n));
    for (size_t k = 1; k < chain.size(); ++k) REQUIRE(chain[k] > chain[k - 1]);
    // and they expire as any other: in order, at their tick
    auto got = advance(w, w.now() + 100);
    REQUIRE(got.size() == size_t(n));
    for (int i = 0; i < n; ++i) CHECK(got[size_t(i)].session == 1000 + i);
}

TEST_CASE("timer_wheel: a few expiries among many pending timers leave the free list as it is") {
    // 300 released out of 2,000 nodes: no rescan of the array, the freed nodes are reused last-freed first.
    timer_wheel w(0);
    for (int i = 0; i < 1700; ++i) w.add(10000, ev(i));
    for (int i = 0; i < 300; ++i) w.add(1 + i, ev(5000 + i));
    REQUIRE(advance(w, 300).size() == 300);
    for (int i = 0; i < 300; ++i) w.add(100, ev(6000 + i));
    auto chain = timer_wheel_inspector::near_chain(w, w.now() + 100);
    REQUIRE(chain.size() == 300);
    CHECK(chain.front() > chain.back());   // the last node freed is the first taken
    CHECK(advance(w, 20000).size() == 2000);
}

TEST_CASE("timer_wheel: random timers match a sorted reference") {
    struct pending {
        uint64_t due;
        uint64_t seq;
        int32_t session;
    };
    for (uint64_t seed : {1u, 2u, 3u}) {
        CAPTURE(seed);
        std::mt19937_64 rng(seed);
        uint64_t start = seed == 3 ? (uint64_t(1) << 32) - 5000 : rng() % 100000;
        timer_wheel w(start);
        std::vector<pending> ref;
        uint64_t seq = 0;
        int32_t next_session = 0;
        auto random_delay = [&]() -> int64_t {
            switch (rng() % 6) {
            case 0: return static_cast<int64_t>(rng() % 5) - 2;  // -2..2
            case 1: return static_cast<int64_t>(rng() % 300);
            case 2: return static_cast<int64_t>(rng() % 20000);
            case 3: return static_cast<int64_t>(rng() % (uint64_t(1) << 27));
            case 4: return static_cast<int64_t>(rng() % (uint64_t(1) << 34));
            default: return static_cast<int64_t>(rng() % 100);
            }
        };
        for (int round = 0; round < 1500; ++round) {
            int adds = static_cast<int>(rng() % 12);
            for (int i = 0; i < adds; ++i) {
                int64_t d = random_delay();
                uint64_t due = d <= 0 ? w.now() : w.now() + static_cast<uint64_t>(d);
                ref.push_back({due, seq++, next_session});
                w.add(d, ev(next_session++));
            }
            CHECK(w.size() == ref.size());
            auto nd = w.next_due();
            CHECK(nd.has_value() == !ref.empty());
            if (nd && !ref.empty()) {
                uint64_t earliest = std::min_element(ref.begin(), ref.end(), [](auto& a, auto& b) {
                                        return a.due < b.due;
                                    })->due;
                CHECK(*nd <= earliest);
            }
            uint64_t step;
            switch (rng() % 4) {
            case 0: step = rng() % 3; break;
            case 1: step = rng() % 400; break;
            case 2: step = rng() % 30000; break;
            default: step = rng() % (uint64_t(1) << 30); break;
            }
            uint64_t to = w.now() + step;
            auto got = advance(w, to);
            std::vector<pending> expected;
            std::vector<pending> rest;
            for (const auto& p : ref) {
                (p.due <= to ? expected : rest).push_back(p);
            }
            std::stable_sort(expected.begin(), expected.end(),
                             [](const pending& a, const pending& b) { return a.due < b.due; });
            ref = std::move(rest);
            REQUIRE(got.size() == expected.size());
            for (size_t i = 0; i < got.size(); ++i) {
                CHECK(got[i].session == expected[i].session);
                // Zero delays are delivered at the start of the advance, i.e. at their own tick too.
                CHECK(got[i].at == expected[i].due);
            }
        }
        // Finally everything drains with one giant jump.
        auto got = advance(w, w.now() + (uint64_t(1) << 36));
        CHECK(got.size() == ref.size());
        CHECK(w.size() == 0);
    }
}

TEST_CASE("timer_service: a timer is due at the start of the tick skynet.now() reaches, as in skynet") {
    using skynet::tick_aligned_due;
    // armed 4 ms into tick 123 with ti = 10: due when tick 133 starts
    CHECK(tick_aligned_due(1234, 100) == 1330);
    // armed right at a tick start: a whole ti later
    CHECK(tick_aligned_due(1230, 100) == 1330);
    // armed at the last millisecond of a tick: ti = 1 is due at the next tick, 1 ms later
    CHECK(tick_aligned_due(1239, 10) == 1240);
    // skynet.now() = floor(ms / 10) when it fires is the arm tick + ti, whatever the arm millisecond
    for (uint64_t arm = 5000; arm < 5020; ++arm) CHECK(tick_aligned_due(arm, 70) / 10 == arm / 10 + 7);
    // no delay: at once, never in the past or future
    CHECK(tick_aligned_due(1234, 0) == 1234);
    CHECK(tick_aligned_due(1234, -50) == 1234);
}

namespace {
// What a timer_service's callbacks saw: each call's events and when it came.
struct timer_calls {
    std::mutex mu;
    std::vector<std::pair<std::chrono::steady_clock::time_point, std::vector<timer_event>>> prepared, fired;
    std::vector<uint64_t> fired_cs;   // skynet.now() as each fire call began
    size_t fired_count() {
        std::lock_guard lock(mu);
        size_t n = 0;
        for (auto& f : fired) n += f.second.size();
        return n;
    }
};

// Arms `n` timers of `ti` centiseconds on a timer_service and waits (a bounded while) until all have fired.
// The first `early` are armed 4 ms before the others, time for the timer thread to plan its sleep with only
// them in the wheel.  True when the arming took place within one tick, so that all of them fell due together.
bool arm_and_wait(skynet::timer_service& timers, timer_calls& calls, int n, int ti, int early = 0) {
    // Start just after a tick begins, so that the arming (a few ms) fits in the tick.
    uint64_t before = timers.now_cs();
    for (int i = 0; i < 200 && timers.now_cs() == before; ++i)
        std::this_thread::sleep_for(std::chrono::microseconds(100));
    before = timers.now_cs();
    for (int i = 0; i < n; ++i) {
        if (i == early && early > 0) std::this_thread::sleep_for(std::chrono::milliseconds(4));
        timers.add(ti * 10, timer_event{uint32_t(1 + i % 3), i});
    }
    bool one_tick = timers.now_cs() == before;
    for (int i = 0; i < 3000 && calls.fired_count() < size_t(n); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return one_tick;
}
}  // namespace

TEST_CASE("timer_service: a heavy tick is gathered and prepared ahead, and fired no earlier than its start") {
    timer_calls calls;
    skynet::timer_service* self = nullptr;
    skynet::timer_service timers(
        [&](const timer_event* e, size_t n) {
            std::lock_guard lock(calls.mu);
            calls.fired.emplace_back(std::chrono::steady_clock::now(), std::vector<timer_event>(e, e + n));
            calls.fired_cs.push_back(self->now_cs());
        },
        [&](const timer_event* e, size_t n) {
            std::lock_guard lock(calls.mu);
            calls.prepared.emplace_back(std::chrono::steady_clock::now(), std::vector<timer_event>(e, e + n));
        });
    self = &timers;
    timers.start();
    // A small tick first: fired at its start, nothing prepared.
    uint64_t armed_cs = timers.now_cs();
    arm_and_wait(timers, calls, 10, 3);
    {
        std::lock_guard lock(calls.mu);
        CHECK(calls.prepared.empty());
        REQUIRE(!calls.fired.empty());
        CHECK(calls.fired_cs.front() >= armed_cs + 3);
        calls.fired.clear();
        calls.fired_cs.clear();
    }
    // A heavy one, armed within one tick (again, a bounded number of times, if the arming straddled a tick
    // boundary and so split them over two).  Its first ten timers are armed alone: the thread, which plans its
    // sleep for those, must hear that the tick became heavy.
    const int n = 3000;
    bool one_tick = false;
    for (int attempt = 0; attempt < 8 && !one_tick; ++attempt) {
        armed_cs = timers.now_cs();
        one_tick = arm_and_wait(timers, calls, n, 5, 10);
        if (!one_tick) {
            std::lock_guard lock(calls.mu);
            calls.prepared.clear();
            calls.fired.clear();
            calls.fired_cs.clear();
        }
    }
    REQUIRE(one_tick);
    std::lock_guard lock(calls.mu);
    REQUIRE(calls.prepared.size() == 1);
    // all of them prepared at once, in the order they fire
    const auto& prepared = calls.prepared.front().second;
    REQUIRE(prepared.size() == size_t(n));
    std::vector<timer_event> fired;
    for (auto& f : calls.fired) fired.insert(fired.end(), f.second.begin(), f.second.end());
    REQUIRE(fired.size() == size_t(n));
    for (int i = 0; i < n; ++i) {
        CHECK(prepared[size_t(i)].session == i);
        CHECK(fired[size_t(i)].session == i);
    }
    CHECK(calls.prepared.front().first <= calls.fired.front().first);
    // never early: skynet.now() had reached the due tick when they fired
    for (uint64_t cs : calls.fired_cs) CHECK(cs >= armed_cs + 5);
    timers.stop();
}

#ifdef __linux__
TEST_CASE("timer_service: its thread sleeps with no timer slack, the rest of the process keeps the default") {
    // The slack is what the kernel may add to a timed sleep; the timer thread asks for none (timer.cpp).
    // Each thread's value is in /proc/<tid>/timerslack_ns (a thread id works there though not listed); exactly
    // one more thread with a 1 ns slack appears once the service runs.
    auto count_slack = [](long wanted) {
        int n = 0;
        for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
            std::ifstream in(std::filesystem::path("/proc") / task.path().filename() / "timerslack_ns");
            long v = -1;
            if (in >> v && v == wanted) ++n;
        }
        return n;
    };
    int before = count_slack(1);
    CHECK(count_slack(50000) >= 1);   // this thread: the default, so the files are readable here
    skynet::timer_service timers([](const timer_event*, size_t) {});
    timers.start();
    int after = before;
    // the thread sets its slack as it starts: wait for that, a bounded while
    for (int i = 0; i < 2000 && after == before; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        after = count_slack(1);
    }
    CHECK(after == before + 1);
    timers.stop();
}
#endif
