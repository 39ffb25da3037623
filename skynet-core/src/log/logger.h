// The built-in logger service (handle :00000001, named "logger"): each PTYPE_TEXT message becomes one line
// "[:source] text" on stdout, or in the file named by the `logger` config key with a timestamp in front.
// A PTYPE_SYSTEM message (sent on SIGHUP) reopens the file, so log rotation works.
#pragma once
#include <memory>

#include "core/service.h"

namespace skynet {

std::unique_ptr<service_module> make_logger();

}  // namespace skynet
