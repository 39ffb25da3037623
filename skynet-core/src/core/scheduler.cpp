#include "core/scheduler.h"

#include "core/spin_lock.h"

namespace skynet {

scheduler::scheduler(int workers) : workers_(workers < 1 ? 1 : workers) {}

scheduler::~scheduler() { stop(); }

int scheduler::weight(int worker) const {
    // skynet's table: the first 4 workers take one message per turn (latency), later ones take a growing
    // share of the queue (throughput).
    static const int table[] = {-1, -1, -1, -1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                2,  2,  2,  2,  2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3};
    return worker < 32 ? table[worker] : 0;
}

void scheduler::start(turn_fn turn) {
    turn_ = std::move(turn);
    for (int i = 0; i < workers_; ++i) threads_.emplace_back([this, i] { worker_loop(i); });
}

void scheduler::push(service_ptr s) {
    spin_then_lock(mu_);
    std::lock_guard lock(mu_, std::adopt_lock);
    ready_.push_back(std::move(s));
    ready_count_.store(ready_.size(), std::memory_order_release);
    if (sleeping_ > 0 && spinning_ == 0) cv_.notify_one();
}

void scheduler::stop() {
    {
        std::lock_guard lock(mu_);
        if (quit_ && threads_.empty()) return;
        quit_ = true;
        cv_.notify_all();
    }
    for (auto& t : threads_) t.join();
    threads_.clear();
    std::lock_guard lock(mu_);
    ready_.clear();
}

namespace {
// A worker that runs out of work first looks with `pause` for a moment (a reply in a request/reply
// exchange arrives within a few microseconds), then keeps looking with sched_yield up to about
// 50 microseconds: a yield gives the core to any other runnable thread (the socket thread, a client
// on the same machine, another process), so looking costs nothing when there is other work to do.
constexpr int pause_rounds = 256;
constexpr int yield_rounds = 64;
}  // namespace

bool scheduler::look_for_work() const {
    for (int i = 0; i < pause_rounds; ++i) {
        if (ready_count_.load(std::memory_order_acquire) != 0) return true;
        cpu_relax();
    }
    for (int i = 0; i < yield_rounds; ++i) {
        if (ready_count_.load(std::memory_order_acquire) != 0) return true;
        std::this_thread::yield();
    }
    return ready_count_.load(std::memory_order_acquire) != 0;
}

void scheduler::worker_loop(int index) {
    std::unique_lock lock(mu_, std::defer_lock);
    spin_then_lock(lock);
    for (;;) {
        if (ready_.empty() && !quit_) {
            // Spin without the lock for a while: work that arrives now is picked up without a futex.
            ++spinning_;
            lock.unlock();
            look_for_work();
            spin_then_lock(lock);
            --spinning_;
            while (ready_.empty() && !quit_) {
                ++sleeping_;
                cv_.wait(lock);
                --sleeping_;
            }
        }
        if (ready_.empty()) return;   // quit and nothing left
        service_ptr s = std::move(ready_.front());
        ready_.pop_front();
        ready_count_.store(ready_.size(), std::memory_order_release);
        // More work queued and nobody looking for it: hand it to a sleeper.
        if (!ready_.empty() && sleeping_ > 0 && spinning_ == 0) cv_.notify_one();
        lock.unlock();
        turn_(std::move(s), index);
        spin_then_lock(lock);
    }
}
}  // namespace skynet
