// A service's message queue: a mutex-protected growable ring plus skynet's "scheduled" flag.
//
// The flag protocol is what keeps one service on at most one worker at a time and loses no wake-up:
//  - the flag is true while the service sits in the ready queue or runs on a worker;
//  - a push onto an unscheduled mailbox sets the flag and tells the caller to schedule it;
//  - a pop that finds the queue empty clears the flag under the same lock, so a concurrent push either lands
//    before (and is popped) or after (and reschedules);
//  - a mailbox starts scheduled, so nothing runs before the service's init has finished.
#pragma once
#include <mutex>
#include <vector>

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
    bool pop(message& out);

    // Sets the scheduled flag if it was clear; true means the caller must put the service in the ready queue.
    bool try_schedule();

    // Marks the mailbox dead and hands back everything still queued; later pushes return `dead`.
    std::vector<message> close();

    size_t length() const;

    // The length that crossed the overload threshold since the last call, or 0.  The threshold starts at 1024
    // and doubles each time it is crossed; it resets when the queue drains (skynet's rule).
    size_t take_overload();

private:
    void grow();

    mutable std::mutex mu_;
    std::vector<message> ring_;
    size_t head_ = 0;
    size_t count_ = 0;
    bool scheduled_ = true;
    bool dead_ = false;
    size_t overload_ = 0;
    size_t overload_threshold_ = 1024;
};

}  // namespace skynet
