// The timer wheel driven by hand (no clock, no thread), as test/unit/test_timer_wheel.cpp drives it: the cost
// of scheduling a timer and of delivering it when the wheel is advanced tick by tick.
#include <cstdint>

#include "core/timer_wheel.h"
#include "harness.h"

namespace {

using skynet::timer_event;
using skynet::timer_wheel;

// About one timer per millisecond, spread with a stride so that equal delays do not bunch up; delays reach
// past the 256 ms near wheel into the first and second levels, so adds and cascades both show in the figure.
int64_t delay_of(size_t i, size_t n) {
    uint64_t span = n < 256 ? 256 : n;
    return int64_t((uint64_t(i) * 7919) % span) + 1;
}

void add_only(size_t n) {
    timer_wheel w(0);
    for (size_t i = 0; i < n; ++i) w.add(delay_of(i, n), timer_event{1, int32_t(i)});
    micro::keep(w);
}

// Adds n timers, then advances one tick (1 ms) at a time, as the timer thread does under a steady load,
// until every timer has fired. Per timer: its add, its share of the ticks and cascades, and its delivery.
void add_and_fire(size_t n) {
    timer_wheel w(0);
    for (size_t i = 0; i < n; ++i) w.add(delay_of(i, n), timer_event{1, int32_t(i)});
    int64_t sessions = 0;
    for (uint64_t now = 1; w.size() > 0; ++now) {
        w.advance(now, [&sessions](const timer_event& ev) { sessions += ev.session; });
    }
    micro::keep(sessions);
}

void run_group() {
    micro::run("timer_wheel.add", add_only);
    micro::run("timer_wheel.add_and_fire", add_and_fire);
}

[[maybe_unused]] const int registered = micro::add_group("timer_wheel", run_group);

}  // namespace
