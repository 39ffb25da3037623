// The timing loop, the MICRO output lines and the list of registered groups (see harness.h).
#include "harness.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

namespace micro {

namespace {

// One call of the body should take about this long: long enough that a clock read (~20 ns) and a thread
// start (~50 us) are noise, short enough that rounds + calibration stay well under a second per benchmark.
constexpr double round_target_ns = 10e6;
constexpr int rounds = 7;

double time_ns(const body_fn& body, size_t n) {
    auto start = std::chrono::steady_clock::now();
    body(n);
    auto stop = std::chrono::steady_clock::now();
    return std::chrono::duration<double, std::nano>(stop - start).count();
}

// Grows n until one call reaches the target; the last calibration call doubles as the warm-up (caches,
// allocator pools and the mailbox ring are in their steady state afterwards).
size_t calibrate(const body_fn& body, size_t grain) {
    size_t n = grain;
    for (;;) {
        double ns = time_ns(body, n);
        if (ns >= round_target_ns) return n;
        // Aim a little past the target from the rate seen so far, but at least double (timer resolution
        // makes tiny runs unreliable) and at most x100 (a first run can be slowed by page faults).
        double guess = ns > 0 ? double(n) * round_target_ns * 1.2 / ns : double(n) * 100;
        n = std::clamp(size_t(guess), n * 2, n * 100);
        n = (n + grain - 1) / grain * grain;
    }
}

struct group {
    const char* name;
    void (*run_group)();
};

// A function-local static: groups register from other files' static initialisers, whose order relative to
// this file's is unspecified.
std::vector<group>& groups() {
    static std::vector<group> list;
    return list;
}

}  // namespace

void run(const std::string& name, const body_fn& body, unit u, size_t grain) {
    size_t n = calibrate(body, grain < 1 ? 1 : grain);
    std::vector<double> per_op;
    for (int r = 0; r < rounds; ++r) per_op.push_back(time_ns(body, n) / double(n));
    std::sort(per_op.begin(), per_op.end());
    double best = per_op.front();
    double median = per_op[per_op.size() / 2];
    if (u == unit::ns_per_op) {
        std::printf("MICRO name=%s value=%.1f unit=ns/op best=%.1f n=%zu rounds=%d\n", name.c_str(), median, best,
                    n, rounds);
    } else {
        std::printf("MICRO name=%s value=%.0f unit=ops/s best=%.0f n=%zu rounds=%d\n", name.c_str(), 1e9 / median,
                    1e9 / best, n, rounds);
    }
    // Unbuffered progress: a slow benchmark shows which one it is while it runs (stdout is a pipe under make).
    std::fflush(stdout);
}

int add_group(const char* name, void (*run_group)()) {
    groups().push_back({name, run_group});
    return 0;
}

int run_groups(int filter_count, char** filters) {
    auto& list = groups();
    // Link order decides registration order; sorting makes the output order stable across builds.
    std::sort(list.begin(), list.end(), [](const group& a, const group& b) { return std::strcmp(a.name, b.name) < 0; });
    int ran = 0;
    for (const auto& g : list) {
        bool wanted = filter_count == 0;
        for (int i = 0; i < filter_count && !wanted; ++i) wanted = std::strstr(g.name, filters[i]) != nullptr;
        if (!wanted) continue;
        g.run_group();
        ++ran;
    }
    return ran;
}

}  // namespace micro
