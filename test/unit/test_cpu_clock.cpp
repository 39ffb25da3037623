// cpu_clock: the accounting clock agrees with steady_clock, whatever it reads underneath.
#include <doctest/doctest.h>

#include <chrono>

#include "core/cpu_clock.h"

using namespace skynet;

namespace {
uint64_t steady_ns() {
    return uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                        std::chrono::steady_clock::now().time_since_epoch())
                        .count());
}
}  // namespace

TEST_CASE("cpu_clock: ticks never go back, and no ticks are no nanoseconds") {
    uint64_t previous = cpu_clock::ticks();
    for (int i = 0; i < 100000; ++i) {
        uint64_t t = cpu_clock::ticks();
        REQUIRE(t >= previous);
        previous = t;
    }
    CHECK(cpu_clock::to_ns(0) == 0);
}

TEST_CASE("cpu_clock: a tick interval converts to the nanoseconds steady_clock saw over it") {
    // Not a timing assertion: both clocks watch the same interval, whatever its length turns out to be.
    uint64_t t0 = cpu_clock::ticks();
    uint64_t s0 = steady_ns();
    while (steady_ns() - s0 < 30'000'000) {
    }
    uint64_t t1 = cpu_clock::ticks();
    uint64_t s1 = steady_ns();
    double seen = double(s1 - s0);
    double converted = double(cpu_clock::to_ns(t1 - t0));
    INFO("steady " << seen << " ns, cpu_clock " << converted << " ns, tsc " << cpu_clock::uses_tsc());
    CHECK(converted > seen * 0.9);
    CHECK(converted < seen * 1.1);
}
