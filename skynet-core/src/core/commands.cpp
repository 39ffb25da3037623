// skynet's text commands (spec §2) and our extensions (docs/core-boundary.md).
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "core/cpu_clock.h"
#include "core/node.h"

namespace skynet {

namespace {

std::string hex_lower(uint32_t h) {
    char buf[16];
    std::snprintf(buf, sizeof buf, ":%x", h);
    return buf;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
        s.remove_suffix(1);
    return s;
}

// Splits "first rest..." at the first run of blanks.
std::pair<std::string_view, std::string_view> split_first(std::string_view s) {
    s = trim(s);
    size_t sp = s.find_first_of(" \t");
    if (sp == std::string_view::npos) return {s, {}};
    return {s.substr(0, sp), trim(s.substr(sp))};
}

bool parse_int(std::string_view s, long long& out) {
    std::string tmp(trim(s));
    if (tmp.empty()) return false;
    char* end = nullptr;
    out = std::strtoll(tmp.c_str(), &end, 10);
    return end && *end == '\0';
}

}  // namespace

int32_t node::timeout(service& ctx, int64_t ti) {
    int32_t session = ctx.new_session();
    if (ti <= 0) {
        message m{0, session, PTYPE_RESPONSE, nullptr, 0};
        deliver(ctx.handle(), m);
    } else {
        timer_.add(ti * 10, timer_event{ctx.handle(), session});
    }
    return session;
}

std::optional<std::string> node::command(service& ctx, std::string_view cmd, std::string_view param) {
    const uint32_t self = ctx.handle();

    if (cmd == "TIMEOUT") {
        long long ti = 0;
        if (!parse_int(param, ti)) return std::nullopt;
        return std::to_string(timeout(ctx, ti));
    }
    if (cmd == "REG") {
        if (param.empty()) return hex_lower(self);
        if (param[0] == '.') {
            std::string name(param.substr(1));
            if (registry_.bind_local(name, self)) return std::string(param);
            return std::nullopt;   // a duplicate fails silently, as skynet
        }
        logf(self, "Can't register global name %.*s in C", int(param.size()), param.data());
        return std::nullopt;
    }
    if (cmd == "QUERY") {
        if (!param.empty() && param[0] == '.') {
            if (uint32_t h = registry_.find_local(param.substr(1))) return hex_lower(h);
        }
        return std::nullopt;
    }
    if (cmd == "NAME") {
        auto [name, addr] = split_first(param);
        if (name.empty() || addr.empty() || addr[0] != ':') return std::nullopt;
        uint32_t h = resolve(addr);
        if (h == 0) return std::nullopt;
        if (name[0] == '.') {
            if (registry_.bind_local(std::string(name.substr(1)), h)) return std::string(name);
            return std::nullopt;
        }
        logf(self, "Can't set global name %.*s in C", int(name.size()), name.data());
        return std::nullopt;
    }
    if (cmd == "EXIT") {
        retire(self, trim(param) == "error" ? end_reason::error : end_reason::exit, self);
        return std::nullopt;
    }
    if (cmd == "KILL") {
        uint32_t h = resolve(trim(param));
        if (h) retire(h, h == self ? end_reason::exit : end_reason::killed, self);
        return std::nullopt;
    }
    if (cmd == "LAUNCH") {
        std::string_view p = trim(param);
        size_t eol = p.find_first_of("\r\n");
        if (eol != std::string_view::npos) p = p.substr(0, eol);
        auto [kind, args] = split_first(p);
        if (kind.empty()) return std::nullopt;
        uint32_t h = launch(kind, args);
        if (!h) return std::nullopt;
        char buf[16];
        std::snprintf(buf, sizeof buf, ":%08X", h);
        return std::string(buf);
    }
    if (cmd == "GETENV") {
        return env_.get(std::string(trim(param)));
    }
    if (cmd == "SETENV") {
        auto [key, value] = split_first(param);
        if (!env_.set(std::string(key), std::string(value)))
            logf(self, "Can't setenv exist key %.*s", int(key.size()), key.data());
        return std::nullopt;
    }
    if (cmd == "STARTTIME") {
        return std::to_string(timer_.start_time());
    }
    if (cmd == "ABORT") {
        long long code = 0;
        parse_int(param, code);
        abort(int(code));
        return std::nullopt;
    }
    if (cmd == "MONITOR") {
        if (param.empty()) {
            uint32_t m = exit_monitor_.load();
            return m ? std::optional<std::string>(hex_lower(m)) : std::nullopt;
        }
        exit_monitor_.store(resolve(trim(param)));
        return std::nullopt;
    }
    if (cmd == "STAT") {
        std::string_view what = trim(param);
        char buf[64];
        if (what == "mqlen") return std::to_string(ctx.mq().length());
        if (what == "endless") return ctx.endless.exchange(false) ? "1" : "0";
        if (what == "cpu") {
            std::snprintf(buf, sizeof buf, "%lf", double(cpu_clock::to_ns(ctx.cpu_ticks)) / 1e9);
            return std::string(buf);
        }
        if (what == "time") {
            double t = 0;
            if (profile_ && ctx.dispatch_start_ticks)
                t = double(cpu_clock::to_ns(cpu_clock::ticks() - ctx.dispatch_start_ticks)) / 1e9;
            std::snprintf(buf, sizeof buf, "%lf", t);
            return std::string(buf);
        }
        if (what == "message") return std::to_string(ctx.message_count);
        return std::string();
    }
    if (cmd == "LOGON" || cmd == "LOGOFF") {
        service_ptr target = registry_.grab(resolve(trim(param)));
        if (!target) return std::nullopt;
        std::lock_guard lock(target->log_mu);
        if (cmd == "LOGOFF") {
            if (target->message_log) {
                std::fclose(target->message_log);
                target->message_log = nullptr;
                target->logging.store(false);
            }
            return std::nullopt;
        }
        // Read at each LOGON, so a logpath set with skynet.setenv after start works too.
        std::string logpath = env_.get("logpath").value_or("");
        if (target->message_log || logpath.empty()) return std::nullopt;
        char name[32];
        std::snprintf(name, sizeof name, "%08x.log", target->handle());
        std::string path = (std::filesystem::path(logpath) / name).string();
        target->message_log = std::fopen(path.c_str(), "ab");
        target->logging.store(target->message_log != nullptr);
        if (!target->message_log)
            logf(self, "Open log file %s fail", path.c_str());
        else
            logf(self, "Open log file %s", path.c_str());
        return std::nullopt;
    }
    if (cmd == "SIGNAL") {
        auto [addr, sig] = split_first(param);
        long long n = 0;
        if (!sig.empty() && !parse_int(sig, n)) return std::nullopt;
        if (service_ptr target = registry_.grab(resolve(addr))) {
            if (!target->retired() && target->module()) target->module()->signal(*target, int(n));
        }
        return std::nullopt;
    }
    // ---- extensions ----
    if (cmd == "GREG") {
        auto [name, addr] = split_first(param);
        uint32_t h = resolve(addr);
        if (name.empty() || name[0] == '.' || name[0] == ':' || h == 0) return std::nullopt;
        for (auto& m : registry_.bind_global(std::string(name), h)) {
            if (!deliver(h, m)) {
                if (m.session != 0 && m.source) send_error(h, m.source, m.session);
                m.free_payload();
            }
        }
        return std::string(name);
    }
    if (cmd == "NEXTSESSION") {
        // A testing aid (docs/core-boundary.md): with a parameter n, the calling service's next session
        // becomes n (its counter then goes on from there and wraps after INT32_MAX as ever); the result,
        // with or without a parameter, is the session the next allocation gets.
        std::string_view p = trim(param);
        if (!p.empty()) {
            long long n = 0;
            if (!parse_int(p, n) || n < 1 || n > INT32_MAX) {
                std::string shown(p.substr(0, 64));
                if (p.size() > 64) shown += "...";
                throw command_error("NEXTSESSION: the session must be an integer from 1 to 2147483647, got \"" +
                                    shown + "\"");
            }
            ctx.set_next_session(int32_t(n));
        }
        return std::to_string(ctx.next_session());
    }
    if (cmd == "GQUERY") {
        if (uint32_t h = registry_.find_global(trim(param))) return hex_lower(h);
        return std::nullopt;
    }
    if (cmd == "WATCH") {
        uint32_t h = resolve(trim(param));
        uint32_t id = ++ctx.next_watch_id;
        service_ptr target = h ? registry_.grab(h) : nullptr;
        bool added = false;
        if (target) {
            std::lock_guard lock(target->watch_mu);
            if (!target->watch_closed) {
                target->watchers.push_back({self, id});
                added = true;
            }
        }
        if (added) {
            std::lock_guard lock(ctx.watch_mu);
            ctx.watching.push_back({h, id});
        } else {
            char buf[48];
            int n = std::snprintf(buf, sizeof buf, "WATCH %u dead", id);
            void* data = std::malloc(size_t(n));
            std::memcpy(data, buf, size_t(n));
            message m{h, 0, PTYPE_SYSTEM, data, size_t(n)};
            if (!deliver(self, m)) std::free(data);
        }
        return std::to_string(id);
    }
    if (cmd == "UNWATCH") {
        auto [addr, idtext] = split_first(param);
        long long id = 0;
        uint32_t h = resolve(addr);
        if (!parse_int(idtext, id) || h == 0) return std::nullopt;
        if (service_ptr target = registry_.grab(h)) {
            std::lock_guard lock(target->watch_mu);
            std::erase_if(target->watchers, [&](const service::watch_entry& e) {
                return e.watcher == self && e.id == uint32_t(id);
            });
        }
        std::lock_guard lock(ctx.watch_mu);
        std::erase_if(ctx.watching, [&](const service::watch_entry& e) { return e.watcher == h && e.id == uint32_t(id); });
        return std::nullopt;
    }
    return std::nullopt;
}

}  // namespace skynet
