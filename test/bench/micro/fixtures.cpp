#include "fixtures.h"

namespace micro {

skynet::node& idle_node() {
    static skynet::node n({{"thread", "1"}, {"harbor", "0"}}, [](std::string_view) { return nullptr; });
    return n;
}

}  // namespace micro
