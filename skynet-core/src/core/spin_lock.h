// Taking a briefly contended mutex without sleeping.
//
// The mutexes of the ready queue and the mailboxes guard a few pointer moves, far less time than the futex
// sleep and wake-up that a contended std::mutex::lock() costs (microseconds, and a context switch on both
// sides).  So a contended lock is first retried with try_lock for a moment; only a holder that really is
// slow (preempted) sends the caller to sleep in lock().
#pragma once
#include <thread>

namespace skynet {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#else
    std::this_thread::yield();
#endif
}

// Lockable: std::mutex, std::unique_lock<std::mutex>.
template <class Lockable>
void spin_then_lock(Lockable& m) {
    constexpr int tries = 64;
    for (int i = 0; i < tries; ++i) {
        if (m.try_lock()) return;
        cpu_relax();
    }
    m.lock();
}

}  // namespace skynet
