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
#pragma once
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
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

    // True when no service waits in the ready queue: a worker may keep running its current service.
    bool idle() const { return ready_count_.load(std::memory_order_acquire) == 0; }

    void start(turn_fn turn);
    void push(service_ptr s);
    // Stops the workers after the services already queued have had their turn.
    void stop();

private:
    void worker_loop(int index);
    // The bounded look for queued work before a worker sleeps; true when some appeared.
    bool look_for_work() const;

    int workers_;
    turn_fn turn_;
    light_mutex mu_;
    std::condition_variable_any cv_;
    std::deque<service_ptr> ready_;
    std::atomic<size_t> ready_count_{0};   // ready_.size(), for spinners that look without the lock
    int sleeping_ = 0;
    int spinning_ = 0;
    bool quit_ = false;
    std::vector<std::thread> threads_;
};

}  // namespace skynet
