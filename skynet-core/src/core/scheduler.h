// Worker threads and the ready queue of services that have messages.
//
// Services float between workers (never pinned, so one slow service cannot stall its neighbours).  A worker
// with nothing to do sleeps on a condition variable; a push wakes one sleeper, and since pushes and the
// sleepers' check share one mutex, no wake-up is lost.
#pragma once
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

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

    void start(turn_fn turn);
    void push(service_ptr s);
    // Stops the workers after the services already queued have had their turn.
    void stop();

private:
    void worker_loop(int index);

    int workers_;
    turn_fn turn_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<service_ptr> ready_;
    int sleeping_ = 0;
    bool quit_ = false;
    std::vector<std::thread> threads_;
};

}  // namespace skynet
