// A reader-writer lock for data read on every message and written rarely (the registry: every send looks up
// its destination; only launches, exits and names write).
//
// std::shared_mutex makes every reader do an atomic update of one shared word, which bounces that cache
// line between the cores of all threads that send (5 % of a send with four producers on two cores).  Here a
// reader counts itself in a slot of its own thread (threads share slots only past `slot_count`), so the
// line stays in its core, and checks that no writer is in.  A writer announces itself, then waits until
// every slot is empty.  Both sides use sequentially consistent operations on the announcement and the
// counts, so at least one of them sees the other: a reader that saw no writer is seen by the writer.
// Readers that find a writer back off and wait for it; writers are serialized among themselves.
//
// Meets SharedMutex as far as std::shared_lock and std::unique_lock need it.  Not recursive for readers
// while a writer waits (as std::shared_mutex).
#pragma once
#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>

namespace skynet {

class read_mostly_mutex {
public:
    void lock_shared() {
        std::atomic<uint32_t>& readers = slots_[thread_slot()].readers;
        for (;;) {
            readers.fetch_add(1, std::memory_order_seq_cst);
            if (!writing_.load(std::memory_order_seq_cst)) return;
            readers.fetch_sub(1, std::memory_order_release);
            for (int spins = 0; writing_.load(std::memory_order_acquire); ++spins) pause(spins);
        }
    }

    void unlock_shared() { slots_[thread_slot()].readers.fetch_sub(1, std::memory_order_release); }

    void lock() {
        writer_.lock();
        writing_.store(true, std::memory_order_seq_cst);
        for (auto& s : slots_)
            for (int spins = 0; s.readers.load(std::memory_order_seq_cst) != 0; ++spins) pause(spins);
    }

    void unlock() {
        writing_.store(false, std::memory_order_release);
        writer_.unlock();
    }

private:
    static constexpr unsigned slot_count = 32;

    struct alignas(64) slot {
        std::atomic<uint32_t> readers{0};
    };

    // The slot of the calling thread: threads take slots in the order they first lock any such mutex.
    static unsigned thread_slot() {
        static std::atomic<unsigned> next{0};
        thread_local unsigned mine = next.fetch_add(1, std::memory_order_relaxed) % slot_count;
        return mine;
    }

    // Waiting is short (a writer holds the lock for a table update): spin a little, then give the core up.
    static void pause(int spins) {
        if (spins < 64) {
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#endif
        } else {
            std::this_thread::yield();
        }
    }

    slot slots_[slot_count];
    alignas(64) std::atomic<bool> writing_{false};
    std::mutex writer_;
};

}  // namespace skynet
