// A service: a handle, a mailbox and a module instance (snlua, logger, ...) that handles its messages.
#pragma once
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/mailbox.h"

namespace skynet {

class node;
class service;

// What a kind of service does with its messages.  Every call happens on the worker that currently owns the
// service (the mailbox's scheduled flag), except init, which runs in the launching thread before the service
// is scheduled for the first time.
class service_module {
public:
    virtual ~service_module() = default;
    // False when the service cannot start; the service is then retired without ever running.
    virtual bool init(service& self, std::string_view args) = 0;
    // Handles one message.  The core frees msg.data afterwards unless the module cleared it (took ownership).
    virtual void dispatch(service& self, message& msg) = 0;
    // skynet's SIGNAL command; may be called from any thread.
    virtual void signal(service&, int) {}
    // The service was killed from outside: last chance to answer whoever waits on it.
    virtual void on_kill(service&) {}
};

// Why a service ended, as watchers see it.
enum class end_reason { exit, killed, error };
const char* end_reason_name(end_reason r);

class service {
public:
    service(node& n, std::unique_ptr<service_module> module);
    ~service();
    service(const service&) = delete;
    service& operator=(const service&) = delete;

    uint32_t handle() const { return handle_; }
    void set_handle(uint32_t h) { handle_ = h; }   // by the registry, before the service is published
    node& owner() const { return node_; }
    mailbox& mq() { return mq_; }
    service_module* module() const { return module_.get(); }

    // Sessions: one counter per service, 1..INT32_MAX, wrapping to 1 (never 0 or negative).
    int32_t new_session();
    // The session the next new_session() returns, without taking it.
    int32_t next_session() const { return session_id_ == INT32_MAX ? 1 : session_id_ + 1; }
    // Makes n (1..INT32_MAX, checked by the caller) the next session: NEXTSESSION, a testing aid that
    // starts a service near the wrap.  Like new_session, only the service's own worker calls it.
    void set_next_session(int32_t n) { session_id_ = n - 1; }

    // Retirement: `retire` is called once (by EXIT, KILL or ABORT); a worker then runs `teardown`.
    bool retire(end_reason reason);
    bool retired() const { return state_.load(std::memory_order_acquire) != 0; }
    end_reason reason() const { return end_reason(state_.load(std::memory_order_acquire) - 1); }
    // For a worker whose turn just gave the service up (its pop or unschedule_if_empty cleared the mailbox
    // flag): true when the service is retired and this worker took it back, so the teardown is its own.
    // Without taking it back a worker could tear down a service another one is running: a push may have
    // scheduled it again the moment the flag was cleared, and a retire then land during that turn.  When the
    // flag is already set again, whoever set it holds the service and sees the retire itself.
    bool reclaim_if_retired() { return retired() && mq_.try_schedule(); }
    // Runs once; later calls return false at once.
    bool begin_teardown() { return !torn_down_.exchange(true, std::memory_order_acq_rel); }
    void destroy_module() { module_.reset(); }

    // Per-service statistics (STAT).  Written by the owning worker, read by the service itself.
    uint64_t message_count = 0;
    uint64_t cpu_ticks = 0;              // cpu_clock ticks spent dispatching
    uint64_t dispatch_start_ticks = 0;   // 0 when not dispatching
    std::atomic<bool> endless{false};
    // Bytes held by the service's own heap (the Lua state of snlua), readable from any thread (skynet.memory).
    std::atomic<size_t> heap_bytes{0};

    // Watches (spec §8): who watches this service, and what this service watches.
    struct watch_entry {
        uint32_t watcher;
        uint32_t id;
    };
    std::mutex watch_mu;
    std::vector<watch_entry> watchers;
    std::vector<watch_entry> watching;   // {watched handle, id}
    uint32_t next_watch_id = 0;
    bool watch_closed = false;   // set at teardown, under watch_mu: no new watcher can be missed

    // LOGON / LOGOFF message dump.  The FILE* is only touched under log_mu; `logging` lets the dispatch
    // path skip the lock while no dump is on.
    std::mutex log_mu;
    FILE* message_log = nullptr;
    std::atomic<bool> logging{false};

private:
    node& node_;
    uint32_t handle_;
    mailbox mq_;
    std::unique_ptr<service_module> module_;
    int32_t session_id_ = 0;
    std::atomic<int> state_{0};   // 0 while alive, else 1 + end_reason: set once, with the reason
    std::atomic<bool> torn_down_{false};
};

using service_ptr = std::shared_ptr<service>;

// The service whose message the calling thread is handling (0 outside a dispatch); the logger's source.
uint32_t current_handle();
void set_current_handle(uint32_t h);

}  // namespace skynet
