// The clock of per-service CPU accounting (STAT cpu/time, the console's stat): read twice per message.
//
// skynet reads CLOCK_THREAD_CPUTIME_ID, a real system call on our VMs (~0.5 us a message). Even the vDSO's
// steady_clock costs ~25 ns a read, a few percent of a message. Where the processor has an invariant TSC
// (a constant rate in every power state, cpuid 0x80000007 EDX bit 8), a read is one `rdtsc`; ticks are
// turned into nanoseconds only when a figure is asked for, with the rate measured between the first read and
// that moment against steady_clock. Elsewhere the ticks are steady_clock nanoseconds.
#pragma once
#include <cstdint>

namespace skynet::cpu_clock {

// A monotonic count, cheap to read; only differences mean anything.
uint64_t ticks();

// A tick difference in nanoseconds.
uint64_t to_ns(uint64_t tick_delta);

// True when ticks() reads the TSC.
bool uses_tsc();

}  // namespace skynet::cpu_clock
