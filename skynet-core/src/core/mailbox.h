// A service's message queue: a growable ring behind a light_mutex plus skynet's "scheduled" flag.  The ring
// doubles when full, and a bigger one is allocated with the lock released (see reserve), so a burst that grows
// it does not hold up the owner's worker.
//
// The flag protocol is what keeps one service on at most one worker at a time and loses no wake-up:
//  - the flag is true while the service sits in the ready queue or runs on a worker;
//  - a push onto an unscheduled mailbox sets the flag and tells the caller to schedule it;
//  - a pop that finds the queue empty clears the flag under the same lock, so a concurrent push either lands
//    before (and is popped) or after (and reschedules);
//  - a mailbox starts scheduled, so nothing runs before the service's init has finished.
//
// The owning worker may take several messages per lock (pop_batch).  Until it starts them they are "in hand":
// still counted by length() and overload, and handed back with unpop when the turn ends early, so a service
// that retires mid-batch sees them in close() exactly as if they had stayed queued.
#pragma once
#include <atomic>
#include <mutex>
#include <vector>

#include "core/light_mutex.h"
#include "core/message.h"

namespace skynet {

class mailbox {
public:
    enum class push_result { queued, schedule, dead };

    mailbox();
    mailbox(const mailbox&) = delete;
    mailbox& operator=(const mailbox&) = delete;
    ~mailbox();

    // Appends msg.  `dead`: the service is gone and the message was not taken (the caller still owns it).
    push_result push(const message& msg);

    // Takes the oldest message; false (and the scheduled flag cleared) when empty.
    bool pop(message& out) { return take(&out, 1, false, nullptr) == 1; }

    // Takes up to `max` (>= 1) of the oldest messages into out[]; 0 (and the scheduled flag cleared) when
    // empty.  Only the owning worker calls this; the messages are in hand until start_one or unpop.
    // `left`, when given, gets how many stay queued: the owner knows the queue is not empty while that is not 0.
    size_t pop_batch(message* out, size_t max, size_t* left = nullptr) { return take(out, max, true, left); }
    // The owner starts the next message in hand: it no longer counts in length().
    void start_one() { in_hand_.store(in_hand_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed); }
    // Puts the n messages in hand that were not started back at the head, in order.
    void unpop(const message* msgs, size_t n);
    // Clears the scheduled flag if nothing is queued (true): the owner ends its turn without requeueing.
    bool unschedule_if_empty();
    // Appends n messages under one lock (the timer thread's burst for one service); as push for the result.
    push_result push_many(const message* msgs, size_t n);

    // Grows the ring, if it must, so that n more messages than it holds now fit without growing it again: the
    // timer thread calls it ahead of a tick on which many of the service's timers fall due (timer.h), so that
    // the pushes at the tick do not wait on the new ring's page faults.  Nothing for a dead mailbox.
    void make_room(size_t n);
    // How many messages the ring holds before it must grow.
    size_t capacity() const;

    // Sets the scheduled flag if it was clear; true means the caller must put the service in the ready queue.
    bool try_schedule();

    // Marks the mailbox dead and hands back everything still queued; later pushes return `dead`.
    std::vector<message> close();

    size_t length() const;

    // The length that crossed the overload threshold since the last call, or 0.  The threshold starts at 1024
    // and doubles each time it is crossed; it resets when the queue drains (skynet's rule).
    size_t take_overload();

private:
    size_t take(message* out, size_t max, bool in_hand, size_t* left);
    void reserve(std::unique_lock<light_mutex>& lock, size_t n);
    // With the lock held: room for n more messages, or false when the mailbox is dead (or was closed while
    // reserve had the lock down), so that a push must not go on.
    bool room_for(std::unique_lock<light_mutex>& lock, size_t n);
    void empty_locked();

    mutable light_mutex mu_;
    std::vector<message> ring_;
    size_t head_ = 0;
    size_t count_ = 0;
    bool scheduled_ = true;
    bool dead_ = false;
    bool growing_ = false;   // a pusher is allocating a bigger ring with the lock released
    size_t overload_ = 0;
    size_t overload_threshold_ = 1024;
    // Messages the owner took with pop_batch and has not started; written only by the owner.
    std::atomic<size_t> in_hand_{0};
};

}  // namespace skynet
