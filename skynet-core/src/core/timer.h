// The timer thread: a timer_wheel driven by steady_clock at 1 ms resolution.  The Lua API counts in
// centiseconds, and like skynet a timer of `ti` centiseconds is due when skynet.now() has moved on by `ti`:
// at the start of that 10 ms tick, not `ti`*10 ms after it was armed.  The wheel's 1 ms resolution means
// the tick start is met to the millisecond (skynet's timer thread polls every 2.5 ms).  A tick on which
// thousands of timers fall due is gathered a millisecond ahead, so that they still leave at its start (loop).
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "core/timer_wheel.h"

namespace skynet {

// When a timer armed at now_ms (milliseconds since start) with delay_ms is due: the start of the 10 ms tick
// `delay_ms / 10` ticks after the current one, so skynet.now() reads exactly arm + ti when it fires.  A delay
// <= 0 is due at once.
constexpr uint64_t tick_aligned_due(uint64_t now_ms, int64_t delay_ms) {
    return delay_ms <= 0 ? now_ms : now_ms - now_ms % 10 + uint64_t(delay_ms);
}

class timer_service {
public:
    // Called with every event due on one tick at once, in expiry order, so that the events of one service can
    // be queued together.
    using fire_fn = std::function<void(const timer_event* events, size_t count)>;

    // Called, with the lock not held, with the events of a heavy tick shortly before it starts (see loop).
    using prepare_fn = std::function<void(const timer_event* events, size_t count)>;

    explicit timer_service(fire_fn fire, prepare_fn prepare = nullptr);
    ~timer_service();

    void start();
    void stop();
    void add(int64_t delay_ms, timer_event ev);

    // Centiseconds since start, offset by the centisecond fraction of the start time (skynet_now), so that
    // now()/100 + start_time() is wall-clock time.
    uint64_t now_cs() const;
    // UTC seconds at start.
    uint32_t start_time() const { return start_seconds_; }

private:
    uint64_t elapsed_ms() const;
    void loop();
    void fire_ahead(std::unique_lock<std::mutex>& lock, uint64_t tick, std::vector<timer_event>& staged);

    fire_fn fire_;
    prepare_fn prepare_;
    std::chrono::steady_clock::time_point origin_;
    uint32_t start_seconds_;
    uint32_t start_fraction_cs_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    timer_wheel wheel_;
    uint64_t sleeping_until_ = 0;
    bool quit_ = false;
    std::thread thread_;
};

}  // namespace skynet
