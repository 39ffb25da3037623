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
        if (!path_.empty()) write_timestamp();
        std::fprintf(file_, "[:%08x] ", m.source);
        if (m.size) std::fwrite(m.data, 1, m.size, file_);
        std::fputc('\n', file_);
        // Flushed per line: a crash or kill -9 must not eat the last lines (skynet #288).
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

    void write_timestamp() {
        timeval tv;
        gettimeofday(&tv, nullptr);
        tm t;
        localtime_r(&tv.tv_sec, &t);
        char buf[32];
        size_t n = std::strftime(buf, sizeof buf, "%d/%m/%y %H:%M:%S", &t);
        std::fprintf(file_, "%.*s.%02d ", int(n), buf, int(tv.tv_usec / 10000));
    }

    FILE* file_ = nullptr;
    std::string path_;
};

}  // namespace

std::unique_ptr<service_module> make_logger() { return std::make_unique<logger>(); }

}  // namespace skynet
