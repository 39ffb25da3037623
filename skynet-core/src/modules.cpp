#include "modules.h"

#include "log/logger.h"
#include "lua/snlua.h"

namespace skynet {

namespace {
// skynet's harbor service routes messages between nodes.  We run one node, so it is a placeholder that
// ignores what it gets; cdummy launches it so that handles are numbered as on skynet.
class harbor_placeholder final : public service_module {
public:
    bool init(service&, std::string_view) override { return true; }
    void dispatch(service&, message&) override {}
};
}  // namespace

std::unique_ptr<service_module> make_module(std::string_view kind) {
    if (kind == "snlua") return make_snlua();
    if (kind == "logger") return make_logger();
    if (kind == "harbor") return std::make_unique<harbor_placeholder>();
    return nullptr;
}

}  // namespace skynet
