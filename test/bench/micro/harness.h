// A small timing harness for the micro-benchmarks of build/micro_bench (`make micro-bench`).
//
// A benchmark is a body that performs its operation n times. The harness grows n until one call of the body
// takes about 10 ms, so that clock reads and per-call setup (a fresh mailbox, a started thread) vanish in the
// figure, then times a few rounds of that n and prints one line per benchmark:
//   MICRO name=mailbox.push_pop value=23.4 unit=ns/op best=22.9 n=409600 rounds=7
// `value` is the median round, because the machine is usually shared and the median is what a reader can
// reproduce; `best` is the fastest round, what the code does when nothing disturbs it. Figures only, never
// pass/fail: these are not tests and `make test` does not run them.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

namespace micro {

// Makes the optimiser assume `value` is read: without it a loop whose results are unused may be deleted or
// hoisted out of the timed region, and the figure would measure nothing. The memory clobber also stops it
// from caching memory across the barrier.
template <class T>
inline void keep(const T& value) {
    asm volatile("" : : "g"(&value) : "memory");
}

// How a benchmark's figure is shown: time per operation, or operations per second (throughput figures).
enum class unit { ns_per_op, ops_per_sec };

using body_fn = std::function<void(size_t n)>;

// Times body as described above and prints its MICRO line. n is always a multiple of grain, for bodies that
// work in fixed-size batches (so that the figure does not depend on the n the calibration happened to pick).
void run(const std::string& name, const body_fn& body, unit u = unit::ns_per_op, size_t grain = 1);

// A group of benchmarks (one source file) registers itself during static initialisation, so main.cpp needs
// no list of files and a new file is picked up by the Makefile's wildcard alone. Returns a dummy value to
// initialise a namespace-scope constant with.
int add_group(const char* name, void (*run_group)());

// Runs every group whose name contains one of the filters (all groups when there is none); returns how many ran.
int run_groups(int filter_count, char** filters);

}  // namespace micro
