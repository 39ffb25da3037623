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
// A tick reading and the steady time right around it.  A reading whose bracket is wide (the thread was
// preempted between the reads) is taken again, at most 1000 times, so a pause cannot skew the comparison.
struct paired_reading {
    uint64_t ticks;
    uint64_t steady;
};

paired_reading read_both() {
    paired_reading r{};
    for (int attempt = 0; attempt < 1000; ++attempt) {
        uint64_t before = steady_ns();
        r.ticks = cpu_clock::ticks();
        uint64_t after = steady_ns();
        r.steady = before + (after - before) / 2;
        if (after - before < 20'000) break;
    }
    return r;
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
    paired_reading start = read_both();
    while (steady_ns() - start.steady < 30'000'000) {
    }
    paired_reading end = read_both();
    double seen = double(end.steady - start.steady);
    double converted = double(cpu_clock::to_ns(end.ticks - start.ticks));
    INFO("steady " << seen << " ns, cpu_clock " << converted << " ns, tsc " << cpu_clock::uses_tsc());
    CHECK(converted > seen * 0.9);
    CHECK(converted < seen * 1.1);
}
