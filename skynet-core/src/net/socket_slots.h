// Socket ids.  An id is a small positive integer handed out in increasing order; its low 16 bits pick a
// slot and the bits above are a generation tag, so an id that was closed never matches the slot's next
// occupant (until the 31-bit counter wraps, which would take two billion sockets).  Workers check ids here
// without a lock before they post work to a network thread; the network thread re-checks, so the answer
// only needs to be right for ids that are really stale or foreign.
#pragma once
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>

namespace skynet {

class socket_slots {
public:
    static constexpr int slot_bits = 16;
    static constexpr int capacity = 1 << slot_bits;

    socket_slots();

    // A fresh id bound to network thread `thread`; -1 when every slot is taken.
    int reserve(unsigned thread);
    // The id's slot goes back to the pool (only the network thread that owns the socket calls this).
    void release(int id);

    // True while `id` names a socket that has not been released.
    bool live(int id) const;
    // True when a send to `id` may be queued (not a listener, not closing).
    bool writable(int id) const;
    void set_writable(int id, bool on);
    // The network thread that owns a live id.
    unsigned thread_of(int id) const;

    static int slot_index(int id) { return id & (capacity - 1); }

private:
    struct slot {
        std::atomic<int32_t> id{0};   // 0: free (ids start at 1)
        std::atomic<bool> writable{false};
        std::atomic<uint8_t> thread{0};
    };
    const slot* find(int id) const;
    static constexpr int32_t claimed = -1;   // a slot being filled in by reserve

    std::unique_ptr<std::array<slot, capacity>> slots_;
    std::atomic<uint32_t> next_{0};
};

}  // namespace skynet
