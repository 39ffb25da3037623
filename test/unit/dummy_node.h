// A node that is never run, for unit tests that need services (a service belongs to a node) but no workers.
#pragma once
#include <string_view>

#include "core/node.h"

namespace skynet::unit {

inline node& dummy_node() {
    static node n({{"thread", "1"}, {"harbor", "0"}}, [](std::string_view) { return nullptr; });
    return n;
}

}  // namespace skynet::unit
