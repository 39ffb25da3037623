#include "core/service.h"

#include <climits>

namespace skynet {

namespace {
thread_local uint32_t tls_current_handle = 0;
}

uint32_t current_handle() { return tls_current_handle; }
void set_current_handle(uint32_t h) { tls_current_handle = h; }

const char* end_reason_name(end_reason r) {
    switch (r) {
        case end_reason::exit: return "exit";
        case end_reason::killed: return "killed";
        case end_reason::error: return "error";
    }
    return "exit";
}

service::service(node& n, std::unique_ptr<service_module> module) : node_(n), handle_(0), module_(std::move(module)) {}

service::~service() {
    if (message_log) std::fclose(message_log);
}

int32_t service::new_session() {
    // Wraps to 1 instead of overflowing into negative sessions (which mean "no session" to some callers).
    if (session_id_ == INT32_MAX) session_id_ = 0;
    return ++session_id_;
}

bool service::retire(end_reason reason) {
    int expected = 0;
    return state_.compare_exchange_strong(expected, 1 + int(reason), std::memory_order_acq_rel);
}

}  // namespace skynet
