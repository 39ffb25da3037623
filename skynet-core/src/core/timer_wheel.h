// A hierarchical timing wheel with a 1 ms tick: 256 near slots, then 4 levels of 64 slots (2^32 ms), then an
// overflow list for anything further away, re-examined when the clock enters the 2^32 ms block of its
// earliest event.
// It owns no thread and never reads a clock: the caller passes the time in, so tests are deterministic and
// the timer thread decides how to sleep.
//
// Advancing never walks empty ticks one by one: occupancy bitmaps give the next tick at which a slot must be
// fired or cascaded, so a jump of years costs a handful of steps.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace skynet {

struct timer_event {
    uint32_t handle;
    int32_t session;
};

class timer_wheel {
public:
    explicit timer_wheel(uint64_t now_ms = 0);

    // Schedules ev at now() + delay_ms. A delay <= 0 expires on the next advance(). Called from inside an
    // on_expire callback, the delay counts from the tick being delivered.
    void add(int64_t delay_ms, timer_event ev);

    // Moves the wheel forward to now_ms (never backwards) and calls on_expire(ev) for every event due by
    // then, in due-time order, FIFO for equal times. While on_expire runs, now() is the event's due tick
    // (except for a zero delay added from inside a callback: that one waits for the next call, so a
    // callback that keeps re-adding zero delays cannot loop forever). on_expire may call add(). If it
    // throws, the events not yet delivered stay pending and are delivered first by the next advance().
    // At most `limit` events are delivered; the rest stay pending the same way, so a caller can hand out a
    // large batch of expiries in parts. Returns how many were delivered.
    template <class F>
    size_t advance(uint64_t now_ms, F&& on_expire, size_t limit = SIZE_MAX);

    // How many events fall due at `tick`, counted when they are in the near wheel: tick is after now() and in
    // the same 256 ms block (0 otherwise, though some may be due then).  Constant time.
    size_t due_at(uint64_t tick) const;
    // Takes the events due_at(tick) counts out of the wheel, in the order advance() would deliver them, and
    // appends them to out; the caller delivers them, no earlier than `tick`.  Events added later for that tick
    // go back into its slot, and advance() delivers them after these.  Leaves the wheel as it was if out
    // cannot grow.
    void take_due_at(uint64_t tick, std::vector<timer_event>& out);

    size_t size() const { return size_; }
    uint64_t now() const { return current_; }

    // The earliest due time: exact when it is in the near wheel (or already due), otherwise a lower bound
    // (the tick at which the wheel must next cascade). nullopt when nothing is pending.
    std::optional<uint64_t> next_due() const;

private:
    friend struct timer_wheel_inspector;   // the unit tests look at which nodes a slot's events use

    static constexpr uint32_t npos = UINT32_MAX;
    // The due time of a released node (real ones are capped at max_time).
    static constexpr uint64_t free_mark = UINT64_MAX;
    static constexpr int near_bits = 8;
    static constexpr uint64_t near_size = uint64_t(1) << near_bits;
    static constexpr uint64_t near_mask = near_size - 1;
    static constexpr int level_bits = 6;
    static constexpr int level_count = 4;
    static constexpr uint64_t level_size = uint64_t(1) << level_bits;
    static constexpr uint64_t level_mask = level_size - 1;
    static constexpr int wheel_bits = near_bits + level_bits * level_count;  // 32
    // Due times are capped one below the largest value so that UINT64_MAX can mean "no next tick".
    static constexpr uint64_t max_time = UINT64_MAX - 1;

    struct node {
        uint64_t due;
        timer_event ev;
        uint32_t next;
    };
    // A FIFO list of nodes, linked through node::next.
    struct chain {
        uint32_t head = npos;
        uint32_t tail = npos;
    };

    uint32_t alloc_node();
    void release_node(uint32_t i);
    void push(chain& c, uint32_t i);
    static chain take(chain& c);
    // Files a node by its due time relative to current_ (due >= current_).
    void place(uint32_t i);
    void place_all(uint32_t head);
    chain take_near(uint64_t index);
    // Re-files the slot that the tick current_ opens (current_ is a multiple of 256).
    void cascade();
    // The next tick after current_ at which a slot fires or cascades; UINT64_MAX if none.
    uint64_t next_busy_tick() const;
    // Moves current_ towards target, cascading on the way; true when it stopped on a tick whose near slot
    // holds events, false once it reached target.
    bool step_toward(uint64_t target);
    // Puts an undelivered chain back in front of the due-now list (when on_expire throws, or the limit of an
    // advance is reached).
    void requeue_front(chain c);
    // Delivers c in order while budget lasts (counting it down); requeues what is left.
    template <class F>
    void deliver(chain c, F& on_expire, size_t& budget);

    uint64_t current_;
    size_t size_ = 0;
    std::vector<node> nodes_;
    uint32_t free_ = npos;
    // Nodes released since one was last allocated.  The free list is a stack, so after a burst of expiries
    // it holds the nodes in the order they fell due, and the timers added next would take them scattered
    // over the array: every step along a slot's chain a cache miss for the timer thread, whose data the
    // workers push out of the cache between ticks.  When a run of releases is at least half of all the
    // nodes, the next allocation rebuilds the list in index order (a scan of the array, paid for by that
    // run), so a burst's timers sit in consecutive nodes.
    size_t released_run_ = 0;
    chain due_now_;  // delay <= 0: delivered at the start of the next advance
    std::array<chain, near_size> near_{};
    std::array<uint32_t, near_size> near_count_{};   // events in each near slot
    std::array<std::array<chain, level_size>, level_count> levels_{};
    chain overflow_;  // due beyond the current 2^32 ms block
    uint64_t overflow_min_ = UINT64_MAX;  // earliest due time in overflow_
    std::array<uint64_t, near_size / 64> near_used_{};
    std::array<uint64_t, level_count> level_used_{};
};

template <class F>
void timer_wheel::deliver(chain c, F& on_expire, size_t& budget) {
    uint32_t head = c.head;
    while (head != npos) {
        if (budget == 0) {
            requeue_front({head, c.tail});   // what is left of c is a suffix of it: same tail
            return;
        }
        --budget;
        // Copy out before the call: on_expire may add timers, which can reallocate nodes_.
        timer_event ev = nodes_[head].ev;
        uint32_t next = nodes_[head].next;
        release_node(head);
        --size_;
        head = next;
        try {
            on_expire(ev);
        } catch (...) {
            requeue_front({head, c.tail});   // nothing when that was the last event
            throw;
        }
    }
}

template <class F>
size_t timer_wheel::advance(uint64_t now_ms, F&& on_expire, size_t limit) {
    size_t budget = limit;
    // Taken once: a callback that re-adds a zero delay is delivered next time, not in an endless loop.
    deliver(take(due_now_), on_expire, budget);
    uint64_t target = now_ms > max_time ? max_time : now_ms;
    // A spent budget stops before the next tick, so now() stays the tick of the events left pending.
    while (budget > 0 && step_toward(target)) {
        deliver(take_near(current_ & near_mask), on_expire, budget);
    }
    return limit - budget;
}

}  // namespace skynet
