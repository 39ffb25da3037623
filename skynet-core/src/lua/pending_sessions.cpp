// pending_sessions: linear probing, kept at most 3/4 full; deletion shifts the rest of the run back, so no
// tombstones pile up under the steady insert/remove of calls.
#include "lua/pending_sessions.h"

namespace skynet::sched {

pending_sessions::entry* pending_sessions::find(int32_t session) {
    if (size_ == 0) return nullptr;
    const size_t mask = capacity_ - 1;
    for (size_t i = home(session);; i = (i + 1) & mask) {
        entry& e = slots_[i];
        if (!e.used) return nullptr;
        if (e.session == session) return &e;
    }
}

pending_sessions::entry& pending_sessions::get_or_add(int32_t session) {
    if (entry* e = find(session)) return *e;
    if ((size_ + 1) * 4 > capacity_ * 3) grow();
    const size_t mask = capacity_ - 1;
    size_t i = home(session);
    while (slots_[i].used) i = (i + 1) & mask;
    slots_[i] = entry{session, 0, 0, true, no_waiter, no_watch, false};
    ++size_;
    return slots_[i];
}

void pending_sessions::drop_if_empty(entry* e) {
    if (!e || e->waiter != no_waiter || e->watch != no_watch || e->is_wait) return;
    const size_t mask = capacity_ - 1;
    size_t hole = size_t(e - slots_.get());
    slots_[hole].used = false;
    --size_;
    // Backward shift: an entry after the hole moves into it unless its home lies cyclically in (hole, i].
    for (size_t i = (hole + 1) & mask; slots_[i].used; i = (i + 1) & mask) {
        size_t h = home(slots_[i].session);
        bool stays = hole <= i ? (hole < h && h <= i) : (hole < h || h <= i);
        if (stays) continue;
        slots_[hole] = slots_[i];
        slots_[i].used = false;
        hole = i;
    }
}

void pending_sessions::grow() {
    size_t capacity = capacity_ ? capacity_ * 2 : first_capacity;
    std::unique_ptr<entry[]> old = std::move(slots_);
    size_t old_capacity = capacity_;
    slots_ = std::make_unique<entry[]>(capacity);   // value-initialized: every slot unused
    capacity_ = capacity;
    bits_ = 0;
    while ((size_t(1) << bits_) < capacity) ++bits_;
    const size_t mask = capacity_ - 1;
    for (size_t j = 0; j < old_capacity; ++j) {
        if (!old[j].used) continue;
        size_t i = home(old[j].session);
        while (slots_[i].used) i = (i + 1) & mask;
        slots_[i] = old[j];
    }
}

}  // namespace skynet::sched
