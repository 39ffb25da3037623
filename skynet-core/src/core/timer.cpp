#include "core/timer.h"

#include "core/spin_lock.h"

#ifdef __linux__
#include <sys/prctl.h>
#endif

namespace skynet {

namespace {
// A tick on which this many timers or more fall due is gathered ahead of time (loop).
constexpr size_t heavy_tick = 1024;
// How long before such a tick the thread wakes to gather it.
constexpr uint64_t lead_ms = 1;
}  // namespace

timer_service::timer_service(fire_fn fire, prepare_fn prepare)
    : fire_(std::move(fire)), prepare_(std::move(prepare)), origin_(std::chrono::steady_clock::now()), wheel_(0) {
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
    // The thread plans its sleep for the timers it knows: it must hear of an earlier one, and of the one that
    // makes the tick it sleeps until a heavy tick, to be gathered ahead (loop).
    if (due < sleeping_until_ || (due == sleeping_until_ && wheel_.due_at(due) == heavy_tick)) cv_.notify_one();
}

void timer_service::loop() {
    constexpr size_t fire_batch = 256;
    std::vector<timer_event> due;
    due.reserve(fire_batch);
    std::vector<timer_event> staged;
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
        auto next = wheel_.next_due();
        if (next && *next < wake) wake = *next > now ? *next : now + 1;
        // A heavy tick: waking at its start, gathering thousands of events and growing the mailboxes they go
        // to took 250-450 us (measured, 4,000-6,500 events) before the first service had the first of them;
        // and the kernel put the worker it woke on this thread's core, to wait for the rest.  The thread wakes
        // lead_ms early instead, does that work, and waits out the tick spinning, so that the events leave at
        // its start (25-40 us after it, measured).  The spin costs at most lead_ms of a core for a tick that
        // will cost the services a millisecond or more.
        bool heavy = next && *next > now + lead_ms && *next - lead_ms <= wake && wheel_.due_at(*next) >= heavy_tick;
        if (heavy) wake = *next - lead_ms;
        sleeping_until_ = wake;
        cv_.wait_until(lock, origin_ + std::chrono::milliseconds(wake));
        sleeping_until_ = 0;
        if (heavy && !quit_) {
            // Woken on time (not early by an add(), nor after the tick: then the next advance delivers it)?
            uint64_t tick = wake + lead_ms, t = elapsed_ms();
            if (t >= wake && t < tick) fire_ahead(lock, tick, staged);
        }
    }
}

// Takes the events due at `tick` out of the wheel, lets prepare_ make room for them with the lock released,
// and fires them once the tick has started.  Timers added meanwhile for the same tick are in the wheel again
// and go with the next advance, after these; none can fall due before `tick`, since timers are due at the
// start of a 10 ms tick (tick_aligned_due) and the thread woke within the one before.
void timer_service::fire_ahead(std::unique_lock<std::mutex>& lock, uint64_t tick, std::vector<timer_event>& staged) {
    staged.clear();
    wheel_.take_due_at(tick, staged);
    lock.unlock();
    if (prepare_) prepare_(staged.data(), staged.size());
    const auto start = origin_ + std::chrono::milliseconds(tick);
    while (std::chrono::steady_clock::now() < start) cpu_relax();
    fire_(staged.data(), staged.size());
    // A tick of a million timers leaves no 8 MB behind.
    constexpr size_t kept = 64 * 1024;
    if (staged.capacity() > kept) std::vector<timer_event>().swap(staged);
    lock.lock();
}

}  // namespace skynet
