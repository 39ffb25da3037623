// Worker threads and the ready queue of services that have messages.
//
// Services float between workers (never pinned, so one slow service cannot stall its neighbours).
//
// Waking a sleeping thread costs a futex call on both sides, which in a request/reply exchange would be paid
// on every message.  So a worker that runs out of work first looks for a short, bounded time (no CPU burnt
// for long, unlike skynet #1330; mostly with sched_yield, so other runnable threads get the core) before it
// sleeps, and a push wakes a sleeper only when no worker is spinning.  A spinner that finds work wakes a sleeper if more is queued, so parallelism is not lost.
// Every change of the spinning/sleeping counts and every final emptiness check happen under one mutex,
// so no wake-up is lost.  The mutex is a light_mutex (every message's push and pop take it; glibc's costs
// some sixty instructions a lock), so sleepers wait on a condition_variable_any.
//
// The next slot.  A service that a worker's turn makes ready with a call's request or its reply waits in that
// worker's slot instead of the ready queue, and the worker runs it as soon as the turn ends: a request/reply
// chain then stays on one core with its two Lua states in that core's caches, instead of crossing to the
// other worker on every message (Go's runnext, tokio's LIFO slot).  What keeps it safe:
// - a turn that goes on for long after a handoff (a handler that calls out, then computes) does not hold the
//   service back: an idle worker steals a slot that kept the same service for 20 microseconds.  A sleeping
//   worker is woken for a slot as for a queued service when nobody else is looking; while other workers keep
//   handing services over (a request/reply chain, where waking it would cost the chain a futex call per
//   handoff) an idle worker naps 1 ms at a time instead of sleeping, so such a slot waits 1 ms at most;
// - a slot holds one service: a second one made ready in the same turn sends the first to the queue;
// - a chain of slot turns gives way to the queue after `max_chain` turns when other services wait there;
// - plain sends (no session: nobody waits for an answer) go to the queue as before, since their sender
//   usually goes on sending (a producer), and so does the turn's own service when it has more messages.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/light_mutex.h"
#include "core/service.h"

namespace skynet {

class scheduler {
public:
    using turn_fn = std::function<void(service_ptr, int worker)>;

    explicit scheduler(int workers);
    ~scheduler();

    int workers() const { return workers_; }
    // skynet's per-thread batching weight: -1 means one message per turn, w >= 0 means length >> w.
    int weight(int worker) const;

    // True when no service waits for the calling worker: the ready queue is empty, and so is its next slot.
    // A worker may then keep running its current service.
    bool idle() const;

    void start(turn_fn turn);
    // A service became ready: to the back of the ready queue.
    void push(service_ptr s);
    // A service became ready for something the running turn will wait on (a request it sent, a reply it
    // gave): from one of this scheduler's workers it goes to that worker's next slot, from any other thread
    // to the queue.
    void hand_off(service_ptr s);
    // Stops the workers after the services already queued have had their turn.
    void stop();

private:
    enum slot_state : int { slot_empty, slot_full, slot_moving };
    // One cache line per worker: the owner writes it on every handoff, the others only read it while idle.
    struct alignas(64) next_slot {
        std::atomic<int> state{slot_empty};
        // Bumped by each handoff, so a thief tells a service that sat there a while from a new one.
        std::atomic<uint32_t> handoffs{0};
        service_ptr held;
    };
    // A full slot seen by an idle worker: whose, which handoff, since when.
    struct sighting {
        int worker = -1;
        uint32_t handoff = 0;
        std::chrono::steady_clock::time_point since;
    };

    void worker_loop(int index);
    // An idle worker's wait, mu_ held and the queue empty: spins, naps or sleeps until the queue has work
    // (returns null) or it stole a service from a slot (returns it).
    service_ptr wait_for_work(std::unique_lock<light_mutex>& lock, int index);
    // A sleeper (or a napper, with nappers_too) waits, nobody spins and no wake-up is already on its way.
    bool wake_wanted(bool nappers_too) const;
    // Wakes one waiter when wake_wanted (mu_ held).
    void wake_one_locked(bool nappers_too);
    // A timed wait that handoffs do not interrupt (mu_ held).
    void nap(std::unique_lock<light_mutex>& lock, std::chrono::microseconds how_long);
    void hand_to_slot(next_slot& slot, service_ptr s);
    // Moves a full slot's service into `out`; false when the slot was not full.
    static bool take(next_slot& slot, service_ptr& out);
    // The bounded look for work before a worker sleeps: returns a service stolen from another worker's slot,
    // or null (then the ready queue may have something, or nothing appeared).
    service_ptr look_for_work(int self);
    // Updates `seen` with the other workers' slots; returns a service held in one for steal_grace or longer.
    service_ptr steal_stale(int self, sighting& seen);
    // Some other worker's slot is full (the caller holds mu_, after counting itself as sleeping).
    bool any_slot_full(int self) const;
    // The other workers' handoffs so far: a change means a request/reply chain is running somewhere.
    uint64_t handoffs_except(int self) const;

    int workers_;
    turn_fn turn_;
    light_mutex mu_;
    std::condition_variable_any cv_;
    std::deque<service_ptr> ready_;
    std::atomic<size_t> ready_count_{0};   // ready_.size(), for spinners that look without the lock
    std::unique_ptr<next_slot[]> slots_;
    // Changed under mu_; read without it by a handoff deciding whether to wake a sleeper.
    std::atomic<int> sleeping_{0};
    std::atomic<int> spinning_{0};
    std::atomic<int> napping_{0};
    // A sleeper was told to wake and has not yet: another notify would only cost the notifier.
    std::atomic<bool> waking_{false};
    bool quit_ = false;
    std::vector<std::thread> threads_;
};

}  // namespace skynet
