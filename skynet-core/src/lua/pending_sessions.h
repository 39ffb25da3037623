// The sessions a Lua service waits on (skynet.lua's session_id_coroutine) and the calls it watches
// (watching_session), kept in C++ by the service's snlua.
//
// As Lua tables keyed by session these were the most expensive part of a call: every call inserts a new
// integer key and removes it again, and Lua's tables rehash (allocate, move every live key, free) whenever
// an insertion finds no free node.  With one session pending for long, say a skynet.wait, and calls going
// on beside it, that was a rehash on nearly every call: a two-node hash part puts every integer key in the
// same main position.  Here an insertion is a probe in an open-addressing table that only grows.
//
// A waiting thread must stay reachable for Lua's collector, so the table holds no Lua values itself: the
// thread sits in a slot of a Lua array (skynet.lua's session_anchors) and the entry holds the slot's
// number (anchor_slots hands them out).  So does a watched address that is not a handle (a name).
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

namespace skynet::sched {

// Slot numbers 1, 2, ... of a Lua array, reused lowest-last-freed first so that the array stays dense.
class anchor_slots {
public:
    uint32_t take() {
        if (free_.empty()) return ++used_;
        uint32_t slot = free_.back();
        free_.pop_back();
        return slot;
    }
    void give(uint32_t slot) { free_.push_back(slot); }
    // How many slots were ever handed out (the array's length).
    uint32_t high_water() const { return used_; }

private:
    std::vector<uint32_t> free_;
    uint32_t used_ = 0;
};

// What skynet.lua's session_coroutine_id and session_coroutine_address hold for a thread handling a request
// (session_table.h): kept by the thread's anchor slot, whose number the thread carries in its extra space.
struct task_record {
    bool used = false;
    bool has_session = false;
    bool has_source = false;
    int32_t session = 0;
    uint32_t source = 0;
};

class pending_sessions {
public:
    enum waiter_kind : uint8_t { no_waiter, waiting_thread, broken };   // broken: skynet.lua's "BREAK"
    enum watch_kind : uint8_t { no_watch, watch_handle, watch_anchored };

    // 16 bytes: four to a cache line.
    struct entry {
        int32_t session;
        uint32_t thread;    // the anchor slot of the waiting thread
        uint32_t watched;   // the handle, or the anchor slot of the address
        bool used;
        waiter_kind waiter;
        watch_kind watch;
        bool is_wait;       // a skynet.wait's session (skynet.lua's wait_token maps its token to it)
    };

    // The entry of a session, or nullptr.
    entry* find(int32_t session);
    // The entry of a session, made empty (no waiter, no watch) when there was none.  Pointers to other
    // entries may move.
    entry& get_or_add(int32_t session);
    // Drops the entry when it holds neither a waiter nor a watch nor the wait mark.  Pointers to other
    // entries may move.
    void drop_if_empty(entry* e);

    size_t size() const { return size_; }

    // Calls f(const entry&) for every entry; f must not change the table.
    template <class F>
    void for_each(F&& f) const {
        for (size_t i = 0; i < capacity_; ++i)
            if (slots_[i].used) f(slots_[i]);
    }

private:
    // Sessions are handed out in order, and many that were made together complete together (a burst of
    // timers, a fan-out of calls): four consecutive sessions share a run of slots, one cache line, so such a
    // burst reads the table a line at a time instead of missing the cache (and the TLB) at every look-up.
    // The runs themselves are spread by Fibonacci hashing, so that a long block of sessions still pending
    // (thousands of sleepers) does not form one cluster that the probes of newer sessions would have to walk.
    static constexpr unsigned run_bits = 2;
    // The first table's size; every table has at least two runs, so the spread below has a bit to use.
    static constexpr size_t first_capacity = 8;
    static_assert(first_capacity >= (size_t(2) << run_bits));
    size_t home(int32_t session) const {
        uint32_t s = uint32_t(session);
        uint32_t run = ((s >> run_bits) * 0x9E3779B1u) >> (32 - (bits_ - run_bits));
        return (size_t(run) << run_bits) | (s & ((1u << run_bits) - 1));
    }
    void grow();

    std::unique_ptr<entry[]> slots_;
    size_t capacity_ = 0;   // a power of two, or 0 before the first entry
    unsigned bits_ = 0;
    size_t size_ = 0;
};

}  // namespace skynet::sched
