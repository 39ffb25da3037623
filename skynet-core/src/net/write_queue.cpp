#include "net/write_queue.h"

namespace skynet {

void write_queue::push(byte_buffer block, bool low_priority) {
    if (block.empty()) return;
    pending_ += block.size();
    (low_priority ? low_ : high_).push_back(std::move(block));
}

void write_queue::gather(std::vector<asio::const_buffer>& out, size_t max_blocks) {
    out.clear();
    // Commit more blocks, high priority first, up to one writev worth.
    while (committed_.size() < max_blocks && (!high_.empty() || !low_.empty())) {
        auto& from = high_.empty() ? low_ : high_;
        committed_.push_back(std::move(from.front()));
        from.pop_front();
    }
    size_t skip = offset_;
    for (const auto& b : committed_) {
        if (out.size() >= max_blocks) break;
        out.emplace_back(b.data() + skip, b.size() - skip);
        skip = 0;
    }
}

void write_queue::consume(size_t n) {
    pending_ -= n < pending_ ? n : pending_;
    while (n > 0 && !committed_.empty()) {
        size_t left = committed_.front().size() - offset_;
        if (n < left) {
            offset_ += n;
            return;
        }
        n -= left;
        offset_ = 0;
        committed_.pop_front();   // frees the block
    }
}

void write_queue::clear() {
    committed_.clear();
    high_.clear();
    low_.clear();
    offset_ = 0;
    pending_ = 0;
}

long send_warning::on_grow(size_t pending) {
    if (pending < first_threshold || pending < next_) return -1;
    next_ = next_ == 0 ? first_threshold * 2 : next_ * 2;
    return long((pending + 1023) / 1024);
}

bool send_warning::on_drain() {
    if (next_ == 0) return false;
    next_ = 0;
    return true;
}

}  // namespace skynet
