#include "modules.h"

#include "log/logger.h"
#include "lua/snlua.h"

namespace skynet {

std::unique_ptr<service_module> make_module(std::string_view kind) {
    if (kind == "snlua") return make_snlua();
    if (kind == "logger") return make_logger();
    return nullptr;
}

}  // namespace skynet
