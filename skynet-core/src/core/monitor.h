// Endless-loop detection: each worker bumps a version when it starts a message; a thread looks every
// 5 seconds and reports a worker still on the same message.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

namespace skynet {

class monitor {
public:
    // report(source, destination, version) is called from the monitor thread for each message that ran too long.
    using report_fn = std::function<void(uint32_t source, uint32_t destination, uint32_t version)>;

    monitor(int workers, report_fn report, std::chrono::milliseconds interval = std::chrono::seconds(5));
    ~monitor();

    void begin(int worker, uint32_t source, uint32_t destination) {
        auto& s = slots_[worker];
        s.source.store(source, std::memory_order_relaxed);
        s.destination.store(destination, std::memory_order_relaxed);
        // Only this worker writes its slot, so a plain store does what an atomic increment would.
        s.version.store(s.version.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    }
    void end(int worker) { slots_[worker].destination.store(0, std::memory_order_relaxed); }

    void start();
    void stop();

private:
    // One cache line per worker so the workers' stores do not fight over a line.
    struct alignas(64) slot {
        std::atomic<uint32_t> version{0};
        std::atomic<uint32_t> source{0};
        std::atomic<uint32_t> destination{0};
        uint32_t checked_version = 0;
    };
    void loop();
    void check();

    int workers_;
    report_fn report_;
    std::chrono::milliseconds interval_;
    std::unique_ptr<slot[]> slots_;
    std::mutex mu_;
    std::condition_variable cv_;
    bool quit_ = false;
    std::thread thread_;
};

}  // namespace skynet
