#include "core/registry.h"

#include <mutex>

namespace skynet {

namespace {
constexpr uint32_t index_mask = 0xffffff;
// skynet starts with four slots; the table only doubles when full, so the starting size decides which
// handles the first services get (spec appendix: handles are not dense).
constexpr size_t initial_slots = 4;
}  // namespace

registry::registry(uint32_t harbor) : harbor_(harbor & 0xff), slots_(initial_slots) {}

void registry::rehash_locked() {
    std::vector<service_ptr> bigger(slots_.size() * 2);
    for (auto& s : slots_) {
        if (s) bigger[s->handle() & (bigger.size() - 1)] = std::move(s);
    }
    slots_.swap(bigger);
}

uint32_t registry::insert(const service_ptr& s) {
    std::unique_lock lock(mu_);
    for (;;) {
        // Every pass starts again at next_index_: after a doubling the indexes just tried may have free
        // slots, and skynet hands out the first of them (a full table of :01..:10 gives :11 next, not :31).
        uint32_t index = next_index_;
        for (size_t tries = 0; tries < slots_.size(); ++tries, index = (index + 1) & index_mask) {
            if (index == 0) continue;
            auto& slot = slots_[index & (slots_.size() - 1)];
            if (slot) continue;
            next_index_ = (index + 1) & index_mask;
            uint32_t handle = (harbor_ << 24) | index;
            s->set_handle(handle);
            slot = s;
            ++count_;
            return handle;
        }
        rehash_locked();
    }
}

service_ptr registry::grab(uint32_t handle) const {
    std::shared_lock lock(mu_);
    const auto& slot = slots_[handle & (slots_.size() - 1)];
    if (slot && slot->handle() == handle) return slot;
    return nullptr;
}

service_ptr registry::remove(uint32_t handle) {
    std::unique_lock lock(mu_);
    auto& slot = slots_[handle & (slots_.size() - 1)];
    if (!slot || slot->handle() != handle) return nullptr;
    service_ptr s = std::move(slot);
    slot.reset();
    --count_;
    std::erase_if(local_names_, [handle](const auto& kv) { return kv.second == handle; });
    std::erase_if(global_names_, [handle](const auto& kv) { return kv.second == handle; });
    return s;
}

std::vector<service_ptr> registry::all() const {
    std::shared_lock lock(mu_);
    std::vector<service_ptr> out;
    for (const auto& s : slots_)
        if (s) out.push_back(s);
    return out;
}

size_t registry::count() const {
    std::shared_lock lock(mu_);
    return count_;
}

bool registry::bind_local(const std::string& name, uint32_t handle) {
    std::unique_lock lock(mu_);
    return local_names_.emplace(name, handle).second;
}

uint32_t registry::find_local(std::string_view name) const {
    std::shared_lock lock(mu_);
    auto it = local_names_.find(name);
    return it == local_names_.end() ? 0 : it->second;
}

std::vector<message> registry::bind_global(const std::string& name, uint32_t handle) {
    std::unique_lock lock(mu_);
    global_names_[name] = handle;
    std::vector<message> waiting;
    auto it = parked_.find(name);
    if (it != parked_.end()) {
        waiting = std::move(it->second);
        parked_.erase(it);
    }
    return waiting;
}

uint32_t registry::find_global(std::string_view name) const {
    std::shared_lock lock(mu_);
    auto it = global_names_.find(name);
    return it == global_names_.end() ? 0 : it->second;
}

bool registry::park_for_global(const std::string& name, const message& msg) {
    std::unique_lock lock(mu_);
    if (global_names_.count(name)) return false;
    parked_[name].push_back(msg);
    return true;
}

std::vector<message> registry::take_all_parked() {
    std::unique_lock lock(mu_);
    std::vector<message> out;
    for (auto& [name, msgs] : parked_)
        for (auto& m : msgs) out.push_back(m);
    parked_.clear();
    return out;
}

}  // namespace skynet
