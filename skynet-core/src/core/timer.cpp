#include "core/timer.h"

#ifdef __linux__
#include <sys/prctl.h>
#endif

namespace skynet {

timer_service::timer_service(fire_fn fire)
    : fire_(std::move(fire)), origin_(std::chrono::steady_clock::now()), wheel_(0) {
    auto wall = std::chrono::system_clock::now().time_since_epoch();
    auto cs = std::chrono::duration_cast<std::chrono::milliseconds>(wall).count() / 10;
    start_seconds_ = uint32_t(cs / 100);
    start_fraction_cs_ = uint32_t(cs % 100);
}

timer_service::~timer_service() { stop(); }

uint64_t timer_service::elapsed_ms() const {
    return uint64_t(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - origin_)
                        .count());
}

uint64_t timer_service::now_cs() const { return elapsed_ms() / 10 + start_fraction_cs_; }

void timer_service::start() {
    thread_ = std::thread([this] {
#ifdef __linux__
        // A sleeping thread's wake-up may be put off by its timer slack (50 us by default) so that the kernel
        // can batch wake-ups.  This thread sleeps until the tick on which timers are due, and each microsecond
        // it oversleeps is lateness for every one of them: measured on a 2-vCPU VM, its wake-ups came 90-150 us
        // after the due millisecond with the default slack and 30-80 us with none.  It wakes at most once a
        // due tick, so asking for no slack costs nothing in wake-ups.
        prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
#endif
        loop();
    });
}

void timer_service::stop() {
    {
        std::lock_guard lock(mu_);
        quit_ = true;
        cv_.notify_all();
    }
    if (thread_.joinable()) thread_.join();
}

void timer_service::add(int64_t delay_ms, timer_event ev) {
    std::lock_guard lock(mu_);
    // The wheel counts from its own now(), which lags behind the clock while the thread sleeps: the delay
    // it gets is measured from there, so a lagging thread neither shortens nor stretches the timer.
    uint64_t due = tick_aligned_due(elapsed_ms(), delay_ms);
    wheel_.add(int64_t(due) - int64_t(wheel_.now()), ev);
    if (due < sleeping_until_) cv_.notify_one();
}

void timer_service::loop() {
    constexpr size_t fire_batch = 256;
    std::vector<timer_event> due;
    due.reserve(fire_batch);
    std::unique_lock lock(mu_);
    while (!quit_) {
        uint64_t now = elapsed_ms();
        // In parts: a tick on which thousands of timers fall due would otherwise keep every add() waiting on
        // the lock while all of them are gathered, and the first services would get their expiries only after
        // the last one was found.
        wheel_.advance(now, [&](const timer_event& ev) { due.push_back(ev); }, fire_batch);
        if (!due.empty()) {
            lock.unlock();
            fire_(due.data(), due.size());
            due.clear();
            lock.lock();
            continue;
        }
        // Sleep until the next due timer (at most 100 ms, so stop() and clock hiccups are noticed).
        uint64_t wake = now + 100;
        if (auto next = wheel_.next_due(); next && *next < wake) wake = *next > now ? *next : now + 1;
        sleeping_until_ = wake;
        cv_.wait_until(lock, origin_ + std::chrono::milliseconds(wake));
        sleeping_until_ = 0;
    }
}

}  // namespace skynet
