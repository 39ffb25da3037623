// The registry: the handle -> service lookup that every send does, and a `.name` lookup.
#include <string>
#include <thread>
#include <vector>

#include "core/registry.h"
#include "fixtures.h"
#include "harness.h"

namespace {

using skynet::registry;

constexpr size_t services = 1024;   // a node of moderate size; a power of two for the index mask below

struct populated_registry {
    registry r{0};
    std::vector<uint32_t> handles;
    std::vector<std::string> names;

    populated_registry() {
        for (size_t i = 0; i < services; ++i) {
            uint32_t h = r.insert(std::make_shared<skynet::service>(micro::idle_node(), nullptr));
            handles.push_back(h);
            names.push_back("svc" + std::to_string(i));
            r.bind_local(names.back(), h);
        }
    }
};

// Lookups jump around the table (an odd stride visits every slot) rather than walking it in order, as sends
// to many different services do, so the figure is not that of a single hot cache line.
size_t spread(size_t i) { return (i * 613) & (services - 1); }

void run_group() {
    populated_registry reg;
    micro::run("registry.grab", [&reg](size_t n) {
        for (size_t i = 0; i < n; ++i) {
            auto s = reg.r.grab(reg.handles[spread(i)]);
            micro::keep(s);
        }
    });
    // Fan-in: two threads look up the same service, as two workers sending to one service do.  grab copies the
    // shared pointer (the service's count bounces between the cores); visit does not.
    auto fan_in = [&reg](auto lookup) {
        return [&reg, lookup](size_t n) {
            uint32_t h = reg.handles[7];
            std::thread other([&] { lookup(reg.r, h, n / 2); });
            lookup(reg.r, h, n - n / 2);
            other.join();
        };
    };
    micro::run("registry.grab_fan_in", fan_in([](const registry& r, uint32_t h, size_t n) {
        for (size_t i = 0; i < n; ++i) {
            auto s = r.grab(h);
            micro::keep(s);
        }
    }));
    micro::run("registry.visit_fan_in", fan_in([](const registry& r, uint32_t h, size_t n) {
        for (size_t i = 0; i < n; ++i) r.visit(h, [](const skynet::service_ptr& s) {
            micro::keep(s);
            return true;
        });
    }));
    micro::run("registry.find_local", [&reg](size_t n) {
        for (size_t i = 0; i < n; ++i) {
            uint32_t h = reg.r.find_local(reg.names[spread(i)]);
            micro::keep(h);
        }
    });
}

[[maybe_unused]] const int registered = micro::add_group("registry", run_group);

}  // namespace
