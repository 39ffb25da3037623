// The timer wheel driven by hand (no clock, no thread), as test/unit/test_timer_wheel.cpp drives it: the cost
// of scheduling a timer and of delivering it when the wheel is advanced tick by tick.
#include <cstdint>

#include "core/timer_wheel.h"
#include "harness.h"

namespace {

using skynet::timer_event;
using skynet::timer_wheel;

// Timers are added in batches of a fixed size spread over as many milliseconds (about one due per tick), so
// the figure does not depend on the calibrated n. 65536 ms reaches past the 256 ms near wheel into the first
// two levels, so adds at every depth and the cascades all show.
constexpr size_t batch = 65536;

// A stride spreads the due times so that consecutive adds do not land in the same slot.
int64_t delay_of(size_t i) { return int64_t((uint64_t(i) * 7919) % batch) + 1; }

// A fresh wheel per batch: the figure includes growing the node pool, as a timer burst on a new node does.
void add_only(size_t n) {
    for (size_t done = 0; done < n; done += batch) {
        timer_wheel w(0);
        for (size_t i = 0; i < batch; ++i) w.add(delay_of(i), timer_event{1, int32_t(i)});
        micro::keep(w);
    }
}

// One wheel in its steady state: each batch is added, then the wheel advances one tick (1 ms) at a time, as
// the timer thread does under a steady load, until all of it has fired. Per timer: its add, its share of the
// ticks and cascades, and its delivery.
void add_and_fire(size_t n) {
    timer_wheel w(0);
    int64_t sessions = 0;
    for (size_t done = 0; done < n; done += batch) {
        for (size_t i = 0; i < batch; ++i) w.add(delay_of(i), timer_event{1, int32_t(i)});
        for (uint64_t now = w.now() + 1; w.size() > 0; ++now) {
            w.advance(now, [&sessions](const timer_event& ev) { sessions += ev.session; });
        }
    }
    micro::keep(sessions);
}

void run_group() {
    micro::run("timer_wheel.add", add_only, micro::unit::ns_per_op, batch);
    micro::run("timer_wheel.add_and_fire", add_and_fire, micro::unit::ns_per_op, batch);
}

[[maybe_unused]] const int registered = micro::add_group("timer_wheel", run_group);

}  // namespace
