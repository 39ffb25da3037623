// Scheduler: what it costs to hand a service to a worker through the ready queue or the next slot.
#include <atomic>
#include <memory>

#include "core/scheduler.h"
#include "core/service.h"
#include "fixtures.h"
#include "harness.h"

namespace {

using skynet::message;
using skynet::scheduler;
using skynet::service;
using skynet::service_ptr;

// A service as the core makes it, but idle: a new mailbox starts scheduled (so nothing runs before init),
// and the benchmarks want to schedule it themselves.
service_ptr idle_service(uint32_t handle) {
    auto s = std::make_shared<service>(micro::idle_node(), nullptr);
    s->set_handle(handle);
    message drain;
    s->mq().pop(drain);
    return s;
}

// Blocks until `done` is set, sleeping in the kernel: the waiting main thread must not take a core from
// the workers being measured.
void wait_for(std::atomic<bool>& done) {
    done.wait(false);
}

// One worker, one service that puts itself back in the ready queue on every turn: the push, the dequeue,
// the turn callback and the shared_ptr moves, with no thread switch. The lower bound of a handoff.
void requeue(size_t n) {
    scheduler sched(1);
    size_t turns = 0;   // only the single worker touches it
    std::atomic<bool> done{false};
    sched.start([&](service_ptr s, int) {
        if (++turns < n) {
            sched.push(std::move(s));
        } else {
            done.store(true);
            done.notify_one();
        }
    });
    sched.push(idle_service(1));
    wait_for(done);
    sched.stop();
}

// Two workers, two services passing one token (a message) back and forth under the mailbox flag protocol,
// as in a call/response between two services: each pass is a push onto an idle mailbox, then either a
// ready-queue push, usually picked up by the other worker (`handoff` false: a plain send), or a handoff to
// the worker's next slot, run by the same worker once the turn ends (`handoff` true: a request or a reply).
// Per pass, so it is the latency of a message between services.
void ping_pong(size_t n, bool handoff) {
    scheduler sched(2);
    service_ptr a = idle_service(1);
    service_ptr b = idle_service(2);
    std::atomic<size_t> passes{0};
    std::atomic<bool> done{false};
    sched.start([&](service_ptr s, int) {
        service_ptr& other = s == a ? b : a;
        message m;
        // Draining until empty clears the scheduled flag on the last pop, as the core's dispatch loop does.
        while (s->mq().pop(m)) {
            if (passes.fetch_add(1, std::memory_order_relaxed) + 1 >= n) {
                done.store(true);
                done.notify_one();
                continue;
            }
            if (other->mq().push(m) != skynet::mailbox::push_result::schedule) continue;
            if (handoff)
                sched.hand_off(other);
            else
                sched.push(other);
        }
    });
    if (a->mq().push(message{0, 0, skynet::PTYPE_LUA, nullptr, 0}) == skynet::mailbox::push_result::schedule)
        sched.push(a);
    wait_for(done);
    sched.stop();
}

void run_group() {
    micro::run("scheduler.requeue_1worker", requeue);
    micro::run("scheduler.ping_pong_2workers", [](size_t n) { ping_pong(n, false); });
    micro::run("scheduler.handoff_ping_pong_2workers", [](size_t n) { ping_pong(n, true); });
}

[[maybe_unused]] const int registered = micro::add_group("scheduler", run_group);

}  // namespace
