// The kinds of service this binary can launch ("snlua", "logger").
#pragma once
#include <memory>
#include <string_view>

#include "core/service.h"

namespace skynet {

std::unique_ptr<service_module> make_module(std::string_view kind);

}  // namespace skynet
