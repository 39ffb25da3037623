// Handle <-> service, local `.names` and single-node global names.
//
// A handle is harbor << 24 | index.  Indexes are handed out in increasing order, skipping 0 and any index
// whose slot is still taken, so a dead service's handle is not reused until the 24-bit space wraps.
#pragma once
#include <map>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/read_mostly_mutex.h"
#include "core/service.h"

namespace skynet {

class registry {
public:
    explicit registry(uint32_t harbor);

    // Gives s a fresh handle and publishes it; returns the handle.
    uint32_t insert(const service_ptr& s);
    // The live service with this handle, or null.
    service_ptr grab(uint32_t handle) const;
    // Calls f(const service_ptr&) with the live service with this handle while it cannot be removed, and
    // returns what f returns; false when there is none.  A send needs the service only for its push, so it
    // uses this and copies the pointer (two atomic updates on the service's shared count, contended when
    // several workers send to one service) only when it must schedule the service.  f must not call back
    // into the registry.
    template <class F>
    bool visit(uint32_t handle, F&& f) const {
        std::shared_lock lock(mu_);
        const auto& slot = slots_[handle & (slots_.size() - 1)];
        if (!slot || slot->handle() != handle) return false;
        return f(slot);
    }
    // Unpublishes the service and every name that points at it; returns it (null if it was not there).
    service_ptr remove(uint32_t handle);
    std::vector<service_ptr> all() const;
    size_t count() const;
    uint32_t harbor() const { return harbor_ << 24; }

    // Local names, given without the leading dot.  bind fails (false) if the name exists.
    bool bind_local(const std::string& name, uint32_t handle);
    uint32_t find_local(std::string_view name) const;   // 0 when unknown

    // Global names.  A message for a name not registered yet waits in `pending` until the name is bound;
    // bind_global hands those messages back so the caller can deliver them.
    std::vector<message> bind_global(const std::string& name, uint32_t handle);
    uint32_t find_global(std::string_view name) const;  // 0 when unknown
    // Queues msg for an unknown global name; false if the name is bound by now (the caller retries the lookup).
    bool park_for_global(const std::string& name, const message& msg);
    // Drops every message parked for any name (shutdown); hands them back to be freed or answered.
    std::vector<message> take_all_parked();

private:
    void rehash_locked();

    mutable read_mostly_mutex mu_;
    uint32_t harbor_;
    std::vector<service_ptr> slots_;
    uint32_t next_index_ = 1;
    size_t count_ = 0;
    std::map<std::string, uint32_t, std::less<>> local_names_;
    std::map<std::string, uint32_t, std::less<>> global_names_;
    std::map<std::string, std::vector<message>, std::less<>> parked_;
};

}  // namespace skynet
