#include "net/socket_slots.h"

namespace skynet {

socket_slots::socket_slots() : slots_(std::make_unique<std::array<slot, capacity>>()) {}

int socket_slots::reserve(unsigned thread) {
    for (int attempt = 0; attempt < capacity; ++attempt) {
        int id = int((next_.fetch_add(1, std::memory_order_relaxed) + 1) & 0x7fffffffu);
        if (id == 0) continue;   // 0 marks a free slot
        slot& s = (*slots_)[size_t(slot_index(id))];
        // Claim the slot with a marker that matches no id, fill it in, then publish the id (release), so a
        // reader that sees the id also sees the thread it belongs to.
        int32_t expected = 0;
        if (!s.id.compare_exchange_strong(expected, claimed, std::memory_order_acquire)) continue;
        s.thread.store(uint8_t(thread), std::memory_order_relaxed);
        s.writable.store(false, std::memory_order_relaxed);
        s.id.store(id, std::memory_order_release);
        return id;
    }
    return -1;
}

void socket_slots::release(int id) {
    if (id <= 0) return;
    slot& s = (*slots_)[size_t(slot_index(id))];
    s.writable.store(false, std::memory_order_relaxed);
    int32_t expected = id;
    s.id.compare_exchange_strong(expected, 0, std::memory_order_acq_rel);
}

const socket_slots::slot* socket_slots::find(int id) const {
    if (id <= 0) return nullptr;
    const slot& s = (*slots_)[size_t(slot_index(id))];
    return s.id.load(std::memory_order_acquire) == id ? &s : nullptr;
}

bool socket_slots::live(int id) const { return find(id) != nullptr; }

bool socket_slots::writable(int id) const {
    const slot* s = find(id);
    return s && s->writable.load(std::memory_order_acquire);
}

void socket_slots::set_writable(int id, bool on) {
    if (id <= 0) return;
    slot& s = (*slots_)[size_t(slot_index(id))];
    if (s.id.load(std::memory_order_acquire) == id) s.writable.store(on, std::memory_order_release);
}

unsigned socket_slots::thread_of(int id) const {
    const slot* s = find(id);
    return s ? s->thread.load(std::memory_order_relaxed) : 0;
}

}  // namespace skynet
