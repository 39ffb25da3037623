#include "log/logger.h"

#include <sys/time.h>

#include <cstdio>
#include <ctime>
#include <string>

#include "core/node.h"

namespace skynet {

namespace {

class logger final : public service_module {
public:
    ~logger() override {
        if (file_ && file_ != stdout) std::fclose(file_);
        else if (file_) std::fflush(file_);
    }

    bool init(service&, std::string_view args) override {
        if (args.empty()) {
            file_ = stdout;
            return true;
        }
        path_ = std::string(args);
        file_ = std::fopen(path_.c_str(), "a");
        if (!file_) {
            std::fprintf(stderr, "logger: can't open log file %s\n", path_.c_str());
            return false;
        }
        return true;
    }

    void dispatch(service& self, message& m) override {
        if (m.type == PTYPE_SYSTEM) {
            reopen(self);
            return;
        }
        if (m.type != PTYPE_TEXT) return;
        // The whole line goes out in one write: Lua's print shares stdout, and must not land inside it.
        line_.clear();
        if (!path_.empty()) append_timestamp();
        char head[16];
        int n = std::snprintf(head, sizeof head, "[:%08x] ", m.source);
        line_.append(head, size_t(n));
        if (m.size) line_.append(static_cast<const char*>(m.data), m.size);
        line_.push_back('\n');
        std::fwrite(line_.data(), 1, line_.size(), file_);
        std::fflush(file_);
    }

private:
    void reopen(service& self) {
        if (path_.empty()) return;
        FILE* f = std::freopen(path_.c_str(), "a", file_);
        if (f) {
            file_ = f;
        } else {
            file_ = stdout;
            self.owner().logf(self.handle(), "logger: can't reopen %s", path_.c_str());
        }
    }

    void append_timestamp() {
        timeval tv;
        gettimeofday(&tv, nullptr);
        tm t;
        localtime_r(&tv.tv_sec, &t);
        char buf[48];
        size_t n = std::strftime(buf, sizeof buf, "%d/%m/%y %H:%M:%S", &t);
        n += size_t(std::snprintf(buf + n, sizeof buf - n, ".%02d ", int(tv.tv_usec / 10000)));
        line_.append(buf, n);
    }

    FILE* file_ = nullptr;
    std::string path_;
    std::string line_;
};

}  // namespace

std::unique_ptr<service_module> make_logger() { return std::make_unique<logger>(); }

}  // namespace skynet
