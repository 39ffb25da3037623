#include "core/node.h"

#include "core/cpu_clock.h"

#include "config/config_check.h"
#include "net/socket_event.h"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <set>
#include <thread>

namespace skynet {

namespace {

std::atomic<bool> g_term_requested{false};
std::atomic<bool> g_hup_requested{false};

int config_int(env& e, const std::string& key, int fallback) {
    std::string v = e.get_or_set(key, std::to_string(fallback));
    char* end = nullptr;
    long n = std::strtol(v.c_str(), &end, 10);
    return end && *end == '\0' && !v.empty() ? int(n) : fallback;
}

}  // namespace

std::string handle_string(uint32_t h) {
    char buf[16];
    std::snprintf(buf, sizeof buf, ":%08x", h);
    return buf;
}

void node::on_signal(int sig) {
    if (sig == SIGHUP)
        g_hup_requested.store(true);
    else
        g_term_requested.store(true);
}

static int worker_count(env& e) {
    // thread = 0 or "auto": one worker per core (spec §8).  main() has refused every other value outside
    // 1..max_worker_threads (check_config); the clamp only guards nodes built without that check (tests).
    std::string v = e.get_or_set("thread", "8");
    std::optional<long long> n = parse_config_integer(v);
    if (v == "auto" || n == 0) {
        unsigned cores = std::thread::hardware_concurrency();
        return cores ? int(cores) : 1;
    }
    return int(std::clamp(n.value_or(1), 1LL, max_worker_threads));
}

node::node(const std::map<std::string, std::string>& config, module_factory factory)
    : factory_(std::move(factory)),
      registry_([&] {
          auto it = config.find("harbor");
          return it == config.end() ? 1u : uint32_t(std::atoi(it->second.c_str()));
      }()),
      scheduler_([&] {
          env tmp;
          auto it = config.find("thread");
          if (it != config.end()) tmp.set("thread", it->second);
          return worker_count(tmp);
      }()),
      timer_([this](const timer_event* events, size_t count) { deliver_timeouts(events, count); },
             [this](const timer_event* events, size_t count) { make_room_for_timeouts(events, count); }),
      monitor_(scheduler_.workers(), [this](uint32_t source, uint32_t dest, uint32_t version) {
          if (auto s = registry_.grab(dest)) s->endless.store(true);
          // skynet's monitor thread logs this with no service of its own, so the line comes from :00000000.
          logf(0, "error: A message from [ :%08x ] to [ :%08x ] maybe in an endless loop (version = %u)", source,
               dest, version);
      }) {
    for (const auto& [k, v] : config) env_.set(k, v);
    // Defaults are written back so that skynet.getenv always sees them (skynet's opt* rule).
    worker_count(env_);
    config_int(env_, "harbor", 1);
    env_.get_or_set("bootstrap", "snlua bootstrap");
    env_.get_or_set("logservice", "logger");
    env_.get_or_set("cpath", "./cservice/?.so");
    profile_ = env_.get_or_set("profile", "true") != "false";
}

node::~node() {
    for (auto& m : registry_.take_all_parked()) m.free_payload();
}

void node::add_component(std::unique_ptr<node_component> c) { components_.push_back(std::move(c)); }

// Frees a message's payload, including what a socket event carries inside it (a read buffer that no Lua
// code took over).
static void release_payload(message& m) {
    if (m.type == PTYPE_SOCKET && m.data) release_socket_event(m);
    m.free_payload();
}

// ---- messaging ------------------------------------------------------------------------------------------

// Pushes with `push` into dest's mailbox and schedules dest if it was idle.  The scheduler is called after the
// registry's lock is released.
template <class Push>
static bool push_to(registry& handles, scheduler& workers, uint32_t dest, bool hand_off, Push&& push) {
    service_ptr idle;
    bool ok = handles.visit(dest, [&](const service_ptr& s) {
        switch (push(s->mq())) {
            case mailbox::push_result::dead: return false;
            case mailbox::push_result::schedule: idle = s; break;
            case mailbox::push_result::queued: break;
        }
        return true;
    });
    if (!idle) return ok;
    if (hand_off)
        workers.hand_off(std::move(idle));
    else
        workers.push(std::move(idle));
    return ok;
}

bool node::deliver(uint32_t dest, const message& m) {
    // A request that expects an answer, or the answer: the sender is about to wait, or to end the message
    // it answered, so the receiver may run next on this worker (scheduler.h, the next slot).
    return push_to(registry_, scheduler_, dest, m.session != 0, [&](mailbox& mq) { return mq.push(m); });
}

bool node::deliver_many(uint32_t dest, const message* msgs, size_t count) {
    return push_to(registry_, scheduler_, dest, false, [&](mailbox& mq) { return mq.push_many(msgs, count); });
}

void node::deliver_timeouts(const timer_event* events, size_t count) {
    // Timers due together are often one service's (a burst of skynet.timeout): each run of events for the
    // same service is queued under one look-up and one mailbox lock instead of one each.  A run is cut at
    // `chunk` so the service's worker is not kept off its mailbox for long.
    constexpr size_t chunk = 256;
    message batch[chunk];
    for (size_t i = 0; i < count;) {
        uint32_t dest = events[i].handle;
        size_t n = 0;
        for (; i < count && n < chunk && events[i].handle == dest; ++i, ++n)
            batch[n] = message{0, events[i].session, PTYPE_RESPONSE, nullptr, 0};
        deliver_many(dest, batch, n);   // a service gone by now has no use for its timeouts
    }
}

void node::make_room_for_timeouts(const timer_event* events, size_t count) {
    // Only a head start: should memory run short here, the pushes at the tick grow the rings as they would
    // have, or fail as they would have.
    try {
        // Runs of one service's events, then a service's runs added up (its events may come in several runs,
        // between other services').
        std::vector<std::pair<uint32_t, size_t>> runs;
        for (size_t i = 0; i < count; ++i) {
            if (runs.empty() || runs.back().first != events[i].handle)
                runs.emplace_back(events[i].handle, 1);
            else
                ++runs.back().second;
        }
        std::sort(runs.begin(), runs.end());
        for (size_t i = 0; i < runs.size();) {
            uint32_t dest = runs[i].first;
            size_t n = 0;
            for (; i < runs.size() && runs[i].first == dest; ++i) n += runs[i].second;
            registry_.visit(dest, [&](const service_ptr& s) {
                s->mq().make_room(n);
                return true;
            });
        }
    } catch (const std::bad_alloc&) {
    }
}

void node::send_error(uint32_t from, uint32_t to, int32_t session) {
    message m;
    m.source = from;
    m.session = session;
    m.type = PTYPE_ERROR;
    deliver(to, m);
}

// Shared front half of send/send_name: session allocation and payload ownership.  Returns false (payload
// released) when the message cannot be built.
static bool prepare(service* from, int& type, int& session, void*& data, size_t size, int& result) {
    if (type & PTYPE_TAG_ALLOCSESSION) {
        session = from ? from->new_session() : 0;
    }
    bool dontcopy = type & PTYPE_TAG_DONTCOPY;
    type &= 0xff;
    if (size > max_message_size) {
        if (dontcopy) std::free(data);
        result = -2;
        return false;
    }
    if (!dontcopy && data && size) {
        void* copy = std::malloc(size);
        std::memcpy(copy, data, size);
        data = copy;
    } else if (!dontcopy) {
        data = nullptr;
    }
    result = session;
    return true;
}

int node::send(service* from, uint32_t source, uint32_t dest, int type, int session, void* data, size_t size) {
    int result = 0;
    if (!prepare(from, type, session, data, size, result)) return result;
    if (dest == 0) {   // genid: just the session
        std::free(data);
        return session;
    }
    message m{source, session, type, data, size};
    if (!deliver(dest, m)) {
        std::free(data);
        return -1;
    }
    return session;
}

int node::send_name(service* from, uint32_t source, std::string_view dest, int type, int session, void* data,
                    size_t size) {
    if (!dest.empty() && (dest[0] == ':' || dest[0] == '.')) {
        uint32_t h = resolve(dest);
        if (h == 0) {
            if (type & PTYPE_TAG_DONTCOPY) std::free(data);
            return -1;
        }
        return send(from, source, h, type, session, data, size);
    }
    // A global name: delivered now if bound, else parked until it is (spec §3.4 case 8).
    int result = 0;
    if (!prepare(from, type, session, data, size, result)) return result;
    message m{source, session, type, data, size};
    std::string name(dest);
    for (;;) {
        uint32_t h = registry_.find_global(name);
        if (h) {
            if (!deliver(h, m)) {
                std::free(data);
                return -1;
            }
            return session;
        }
        if (registry_.park_for_global(name, m)) return session;
    }
}

// ---- services -------------------------------------------------------------------------------------------

uint32_t node::launch(std::string_view kind, std::string_view args) {
    // After ABORT nothing new may start, or the node would never finish stopping.
    if (stopping_.load(std::memory_order_acquire)) return 0;
    auto module = factory_(kind);
    if (!module) {
        logf(current_handle(), "launch %.*s %.*s failed: unknown service kind", int(kind.size()), kind.data(),
             int(args.size()), args.data());
        return 0;
    }
    auto s = std::make_shared<service>(*this, std::move(module));
    uint32_t h = registry_.insert(s);
    live_.fetch_add(1);
    uint32_t saved = current_handle();
    set_current_handle(h);
    bool ok = s->module()->init(*s, args);
    set_current_handle(saved);
    if (!ok) {
        logf(saved, "FAILED launch %.*s %.*s", int(kind.size()), kind.data(), int(args.size()), args.data());
        registry_.remove(h);
        s->retire(end_reason::error);
        teardown(s);
        return 0;
    }
    // skynet announces every launch from the new service. Logged before the service can run, so the line
    // comes before anything the service logs. The log service's own launch is not announced: there is
    // nobody to write it yet.
    if (logger_handle_)
        logf(h, "LAUNCH %.*s %.*s", int(kind.size()), kind.data(), int(args.size()), args.data());
    // The mailbox was created scheduled; hand it to the workers now that init is done.
    scheduler_.push(std::move(s));
    return h;
}

void node::retire(uint32_t handle, end_reason reason, uint32_t by) {
    service_ptr s = registry_.remove(handle);
    if (!s || !s->retire(reason)) return;
    if (uint32_t mon = exit_monitor_.load(); mon && mon != handle) {
        // skynet's exit monitor: an empty PTYPE_CLIENT whose source is the dying service.
        message m{handle, 0, PTYPE_CLIENT, nullptr, 0};
        deliver(mon, m);
    }
    if (by == quiet_retire) {
    } else if (by == handle || by == 0) {
        log(handle, "KILL self");
    } else {
        logf(by, "KILL :%x", handle);
    }
    // A worker must run the teardown; if the service is idle, schedule it.
    if (s->mq().try_schedule()) scheduler_.push(std::move(s));
}

uint32_t node::resolve(std::string_view name) const {
    if (name.empty()) return 0;
    if (name[0] == ':') {
        std::string hex(name.substr(1));
        char* end = nullptr;
        unsigned long v = std::strtoul(hex.c_str(), &end, 16);
        return (end && *end == '\0' && !hex.empty()) ? uint32_t(v) : 0;
    }
    if (name[0] == '.') return registry_.find_local(name.substr(1));
    return 0;
}

// ---- the worker's turn ------------------------------------------------------------------------------

void node::turn(service_ptr s, int worker) {
    if (s->retired()) {
        teardown(s);
        return;
    }
    mailbox& mq = s->mq();
    // skynet's batch per turn (by the worker's weight); past it the service keeps running while nobody else
    // waits for a worker, which saves a round trip through the ready queue per message (fan-in services).
    int w = scheduler_.weight(worker);
    size_t batch = 1;
    if (w >= 0) {
        batch = mq.length() >> w;
        if (batch == 0) batch = 1;
    }
    constexpr size_t max_turn = 1024;
    // Messages are taken up to `chunk` per mailbox lock: what the budget allows, and past it, while the ready
    // queue stays empty, 1, 2, 4... at a time.  The budget is checked again before each message and what was
    // not started goes back, so growing slowly keeps that rare when others start waiting (request/reply).
    constexpr size_t chunk = 16;
    // Left uninitialised: every turn would otherwise clear 512 bytes it mostly never uses.
    union in_hand {
        in_hand() {}
        message at[chunk];
    } buffer;
    message* held = buffer.at;
    size_t done = 0;
    size_t extra = 1;
    size_t left = 0;   // queued behind the last messages taken
    set_current_handle(s->handle());
    // One clock read per message: the end of one is the start of the next, so the accounting stays within
    // this turn and no time outside it (spinning, other services) is charged to the service.
    uint64_t stamp = profile_ ? cpu_clock::ticks() : 0;
    size_t bound = max_turn;
    for (;;) {
        if (done >= bound) {
            // The bound is for whoever waits behind this turn.  With nobody waiting the turn goes on: ending
            // it would only push the service to the ready queue, waking a sleeping worker to compete for it.
            // The overload report that ending the turn made is made here.
            if (!scheduler_.idle()) break;
            report_overload(*s);
            bound = done + max_turn;
        }
        size_t want;
        if (done < batch) {
            want = batch - done;
        } else {
            if (!scheduler_.idle()) break;
            want = extra;
            extra = std::min(extra * 2, chunk);   // capped: a doubling per pop would wrap to 0 in a long turn
        }
        size_t n = mq.pop_batch(held, std::min({want, chunk, bound - done}), &left);
        if (n == 0) {
            // The mailbox is unscheduled now; a retire that raced with the pop is seen here or reschedules.
            end_turn(*s, worker);
            if (s->reclaim_if_retired()) teardown(s);
            return;
        }
        for (size_t i = 0; i < n; ++i) {
            if (done >= batch && i > 0 && !scheduler_.idle()) {
                mq.unpop(held + i, n - i);
                left += n - i;
                goto requeue;
            }
            mq.start_one();
            stamp = dispatch_one(*s, held[i], worker, stamp);
            ++done;
            if (s->retired()) {
                // What was taken but not started is still queued as far as the teardown is concerned.
                mq.unpop(held + i + 1, n - i - 1);
                monitor_.end(worker);
                set_current_handle(0);
                teardown(s);
                return;
            }
        }
    }
requeue:
    end_turn(*s, worker);
    // A service whose queue is empty now is given up here rather than queued to find that out on its next turn
    // (fan-out: a scheduler push and pop saved per receiver).  When the last pop left messages behind, only this
    // worker could have taken them, so the look is skipped.
    if (left == 0 && mq.unschedule_if_empty()) {
        if (s->reclaim_if_retired()) teardown(s);
        return;
    }
    scheduler_.push(std::move(s));
}

void node::end_turn(service& s, int worker) {
    monitor_.end(worker);
    set_current_handle(0);
    // A burst drained within this turn was still an overload: report it before leaving.
    report_overload(s);
}

void node::report_overload(service& s) {
    if (size_t overload = s.mq().take_overload())
        logf(s.handle(), "error: May overload, message queue length = %zu", overload);
}

uint64_t node::dispatch_one(service& s, message& m, int worker, uint64_t start) {
    monitor_.begin(worker, m.source, s.handle());
    if (s.logging.load(std::memory_order_relaxed)) log_message(s, m);
    s.dispatch_start_ticks = start;
    s.module()->dispatch(s, m);
    uint64_t end = 0;
    if (profile_) {
        end = cpu_clock::ticks();
        s.cpu_ticks += end - start;
    }
    s.dispatch_start_ticks = 0;
    ++s.message_count;
    release_payload(m);
    return end;
}

void node::log_message(service& s, const message& m) {
    std::lock_guard lock(s.log_mu);
    if (!s.message_log) return;
    std::fprintf(s.message_log, ":%08x %d %d %llu ", m.source, m.type, m.session,
                 static_cast<unsigned long long>(timer_.now_cs()));
    const auto* p = static_cast<const unsigned char*>(m.data);
    for (size_t i = 0; i < m.size && p; ++i) std::fprintf(s.message_log, "%02x", p[i]);
    std::fputc('\n', s.message_log);
    std::fflush(s.message_log);
}

void node::drop_queued(service& s, std::vector<message>& rest) {
    // Every request still queued gets an ERROR, so no caller waits for a dead service.  Replies and errors
    // addressed to the dead service are not answered: their sessions belong to it, and answering them could
    // fail an unrelated call of the sender.  A sender of plain sends is told once that we are down.
    std::set<uint32_t> told_down;
    for (auto& m : rest) {
        if (m.source != 0 && m.type != PTYPE_RESPONSE && m.type != PTYPE_ERROR && m.source != s.handle()) {
            if (m.session != 0)
                send_error(s.handle(), m.source, m.session);
            else if (told_down.insert(m.source).second)
                send_error(s.handle(), m.source, 0);
        }
        release_payload(m);
    }
}

void node::notify_watchers(service& s) {
    std::vector<service::watch_entry> watchers, watching;
    {
        std::lock_guard lock(s.watch_mu);
        s.watch_closed = true;
        watchers.swap(s.watchers);
        watching.swap(s.watching);
    }
    const char* reason = end_reason_name(s.reason());
    for (const auto& w : watchers) {
        char buf[64];
        int n = std::snprintf(buf, sizeof buf, "WATCH %u %s", w.id, reason);
        void* data = std::malloc(size_t(n));
        std::memcpy(data, buf, size_t(n));
        message m{s.handle(), 0, PTYPE_SYSTEM, data, size_t(n)};
        if (!deliver(w.watcher, m)) std::free(data);
    }
    // What this service watched forgets it, so a dead watcher leaves nothing behind.
    for (const auto& w : watching) {
        if (auto target = registry_.grab(w.watcher)) {
            std::lock_guard lock(target->watch_mu);
            std::erase_if(target->watchers,
                          [&](const service::watch_entry& e) { return e.watcher == s.handle() && e.id == w.id; });
        }
    }
}

void node::teardown(const service_ptr& s) {
    if (!s->begin_teardown()) return;
    uint32_t saved = current_handle();
    set_current_handle(s->handle());
    if (s->reason() == end_reason::killed && s->module()) s->module()->on_kill(*s);
    s->destroy_module();
    auto rest = s->mq().close();
    drop_queued(*s, rest);
    notify_watchers(*s);
    for (auto& c : components_) c->service_ended(s->handle());
    {
        std::lock_guard lock(s->log_mu);
        if (s->message_log) {
            std::fclose(s->message_log);
            s->message_log = nullptr;
            s->logging.store(false);
        }
    }
    set_current_handle(saved);
    if (s->handle() == bootstrap_handle_ && s->reason() == end_reason::error) {
        log(0, "Bootstrap error");
        abort(1);
    }
    if (live_.fetch_sub(1) - 1 <= 1) {
        std::lock_guard lock(state_mu_);
        state_cv_.notify_all();
    }
}

// ---- logging --------------------------------------------------------------------------------------------

void node::log(uint32_t source, std::string_view text) {
    if (logger_handle_) {
        void* data = std::malloc(text.size() ? text.size() : 1);
        std::memcpy(data, text.data(), text.size());
        message m{source, 0, PTYPE_TEXT, data, text.size()};
        if (deliver(logger_handle_, m)) return;
        std::free(data);
    }
    std::fprintf(stderr, "[:%08x] %.*s\n", source, int(text.size()), text.data());
}

void node::logf(uint32_t source, const char* fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = std::vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if (size_t(n) < sizeof buf) {
        log(source, std::string_view(buf, size_t(n)));
        return;
    }
    std::string big(size_t(n) + 1, '\0');
    va_start(ap, fmt);
    std::vsnprintf(big.data(), big.size(), fmt, ap);
    va_end(ap);
    big.pop_back();
    log(source, big);
}

// ---- life cycle -------------------------------------------------------------------------------------------

void node::abort(int code) {
    {
        std::lock_guard lock(state_mu_);
        if (!aborting_) exit_code_ = code;
        else if (code != 0) exit_code_ = code;
        aborting_ = true;
        stopping_.store(true, std::memory_order_release);
        state_cv_.notify_all();
    }
    for (auto& s : registry_.all())
        if (s->handle() != logger_handle_) retire(s->handle(), end_reason::killed, quiet_retire);
}

int node::run() {
    scheduler_.start([this](service_ptr s, int worker) { turn(std::move(s), worker); });
    timer_.start();
    monitor_.start();

    std::string logservice = env_.get_or_set("logservice", "logger");
    std::string logger_arg = env_.get("logger").value_or("");
    logger_handle_ = launch(logservice, logger_arg);
    if (!logger_handle_) {
        std::fprintf(stderr, "Can't launch %s service\n", logservice.c_str());
        shutdown();
        return 1;
    }
    registry_.bind_local("logger", logger_handle_);

    std::string boot = env_.get_or_set("bootstrap", "snlua bootstrap");
    size_t sp = boot.find_first_of(" \t");
    std::string kind = boot.substr(0, sp);
    std::string args = sp == std::string::npos ? "" : boot.substr(boot.find_first_not_of(" \t", sp));
    bootstrap_handle_ = launch(kind, args);
    if (!bootstrap_handle_) {
        log(0, "Bootstrap error : " + boot);
        abort(1);
    }

    std::unique_lock lock(state_mu_);
    std::chrono::steady_clock::time_point abort_deadline{};
    bool forced = false;
    for (;;) {
        if (aborting_ && live_.load() <= 1) break;
        if (aborting_) {
            // A service stuck in a loop would keep the node up forever: give the others 5 s, then go.
            auto now = std::chrono::steady_clock::now();
            if (abort_deadline == std::chrono::steady_clock::time_point{}) abort_deadline = now + std::chrono::seconds(5);
            if (now > abort_deadline) {
                forced = true;
                break;
            }
        }
        state_cv_.wait_for(lock, std::chrono::milliseconds(50));
        if (g_term_requested.exchange(false) && !aborting_) {
            lock.unlock();
            log(0, "signal received, stopping");
            abort(0);
            lock.lock();
        }
        if (g_hup_requested.exchange(false)) {
            lock.unlock();
            message m{0, 0, PTYPE_SYSTEM, nullptr, 0};
            deliver(logger_handle_, m);
            lock.lock();
        }
    }
    int code = exit_code_;
    lock.unlock();
    if (forced) {
        logf(0, "%d service(s) did not stop in 5 s; exiting anyway", live_.load() - 1);
        // A worker may be stuck inside a service, so the threads cannot be joined: write the log and leave.
        for (int i = 0; i < 500; ++i) {
            service_ptr lg = registry_.grab(logger_handle_);
            if (!lg || lg->mq().length() == 0) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
        std::fflush(stdout);
        std::fflush(stderr);
        std::_Exit(code);
    }
    shutdown();
    return code;
}

void node::shutdown() {
    for (auto& c : components_) c->stop();
    timer_.stop();
    monitor_.stop();
    // Let the logger write every line queued before the stop, then end it with the workers.
    if (service_ptr lg = registry_.grab(logger_handle_)) {
        for (int i = 0; i < 500 && lg->mq().length() > 0; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        // The logger is not retired before the workers stop: a worker would tear it down and drop what is
        // still queued.  Once they are gone, this thread writes whatever raced in after the wait.
        scheduler_.stop();
        registry_.remove(logger_handle_);
        message m;
        while (lg->mq().pop(m)) {
            if (lg->module()) lg->module()->dispatch(*lg, m);
            m.free_payload();
        }
        lg->retire(end_reason::exit);
        lg->begin_teardown();
        lg->destroy_module();
    } else {
        scheduler_.stop();
    }
    std::fflush(stdout);
}

}  // namespace skynet
