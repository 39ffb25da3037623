// A mutex of one atomic word, for the mailboxes: an uncontended lock or unlock is one atomic instruction.
//
// A message costs a lock and an unlock on each side (push, take); glibc's pthread mutex spends some sixty
// instructions on each (its type and elision checks), a fair share of a request/reply round trip.  The
// state is 0 (free), 1 (locked) or 2 (locked, and someone may sleep on it); a locker that finds it taken
// marks it 2 and sleeps on the word (C++20 atomic wait: a futex on Linux) until an unlock of a 2 wakes
// one sleeper.  Callers spin with try_lock first (core/spin_lock.h), so sleeping is the rare case.
#pragma once
#include <atomic>

namespace skynet {

class light_mutex {
public:
    void lock() {
        if (try_lock()) return;
        // from here on the word says "maybe waited on", so the holder's unlock wakes somebody
        while (state_.exchange(2, std::memory_order_acquire) != 0) state_.wait(2, std::memory_order_relaxed);
    }

    bool try_lock() {
        int expected = 0;
        return state_.compare_exchange_strong(expected, 1, std::memory_order_acquire, std::memory_order_relaxed);
    }

    void unlock() {
        if (state_.exchange(0, std::memory_order_release) == 2) state_.notify_one();
    }

private:
    std::atomic<int> state_{0};
};

}  // namespace skynet
