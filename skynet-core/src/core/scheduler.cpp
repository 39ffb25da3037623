#include "core/scheduler.h"

#include "core/spin_lock.h"

namespace skynet {

namespace {
// The worker thread running now: its scheduler and index (several schedulers may live in one process).
struct worker_identity {
    const scheduler* owner = nullptr;
    int index = -1;
};
thread_local worker_identity tl_worker;

// A worker that runs out of work first looks with `pause` for a moment (a reply in a request/reply
// exchange arrives within a few microseconds), then keeps looking with sched_yield up to about
// 50 microseconds: a yield gives the core to any other runnable thread (the socket thread, a client
// on the same machine, another process), so looking costs nothing when there is other work to do.
constexpr int pause_rounds = 256;
constexpr int yield_rounds = 64;
// How often the look glances at the other workers' slots (a clock read and a load per worker).
constexpr int glance_every = 16;
// A slot's owner takes its service within a microsecond or so of the turn's end; one still there after
// this long belongs to a turn that went on working, and an idle worker takes it.
constexpr auto steal_grace = std::chrono::microseconds(20);
// How long an idle worker naps, rather than sleeps until woken, while other workers hand services over.
constexpr auto activity_nap = std::chrono::microseconds(1000);
// Slot turns in a row before a worker serves the ready queue again, when services wait there.
constexpr int max_chain = 8;
}  // namespace

scheduler::scheduler(int workers)
    : workers_(workers < 1 ? 1 : workers), slots_(std::make_unique<next_slot[]>(size_t(workers_))) {}

scheduler::~scheduler() { stop(); }

int scheduler::weight(int worker) const {
    // skynet's table: the first 4 workers take one message per turn (latency), later ones take a growing
    // share of the queue (throughput).
    static const int table[] = {-1, -1, -1, -1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                2,  2,  2,  2,  2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3};
    return worker < 32 ? table[worker] : 0;
}

bool scheduler::idle() const {
    if (ready_count_.load(std::memory_order_acquire) != 0) return false;
    if (tl_worker.owner != this) return true;
    return slots_[tl_worker.index].state.load(std::memory_order_relaxed) == slot_empty;
}

inline bool scheduler::take(next_slot& slot, service_ptr& out) {
    // A plain load first: after most turns the slot is empty, and a failed compare-exchange still costs a
    // locked instruction.
    if (slot.state.load(std::memory_order_relaxed) != slot_full) return false;
    int expected = slot_full;
    if (!slot.state.compare_exchange_strong(expected, slot_moving, std::memory_order_acquire,
                                            std::memory_order_relaxed))
        return false;
    out = std::move(slot.held);
    slot.state.store(slot_empty, std::memory_order_release);
    return true;
}

inline bool scheduler::wake_wanted(bool nappers_too) const {
    // seq_cst: a handoff reads these without mu_, after publishing its slot (see hand_to_slot).
    int waiting = sleeping_.load(std::memory_order_seq_cst);
    if (nappers_too) waiting += napping_.load(std::memory_order_seq_cst);
    return waiting > 0 && spinning_.load(std::memory_order_seq_cst) == 0 && !waking_.load(std::memory_order_seq_cst);
}

inline void scheduler::wake_one_locked(bool nappers_too) {
    if (wake_wanted(nappers_too)) {
        waking_.store(true, std::memory_order_relaxed);
        cv_.notify_one();
    }
}

void scheduler::start(turn_fn turn) {
    turn_ = std::move(turn);
    for (int i = 0; i < workers_; ++i) threads_.emplace_back([this, i] { worker_loop(i); });
}

void scheduler::hand_off(service_ptr s) {
    if (tl_worker.owner == this)
        hand_to_slot(slots_[tl_worker.index], std::move(s));
    else
        push(std::move(s));
}

void scheduler::push(service_ptr s) {
    spin_then_lock(mu_);
    std::lock_guard lock(mu_, std::adopt_lock);
    ready_.push_back(std::move(s));
    ready_count_.store(ready_.size(), std::memory_order_release);
    wake_one_locked(true);
}

void scheduler::hand_to_slot(next_slot& slot, service_ptr s) {
    service_ptr older;
    for (int round = 0;; ++round) {
        int state = slot.state.load(std::memory_order_acquire);
        if (state == slot_empty) break;
        if (state == slot_full && take(slot, older)) break;
        // Another worker is moving it out, a few stores; yield should that worker have lost its core.
        if (round < 64)
            cpu_relax();
        else
            std::this_thread::yield();
    }
    slot.held = std::move(s);
    slot.handoffs.store(slot.handoffs.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    // seq_cst, and so are the loads below and the sleeper's count-then-check in wait_for_work: either the
    // sleeper sees this slot full, or this sees it counted and wakes it.
    slot.state.store(slot_full, std::memory_order_seq_cst);
    if (older) {
        push(std::move(older));   // wakes a sleeper by the queue's rule, who will see the slot too
        return;
    }
    // Should this turn go on for long, somebody must be awake to take the slot: as for the queue, a sleeper
    // is woken when nobody is looking (looked at first without the lock, which most handoffs then skip).
    if (wake_wanted(false)) {
        spin_then_lock(mu_);
        std::lock_guard lock(mu_, std::adopt_lock);
        wake_one_locked(false);
    }
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

service_ptr scheduler::steal_stale(int self, sighting& seen) {
    auto now = std::chrono::steady_clock::now();
    if (seen.worker >= 0) {
        next_slot& slot = slots_[seen.worker];
        if (slot.state.load(std::memory_order_acquire) == slot_full &&
            slot.handoffs.load(std::memory_order_relaxed) == seen.handoff) {
            if (now - seen.since < steal_grace) return nullptr;
            service_ptr s;
            if (take(slot, s)) return s;
        }
        seen.worker = -1;
    }
    for (int k = 1; k < workers_; ++k) {
        int w = (self + k) % workers_;
        next_slot& slot = slots_[w];
        if (slot.state.load(std::memory_order_acquire) == slot_full) {
            seen = {w, slot.handoffs.load(std::memory_order_relaxed), now};
            break;
        }
    }
    return nullptr;
}

uint64_t scheduler::handoffs_except(int self) const {
    uint64_t sum = 0;
    for (int w = 0; w < workers_; ++w)
        if (w != self) sum += slots_[w].handoffs.load(std::memory_order_relaxed);
    return sum;
}

bool scheduler::any_slot_full(int self) const {
    for (int w = 0; w < workers_; ++w)
        if (w != self && slots_[w].state.load(std::memory_order_seq_cst) != slot_empty) return true;
    return false;
}

service_ptr scheduler::look_for_work(int self) {
    sighting seen;
    for (int i = 0; i < pause_rounds + yield_rounds; ++i) {
        if (ready_count_.load(std::memory_order_acquire) != 0) return nullptr;
        if (workers_ > 1 && i % glance_every == 0)
            if (service_ptr s = steal_stale(self, seen)) return s;
        if (i < pause_rounds)
            cpu_relax();
        else
            std::this_thread::yield();
    }
    return nullptr;
}

void scheduler::worker_loop(int index) {
    tl_worker = {this, index};
    next_slot& mine = slots_[index];
    std::unique_lock lock(mu_, std::defer_lock);
    spin_then_lock(lock);
    for (;;) {
        service_ptr s;
        if (ready_.empty() && !quit_) s = wait_for_work(lock, index);
        if (!s) {
            if (ready_.empty()) break;   // quit and nothing left
            s = std::move(ready_.front());
            ready_.pop_front();
            ready_count_.store(ready_.size(), std::memory_order_release);
            // More work queued and nobody looking for it: hand it to a sleeper.
            if (!ready_.empty()) wake_one_locked(true);
        }
        lock.unlock();
        // s, then whatever its turns leave in the slot: up to max_chain turns in a row while others wait.
        for (int chain = 1;; ++chain) {
            turn_(std::move(s), index);
            if (!take(mine, s)) break;
            if (chain >= max_chain && ready_count_.load(std::memory_order_acquire) != 0) {
                push(std::move(s));
                break;
            }
        }
        spin_then_lock(lock);
    }
    tl_worker = {};
}

service_ptr scheduler::wait_for_work(std::unique_lock<light_mutex>& lock, int index) {
    // Spin without the lock for a while: work that arrives now is picked up without a futex.
    auto look = [&] {
        spinning_.fetch_add(1);
        lock.unlock();
        service_ptr s = look_for_work(index);
        spin_then_lock(lock);
        spinning_.fetch_sub(1);
        return s;
    };
    service_ptr s = look();
    uint64_t seen_handoffs = handoffs_except(index);
    while (!s && ready_.empty() && !quit_) {
        // Counted as sleeping before the slots are read: a handoff that misses the count is seen here.
        sleeping_.fetch_add(1);
        if (any_slot_full(index)) {
            // Its owner may have seen us spinning and woken nobody: nap, then look (and steal) again.
            sleeping_.fetch_sub(1);
            nap(lock, steal_grace);
            s = look();
            continue;
        }
        uint64_t handoffs = handoffs_except(index);
        if (handoffs != seen_handoffs) {
            // Other workers are handing services to themselves (a request/reply chain): stay off the futex
            // they would pay to wake us at every handoff, and come back now and then for a slot left long.
            sleeping_.fetch_sub(1);
            seen_handoffs = handoffs;
            nap(lock, activity_nap);
            continue;
        }
        cv_.wait(lock);
        sleeping_.fetch_sub(1);
        waking_.store(false, std::memory_order_seq_cst);
        s = look();
        seen_handoffs = handoffs_except(index);
    }
    return s;
}

void scheduler::nap(std::unique_lock<light_mutex>& lock, std::chrono::microseconds how_long) {
    // A napper is woken for the queue (a service pushed there should not wait out the nap) but not for a
    // handoff, which is what it naps through.
    napping_.fetch_add(1, std::memory_order_relaxed);
    cv_.wait_for(lock, how_long);
    napping_.fetch_sub(1, std::memory_order_relaxed);
    waking_.store(false, std::memory_order_relaxed);
}
}  // namespace skynet
