// Objects the core benchmarks need but do not measure.
#pragma once

#include "core/node.h"

namespace micro {

// A node that is constructed but never run: services must belong to one, and constructing it starts no
// thread (the workers, timer and monitor only start in node::run), so it adds no noise to the figures.
skynet::node& idle_node();

}  // namespace micro
