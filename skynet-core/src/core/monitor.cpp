#include "core/monitor.h"

namespace skynet {

monitor::monitor(int workers, report_fn report, std::chrono::milliseconds interval)
    : workers_(workers), report_(std::move(report)), interval_(interval), slots_(new slot[workers]) {}

monitor::~monitor() { stop(); }

void monitor::start() {
    thread_ = std::thread([this] { loop(); });
}

void monitor::stop() {
    {
        std::lock_guard lock(mu_);
        quit_ = true;
        cv_.notify_all();
    }
    if (thread_.joinable()) thread_.join();
}

void monitor::check() {
    for (int i = 0; i < workers_; ++i) {
        auto& s = slots_[i];
        uint32_t v = s.version.load(std::memory_order_acquire);
        uint32_t dest = s.destination.load(std::memory_order_relaxed);
        if (v == s.checked_version && dest != 0) {
            report_(s.source.load(std::memory_order_relaxed), dest, v);
        }
        s.checked_version = v;
    }
}

void monitor::loop() {
    std::unique_lock lock(mu_);
    while (!quit_) {
        if (cv_.wait_for(lock, interval_, [this] { return quit_; })) break;
        lock.unlock();
        check();
        lock.lock();
    }
}

}  // namespace skynet
