// The node: owns the env, registry, scheduler, timer and monitor; boots, runs and stops them in order.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdarg>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "core/env.h"
#include "core/monitor.h"
#include "core/registry.h"
#include "core/scheduler.h"
#include "core/timer.h"

namespace skynet {

// A text command refused its parameter; what() is the message for the caller.
class command_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Makes the module of a service kind ("snlua", "logger"); null when the kind is unknown.
using module_factory = std::function<std::unique_ptr<service_module>(std::string_view kind)>;

// Something that runs beside the workers (the socket server) and must stop before them.
class node_component {
public:
    virtual ~node_component() = default;
    virtual void stop() = 0;
    // A service ended: release whatever it owned (its sockets).
    virtual void service_ended(uint32_t) {}
};

class node {
public:
    node(const std::map<std::string, std::string>& config, module_factory factory);
    ~node();
    node(const node&) = delete;
    node& operator=(const node&) = delete;

    // Boots the logger and bootstrap, runs until ABORT or a signal, stops in order; returns the exit code.
    int run();

    // ---- messaging --------------------------------------------------------------------------------
    // skynet_send: `type` may carry PTYPE_TAG_DONTCOPY / PTYPE_TAG_ALLOCSESSION.  Returns the session, -1 when
    // dest is unknown or dead, -2 when the payload is too large.  The payload is always consumed (copied or,
    // with DONTCOPY, owned and freed on failure).
    int send(service* from, uint32_t source, uint32_t dest, int type, int session, void* data, size_t size);
    // The same with a string address: ":hex", ".local" or a global name (queued until registered).
    int send_name(service* from, uint32_t source, std::string_view dest, int type, int session, void* data,
                  size_t size);
    // Pushes a ready message; false when dest is gone (the caller still owns the payload).
    bool deliver(uint32_t dest, const message& m);
    // Pushes count ready messages under one mailbox lock; false when dest is gone (the caller keeps them).
    bool deliver_many(uint32_t dest, const message* msgs, size_t count);
    // A PTYPE_ERROR with no payload: "your request `session` failed" (session 0: "I am down").
    void send_error(uint32_t from, uint32_t to, int32_t session);

    // ---- services ---------------------------------------------------------------------------------
    // Creates and starts a service; 0 when the kind is unknown or its init fails.
    uint32_t launch(std::string_view kind, std::string_view args);
    // Ends a service (EXIT/KILL/ABORT).  `by` is who asked (0 or the handle itself: "KILL self") and only
    // decides the log line; quiet_retire logs nothing (ABORT).
    static constexpr uint32_t quiet_retire = 0xffffffff;
    void retire(uint32_t handle, end_reason reason, uint32_t by);
    // The text commands of spec §2 (and our extensions); nullopt means "no result" (NULL in skynet).
    // A command that checks its parameter (NEXTSESSION) throws command_error, naming the problem, for a
    // bad one; skynet.core raises it as a Lua error.
    std::optional<std::string> command(service& ctx, std::string_view cmd, std::string_view param);
    // TIMEOUT: a new session of ctx, answered by a PTYPE_RESPONSE after ti centiseconds (at once when ti <= 0).
    int32_t timeout(service& ctx, int64_t ti);
    // Parses ":hex" or ".name" into a handle (0 when neither resolves).
    uint32_t resolve(std::string_view name) const;

    // ---- logging ----------------------------------------------------------------------------------
    void log(uint32_t source, std::string_view text);
    void logf(uint32_t source, const char* fmt, ...) __attribute__((format(printf, 3, 4)));

    // ---- parts --------------------------------------------------------------------------------------
    env& environment() { return env_; }
    registry& handles() { return registry_; }
    timer_service& timers() { return timer_; }
    scheduler& workers() { return scheduler_; }
    bool profile() const { return profile_; }
    void add_component(std::unique_ptr<node_component> c);
    template <class T>
    T* component() const {
        for (auto& c : components_)
            if (auto p = dynamic_cast<T*>(c.get())) return p;
        return nullptr;
    }

    // ABORT: ends every service; the process exits with `code` once they are gone.
    void abort(int code = 0);
    // Called from signal handlers (async-signal-safe: only stores to atomics).
    static void on_signal(int sig);

private:
    void turn(service_ptr s, int worker);
    // Logs skynet's "May overload" line if the service's queue passed its threshold since the last report.
    void report_overload(service& s);
    // Runs one message; `start` is the cpu_clock reading it starts at, the result the reading it ended at.
    uint64_t dispatch_one(service& s, message& m, int worker, uint64_t start);
    void end_turn(service& s, int worker);
    // The timer thread's expired timers: a PTYPE_RESPONSE with the timer's session to each service.
    void deliver_timeouts(const timer_event* events, size_t count);
    // Ahead of a tick on which many timers fall due: each service's mailbox grows now, if it must, to take them.
    void make_room_for_timeouts(const timer_event* events, size_t count);
    void teardown(const service_ptr& s);
    void drop_queued(service& s, std::vector<message>& rest);
    void notify_watchers(service& s);
    void shutdown();
    void log_message(service& s, const message& m);

    env env_;
    module_factory factory_;
    registry registry_;
    scheduler scheduler_;
    timer_service timer_;
    monitor monitor_;
    std::vector<std::unique_ptr<node_component>> components_;
    bool profile_ = true;

    std::atomic<uint32_t> logger_handle_{0};   // set once at boot, read by every thread that logs
    std::atomic<uint32_t> bootstrap_handle_{0};
    std::atomic<uint32_t> exit_monitor_{0};
    std::atomic<int> live_{0};

    std::mutex state_mu_;
    std::condition_variable state_cv_;
    bool aborting_ = false;
    std::atomic<bool> stopping_{false};   // aborting_, readable without the lock
    int exit_code_ = 0;
};

// Formats a handle the two ways skynet does: ":%08x" (addresses, lowercase) and ":%08X" (LAUNCH's result).
std::string handle_string(uint32_t h);

}  // namespace skynet
