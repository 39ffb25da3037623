#include "core/cpu_clock.h"

#include <atomic>
#include <chrono>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <x86intrin.h>
#define SKYNET_HAVE_TSC 1
#endif

namespace skynet::cpu_clock {

namespace {

uint64_t steady_ns() {
    return uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                        std::chrono::steady_clock::now().time_since_epoch())
                        .count());
}

bool invariant_tsc() {
#ifdef SKYNET_HAVE_TSC
    unsigned a = 0, b = 0, c = 0, d = 0;
    // (gcc's cpuid.h returns unsigned, clang's int)
    if (static_cast<unsigned>(__get_cpuid_max(0x80000000, nullptr)) < 0x80000007u) return false;
    __get_cpuid(0x80000007, &a, &b, &c, &d);
    return (d & (1u << 8)) != 0;
#else
    return false;
#endif
}

// The first reading of both clocks; the rate is measured from here.
struct origin {
    bool tsc;
    uint64_t ticks0;
    uint64_t ns0;
};

const origin& start() {
    static const origin o = [] {
        origin r{invariant_tsc(), 0, steady_ns()};
#ifdef SKYNET_HAVE_TSC
        if (r.tsc) r.ticks0 = __rdtsc();
#endif
        return r;
    }();
    return o;
}

// Ticks per nanosecond, remeasured while the baseline is short (the first seconds) and then kept.
std::atomic<double> rate{0};

}  // namespace

bool uses_tsc() { return start().tsc; }

uint64_t ticks() {
#ifdef SKYNET_HAVE_TSC
    if (start().tsc) return __rdtsc();
#endif
    return steady_ns();
}

uint64_t to_ns(uint64_t tick_delta) {
    const origin& o = start();
    if (!o.tsc) return tick_delta;
    double r = rate.load(std::memory_order_relaxed);
    if (r == 0) {
        uint64_t ns = steady_ns() - o.ns0;
        uint64_t t = ticks() - o.ticks0;
        // Below 10 ms of baseline the figure would be rough: use it, but measure again next time.
        if (ns == 0 || t == 0) return tick_delta;
        double measured = double(t) / double(ns);
        if (ns >= 10'000'000) rate.store(measured, std::memory_order_relaxed);
        r = measured;
    }
    return uint64_t(double(tick_delta) / r);
}

}  // namespace skynet::cpu_clock
