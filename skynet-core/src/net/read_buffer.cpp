#include "net/read_buffer.h"

#include <cstdlib>
#include <cstring>

namespace skynet {

read_buffer::~read_buffer() {
    clear();
    std::free(blocks_);
}

bool read_buffer::push(char* data, size_t size) {
    if (size == 0) {
        std::free(data);
        return true;
    }
    if (count_ == capacity_) {
        size_t cap = capacity_ ? capacity_ * 2 : 8;
        auto* grown = static_cast<block*>(std::malloc(cap * sizeof(block)));
        if (!grown) return false;
        for (size_t i = 0; i < count_; ++i) grown[i] = blocks_[(head_ + i) % capacity_];
        std::free(blocks_);
        blocks_ = grown;
        capacity_ = cap;
        head_ = 0;
    }
    blocks_[(head_ + count_) % capacity_] = block{data, size};
    ++count_;
    size_ += size;
    return true;
}

const char* read_buffer::contiguous(size_t n) const {
    if (count_ == 0 || n > size_) return nullptr;
    const block& b = blocks_[head_];
    return b.size - offset_ >= n ? b.data + offset_ : nullptr;
}

void read_buffer::copy(char* out, size_t n) const {
    size_t skip = offset_;
    for (size_t i = 0; i < count_ && n > 0; ++i) {
        const block& b = blocks_[(head_ + i) % capacity_];
        size_t take = b.size - skip;
        if (take > n) take = n;
        std::memcpy(out, b.data + skip, take);
        out += take;
        n -= take;
        skip = 0;
    }
}

void read_buffer::drop(size_t n) {
    if (n > size_) n = size_;
    size_ -= n;
    scanned_ = scanned_ > n ? scanned_ - n : 0;
    while (n > 0) {
        block& b = blocks_[head_];
        size_t left = b.size - offset_;
        if (n < left) {
            offset_ += n;
            return;
        }
        n -= left;
        std::free(b.data);
        head_ = (head_ + 1) % capacity_;
        --count_;
        offset_ = 0;
    }
    if (count_ == 0) head_ = 0;
}

void read_buffer::clear() {
    for (size_t i = 0; i < count_; ++i) std::free(blocks_[(head_ + i) % capacity_].data);
    head_ = count_ = offset_ = size_ = scanned_ = 0;
}

char read_buffer::byte_at(size_t block_index, size_t offset) const {
    return blocks_[(head_ + block_index) % capacity_].data[offset];
}

size_t read_buffer::find(std::string_view sep) {
    if (sep.empty()) return 0;
    bool same = sep.size() == last_sep_len_ && sep.size() <= sizeof last_sep_ &&
                std::memcmp(sep.data(), last_sep_, sep.size()) == 0;
    size_t start = same ? scanned_ : 0;
    if (sep.size() <= sizeof last_sep_) {
        std::memcpy(last_sep_, sep.data(), sep.size());
        last_sep_len_ = sep.size();
    } else {
        last_sep_len_ = 0;
    }
    if (size_ < sep.size()) {
        scanned_ = 0;
        return npos;
    }
    // Walk the bytes from `start`, keeping (block, offset) cursors rather than indexing from the front.
    size_t bi = 0, off = offset_;
    size_t pos = 0;
    // Skip to start.
    size_t skip = start;
    while (skip > 0) {
        size_t avail = blocks_[(head_ + bi) % capacity_].size - off;
        if (skip < avail) {
            off += skip;
            pos += skip;
            break;
        }
        skip -= avail;
        pos += avail;
        ++bi;
        off = 0;
    }
    size_t last_start = size_ - sep.size();
    for (; pos <= last_start; ++pos) {
        if (byte_at(bi, off) == sep[0]) {
            // Compare the rest, which may run into the following blocks.
            size_t cb = bi, co = off, k = 1;
            for (; k < sep.size(); ++k) {
                if (++co == blocks_[(head_ + cb) % capacity_].size) {
                    ++cb;
                    co = 0;
                }
                if (byte_at(cb, co) != sep[k]) break;
            }
            if (k == sep.size()) {
                scanned_ = pos;
                return pos;
            }
        }
        if (++off == blocks_[(head_ + bi) % capacity_].size) {
            ++bi;
            off = 0;
        }
    }
    scanned_ = pos;
    return npos;
}

}  // namespace skynet
