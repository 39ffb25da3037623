#include "core/mailbox.h"

#include "core/spin_lock.h"

#include <thread>

namespace skynet {

namespace {
// Most services hold a handful of messages at a time, and an idle one never more than that: a ring of 8
// is 256 bytes where skynet's 64 cost 2 KB per service (1.3 % of an idle snlua service's memory). A
// burst doubles the ring as often as it needs.  The size stays a power of two, so positions wrap with a mask
// rather than a division on every push and pop.
constexpr size_t initial_capacity = 8;
static_assert((initial_capacity & (initial_capacity - 1)) == 0, "the ring size must be a power of two");
constexpr size_t default_overload_threshold = 1024;
}  // namespace

mailbox::mailbox() : ring_(initial_capacity) {}

mailbox::~mailbox() {
    // Whatever is left belongs to nobody else by now.
    for (size_t i = 0; i < count_; ++i) ring_[(head_ + i) & (ring_.size() - 1)].free_payload();
}

// Makes room for n more messages, with the lock held on entry and on return.  The bigger ring is allocated
// with the lock released: its pages are new (a burst doubles the ring to sizes it never had), and touching
// them costs a page fault each (~1.5 us on a VM), some 130 for a ring of 16k messages.  Under the lock, the
// owner's worker would wait all that time for its next batch, or sleep on the futex; this way it keeps
// draining and the lock is held for the copy only.  One pusher grows the ring at a time: others that find
// it full wait for that one, or several senders to a flooded service would each allocate a bigger ring
// (two of 128 MB at once for a queue of 4M messages).
void mailbox::reserve(std::unique_lock<light_mutex>& lock, size_t n) {
    while (ring_.size() - count_ < n) {
        if (growing_) {
            lock.unlock();
            std::this_thread::yield();
            spin_then_lock(lock);
            continue;
        }
        size_t size = ring_.size() * 2;
        while (size < count_ + n) size *= 2;
        growing_ = true;
        lock.unlock();
        std::vector<message> bigger;
        try {
            bigger.resize(size);   // value-initialised: every page touched here
        } catch (...) {
            spin_then_lock(lock);
            growing_ = false;
            throw;
        }
        spin_then_lock(lock);
        growing_ = false;
        // The owner may have taken messages meanwhile, and others pushed into the room that made; a batch
        // larger than the old ring may then still not fit: once more.
        if (size < count_ + n) continue;
        for (size_t i = 0; i < count_; ++i) bigger[i] = ring_[(head_ + i) & (ring_.size() - 1)];
        ring_.swap(bigger);
        head_ = 0;
    }
}

bool mailbox::room_for(std::unique_lock<light_mutex>& lock, size_t n) {
    if (dead_) return false;
    if (ring_.size() - count_ < n) reserve(lock, n);
    return !dead_;   // closed while reserve had the lock down?
}

mailbox::push_result mailbox::push(const message& msg) {
    // contended by senders and the owner's worker for a few moves only (core/spin_lock.h)
    spin_then_lock(mu_);
    std::unique_lock lock(mu_, std::adopt_lock);
    if (!room_for(lock, 1)) return push_result::dead;
    ring_[(head_ + count_) & (ring_.size() - 1)] = msg;
    ++count_;
    if (!scheduled_) {
        scheduled_ = true;
        return push_result::schedule;
    }
    return push_result::queued;
}

// The queue ran dry: the owner gives the service up, and skynet's overload threshold starts over.
void mailbox::empty_locked() {
    scheduled_ = false;
    overload_threshold_ = default_overload_threshold;
}

size_t mailbox::take(message* out, size_t max, bool in_hand, size_t* left) {
    // contended by senders and the owner's worker for a few moves only (core/spin_lock.h)
    spin_then_lock(mu_);
    std::lock_guard lock(mu_, std::adopt_lock);
    if (count_ == 0) {
        if (left) *left = 0;
        empty_locked();
        return 0;
    }
    // The longest the queue is after one of these pops is after the first: checking that length once gives
    // the report one pop at a time would.  Doubled until it is above the length, as skynet does: one burst
    // is reported once, not once per doubling on the following pops.
    while (count_ - 1 > overload_threshold_) {
        overload_ = count_ - 1;
        overload_threshold_ *= 2;
    }
    size_t n = count_ < max ? count_ : max;
    const size_t mask = ring_.size() - 1;
    for (size_t i = 0; i < n; ++i) {
        out[i] = ring_[head_];
        ring_[head_] = message{};
        head_ = (head_ + 1) & mask;
    }
    count_ -= n;
    if (left) *left = count_;
    if (in_hand) in_hand_.store(n, std::memory_order_relaxed);
    return n;
}

void mailbox::unpop(const message* msgs, size_t n) {
    std::unique_lock lock(mu_);
    reserve(lock, n);
    const size_t mask = ring_.size() - 1;
    for (size_t i = n; i-- > 0;) {
        head_ = (head_ - 1) & mask;
        ring_[head_] = msgs[i];
    }
    count_ += n;
    in_hand_.store(0, std::memory_order_relaxed);
}

bool mailbox::unschedule_if_empty() {
    std::lock_guard lock(mu_);
    if (count_ != 0) return false;
    empty_locked();
    return true;
}

mailbox::push_result mailbox::push_many(const message* msgs, size_t n) {
    // contended by senders and the owner's worker for a few moves only (core/spin_lock.h)
    spin_then_lock(mu_);
    std::unique_lock lock(mu_, std::adopt_lock);
    if (!room_for(lock, n)) return push_result::dead;
    const size_t mask = ring_.size() - 1;
    for (size_t i = 0; i < n; ++i) ring_[(head_ + count_ + i) & mask] = msgs[i];
    count_ += n;
    if (!scheduled_ && n) {
        scheduled_ = true;
        return push_result::schedule;
    }
    return push_result::queued;
}

void mailbox::make_room(size_t n) {
    spin_then_lock(mu_);
    std::unique_lock lock(mu_, std::adopt_lock);
    room_for(lock, n);
}

size_t mailbox::capacity() const {
    std::lock_guard lock(mu_);
    return ring_.size();
}

bool mailbox::try_schedule() {
    std::lock_guard lock(mu_);
    if (scheduled_) return false;
    scheduled_ = true;
    return true;
}

std::vector<message> mailbox::close() {
    std::lock_guard lock(mu_);
    dead_ = true;
    std::vector<message> rest;
    rest.reserve(count_);
    for (size_t i = 0; i < count_; ++i) rest.push_back(ring_[(head_ + i) & (ring_.size() - 1)]);
    count_ = 0;
    head_ = 0;
    return rest;
}

size_t mailbox::length() const {
    std::lock_guard lock(mu_);
    return count_ + in_hand_.load(std::memory_order_relaxed);
}

size_t mailbox::take_overload() {
    std::lock_guard lock(mu_);
    size_t v = overload_;
    overload_ = 0;
    return v;
}

}  // namespace skynet
