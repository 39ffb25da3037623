// The timer thread: a timer_wheel driven by steady_clock at 1 ms resolution.  The Lua API counts in
// centiseconds; the wheel in milliseconds, so expiries are not rounded up to skynet's 2.5 ms tick.
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

class timer_service {
public:
    // Called with every event due on one tick at once, in expiry order, so that the events of one service can
    // be queued together.
    using fire_fn = std::function<void(const timer_event* events, size_t count)>;

    explicit timer_service(fire_fn fire);
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

    fire_fn fire_;
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
