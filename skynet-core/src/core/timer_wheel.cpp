#include "core/timer_wheel.h"

#include <bit>

namespace skynet {

namespace {

// First set bit of `bits` at or above `from` (0..63), or -1.
int first_bit_from(uint64_t bits, unsigned from) {
    if (from >= 64) {
        return -1;
    }
    bits &= ~uint64_t(0) << from;
    return bits == 0 ? -1 : std::countr_zero(bits);
}

}  // namespace

timer_wheel::timer_wheel(uint64_t now_ms) : current_(now_ms > max_time ? max_time : now_ms) {}

uint32_t timer_wheel::alloc_node() {
    if (released_run_ >= 256 && released_run_ * 2 >= nodes_.size()) {
        free_ = npos;
        for (size_t i = nodes_.size(); i-- > 0;) {
            if (nodes_[i].due == free_mark) {
                nodes_[i].next = free_;
                free_ = static_cast<uint32_t>(i);
            }
        }
    }
    released_run_ = 0;
    if (free_ != npos) {
        uint32_t i = free_;
        free_ = nodes_[i].next;
        return i;
    }
    nodes_.push_back(node{});
    return static_cast<uint32_t>(nodes_.size() - 1);
}

void timer_wheel::release_node(uint32_t i) {
    nodes_[i].due = free_mark;
    ++released_run_;
    nodes_[i].next = free_;
    free_ = i;
}

void timer_wheel::push(chain& c, uint32_t i) {
    nodes_[i].next = npos;
    if (c.tail == npos) {
        c.head = i;
    } else {
        nodes_[c.tail].next = i;
    }
    c.tail = i;
}

timer_wheel::chain timer_wheel::take(chain& c) {
    chain taken = c;
    c = chain{};
    return taken;
}

void timer_wheel::add(int64_t delay_ms, timer_event ev) {
    uint32_t i = alloc_node();
    nodes_[i].ev = ev;
    ++size_;
    auto delay = static_cast<uint64_t>(delay_ms);
    if (delay_ms <= 0 || current_ >= max_time) {
        nodes_[i].due = current_;
        push(due_now_, i);
        return;
    }
    nodes_[i].due = delay > max_time - current_ ? max_time : current_ + delay;
    place(i);
}

void timer_wheel::place(uint32_t i) {
    uint64_t due = nodes_[i].due;
    // The highest bit in which due and now differ says which wheel (and which level) the event belongs to.
    uint64_t diff = due ^ current_;
    if (diff < near_size) {
        auto index = due & near_mask;
        push(near_[index], i);
        ++near_count_[index];
        near_used_[index / 64] |= uint64_t(1) << (index % 64);
        return;
    }
    if ((diff >> wheel_bits) != 0) {
        push(overflow_, i);
        overflow_min_ = due < overflow_min_ ? due : overflow_min_;
        return;
    }
    for (int level = 0; level < level_count; ++level) {
        int shift = near_bits + level_bits * level;
        if ((diff >> (shift + level_bits)) == 0) {
            auto index = (due >> shift) & level_mask;
            push(levels_[level][index], i);
            level_used_[level] |= uint64_t(1) << index;
            return;
        }
    }
}

void timer_wheel::place_all(uint32_t head) {
    // Walk in order so that events keep their FIFO order in their new slots.
    while (head != npos) {
        uint32_t next = nodes_[head].next;
        place(head);
        head = next;
    }
}

timer_wheel::chain timer_wheel::take_near(uint64_t index) {
    near_used_[index / 64] &= ~(uint64_t(1) << (index % 64));
    near_count_[index] = 0;
    return take(near_[index]);
}

size_t timer_wheel::due_at(uint64_t tick) const {
    // The near slot of a tick in another block holds that block's events, or none.
    if (tick <= current_ || ((tick ^ current_) >> near_bits) != 0) return 0;
    return near_count_[tick & near_mask];
}

void timer_wheel::take_due_at(uint64_t tick, std::vector<timer_event>& out) {
    size_t n = due_at(tick);
    if (n == 0) return;
    out.reserve(out.size() + n);   // the one step that may throw, before the wheel changes
    chain c = take_near(tick & near_mask);
    for (uint32_t i = c.head; i != npos;) {
        out.push_back(nodes_[i].ev);
        uint32_t next = nodes_[i].next;
        release_node(i);
        --size_;
        i = next;
    }
}

void timer_wheel::cascade() {
    if ((current_ & ((uint64_t(1) << wheel_bits) - 1)) == 0) {
        // A new 2^32 ms block: every level is at index 0 and empty; bring in what now fits. What does not
        // goes back, recomputing the minimum.
        overflow_min_ = UINT64_MAX;
        place_all(take(overflow_).head);
        return;
    }
    // Only the lowest level whose index moved off 0 opens a slot; the slots below it at index 0 are empty
    // (their events would have been filed nearer).
    for (int level = 0; level < level_count; ++level) {
        int shift = near_bits + level_bits * level;
        auto index = (current_ >> shift) & level_mask;
        if (index != 0) {
            level_used_[level] &= ~(uint64_t(1) << index);
            place_all(take(levels_[level][index]).head);
            return;
        }
    }
}

uint64_t timer_wheel::next_busy_tick() const {
    // Slot ranges nest in time (near slots, then level 0, then level 1 ...), so the first occupied slot found
    // in that order is the earliest.
    unsigned near_from = static_cast<unsigned>(current_ & near_mask) + 1;
    for (unsigned word = near_from / 64; word < near_used_.size(); ++word) {
        unsigned from = word == near_from / 64 ? near_from % 64 : 0;
        int bit = first_bit_from(near_used_[word], from);
        if (bit >= 0) {
            return (current_ & ~near_mask) + word * 64 + static_cast<unsigned>(bit);
        }
    }
    for (int level = 0; level < level_count; ++level) {
        int shift = near_bits + level_bits * level;
        auto index = static_cast<unsigned>((current_ >> shift) & level_mask);
        int bit = first_bit_from(level_used_[level], index + 1);
        if (bit >= 0) {
            uint64_t block = (current_ >> (shift + level_bits)) << (shift + level_bits);
            return block + (static_cast<uint64_t>(bit) << shift);
        }
    }
    if (overflow_.head != npos) {
        // Straight to the block of the earliest far event: the blocks before it have nothing to bring in.
        return (overflow_min_ >> wheel_bits) << wheel_bits;
    }
    return UINT64_MAX;
}

bool timer_wheel::step_toward(uint64_t target) {
    while (current_ < target) {
        uint64_t next = next_busy_tick();
        if (next > target) {
            // Nothing happens in between: skipping the quiet ticks changes nothing but the clock.
            current_ = target;
            return false;
        }
        current_ = next;
        if ((current_ & near_mask) == 0) {
            cascade();
        }
        if (near_[current_ & near_mask].head != npos) {
            return true;
        }
    }
    return false;
}

void timer_wheel::requeue_front(chain c) {
    if (c.head == npos) {
        return;
    }
    nodes_[c.tail].next = due_now_.head;
    due_now_.head = c.head;
    if (due_now_.tail == npos) {
        due_now_.tail = c.tail;
    }
}

std::optional<uint64_t> timer_wheel::next_due() const {
    if (size_ == 0) {
        return std::nullopt;
    }
    if (due_now_.head != npos) {
        return current_;
    }
    uint64_t next = next_busy_tick();
    if (next == UINT64_MAX) {
        return std::nullopt;  // unreachable while size_ > 0; kept for safety
    }
    return next;
}

}  // namespace skynet
