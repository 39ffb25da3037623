// pending_sessions: the per-service table of sessions waited on (a Lua service's session_id_coroutine).
#include "harness.h"
#include "lua/pending_sessions.h"

namespace {

using skynet::sched::pending_sessions;

// One session made and answered at a time: a sequential skynet.call.
void call_churn(size_t n) {
    pending_sessions table;
    for (size_t i = 0; i < n; ++i) {
        int32_t s = int32_t(i + 1);
        table.get_or_add(s).waiter = pending_sessions::waiting_thread;
        auto* e = table.find(s);
        e->waiter = pending_sessions::no_waiter;
        table.drop_if_empty(e);
        micro::keep(e);
    }
}

// The same churn beside 10,000 sessions that stay pending (sleeping threads): the calls' look-ups must not
// walk a long cluster of the sleepers' entries.
void call_churn_beside_sleepers(size_t n) {
    constexpr int32_t sleepers = 10000;
    pending_sessions table;
    for (int32_t s = 1; s <= sleepers; ++s) table.get_or_add(s).waiter = pending_sessions::waiting_thread;
    for (size_t i = 0; i < n; ++i) {
        int32_t s = sleepers + 1 + int32_t(i % 1000000);
        table.get_or_add(s).waiter = pending_sessions::waiting_thread;
        auto* e = table.find(s);
        e->waiter = pending_sessions::no_waiter;
        table.drop_if_empty(e);
        micro::keep(e);
    }
}

// A burst: 10,000 sessions made in order (timers armed, calls fanned out), then answered in the same order.
// The figure is per session, both halves included.  (In a service the table is cold between two answers;
// that cost is the drain of bench/timer's burst, not this figure.)
constexpr int32_t burst = 10000;

void burst_in_order(size_t n) {
    pending_sessions table;
    int32_t next = 1;
    for (size_t done = 0; done < n; done += burst) {   // n is a multiple of burst (the grain)
        int32_t first = next;
        for (int32_t i = 0; i < burst; ++i) table.get_or_add(next++).waiter = pending_sessions::waiting_thread;
        for (int32_t s = first; s < next; ++s) {
            auto* e = table.find(s);
            e->waiter = pending_sessions::no_waiter;
            table.drop_if_empty(e);
        }
    }
    micro::keep(table);
}

void run_group() {
    micro::run("pending_sessions.call_churn", call_churn);
    micro::run("pending_sessions.call_churn_beside_10k_sleepers", call_churn_beside_sleepers);
    micro::run("pending_sessions.burst_in_order", burst_in_order, micro::unit::ns_per_op, burst);
}

[[maybe_unused]] const int registered = micro::add_group("pending_sessions", run_group);

}  // namespace
