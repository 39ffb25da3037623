#include "net/netpack_queue.h"

#include <cstdlib>
#include <cstring>

namespace skynet {

netpack_queue::~netpack_queue() {
    clear();
    std::free(frames_);
}

netpack_queue::partial* netpack_queue::find(int fd, bool create) {
    size_t b = size_t(unsigned(fd)) % buckets;
    for (partial* p = table_[b]; p; p = p->next)
        if (p->fd == fd) return p;
    if (!create) return nullptr;
    auto* p = static_cast<partial*>(std::calloc(1, sizeof(partial)));
    if (!p) return nullptr;
    p->fd = fd;
    p->next = table_[b];
    table_[b] = p;
    return p;
}

void netpack_queue::drop_partial(int fd) {
    size_t b = size_t(unsigned(fd)) % buckets;
    for (partial** link = &table_[b]; *link; link = &(*link)->next) {
        if ((*link)->fd == fd) {
            partial* p = *link;
            *link = p->next;
            std::free(p->data);
            std::free(p);
            return;
        }
    }
}

bool netpack_queue::enqueue(int fd, char* data, size_t size) {
    if (count_ == capacity_) {
        size_t cap = capacity_ ? capacity_ * 2 : 16;
        auto* grown = static_cast<frame*>(std::malloc(cap * sizeof(frame)));
        if (!grown) return false;
        for (size_t i = 0; i < count_; ++i) grown[i] = frames_[(head_ + i) % capacity_];
        std::free(frames_);
        frames_ = grown;
        capacity_ = cap;
        head_ = 0;
    }
    frames_[(head_ + count_) % capacity_] = frame{fd, data, size};
    ++count_;
    return true;
}

bool netpack_queue::feed(int fd, const uint8_t* data, size_t size) {
    while (size > 0) {
        partial* p = find(fd, false);
        if (!p) {
            // Fast path: whole frames straight from the received bytes.
            if (size >= 2) {
                size_t len = (size_t(data[0]) << 8) | data[1];
                if (size - 2 >= len) {
                    char* copy = static_cast<char*>(std::malloc(len ? len : 1));
                    if (!copy) return false;
                    std::memcpy(copy, data + 2, len);
                    if (!enqueue(fd, copy, len)) {
                        std::free(copy);
                        return false;
                    }
                    data += 2 + len;
                    size -= 2 + len;
                    continue;
                }
            }
            p = find(fd, true);
            if (!p) return false;
        }
        // Slow path: a frame split across reads.
        while (p->header_got < 2 && size > 0) {
            p->header[p->header_got++] = *data++;
            --size;
        }
        if (p->header_got < 2) return true;
        p->expected = (size_t(p->header[0]) << 8) | p->header[1];
        size_t want = p->expected - p->got;
        size_t take = size < want ? size : want;
        if (p->got + take > p->capacity) {
            // Grow with what arrived (doubling), capped by the announced size.
            size_t cap = p->capacity ? p->capacity : 64;
            while (cap < p->got + take) cap *= 2;
            if (cap > p->expected) cap = p->expected;
            char* grown = static_cast<char*>(std::realloc(p->data, cap ? cap : 1));
            if (!grown) {
                drop_partial(fd);
                return false;
            }
            p->data = grown;
            p->capacity = cap;
        }
        if (take) std::memcpy(p->data + p->got, data, take);
        p->got += take;
        data += take;
        size -= take;
        if (p->got < p->expected) return true;
        char* done = p->data ? p->data : static_cast<char*>(std::malloc(1));
        p->data = nullptr;
        size_t done_size = p->expected;
        drop_partial(fd);
        if (!done || !enqueue(fd, done, done_size)) {
            std::free(done);
            return false;
        }
    }
    return true;
}

bool netpack_queue::pop(frame& out) {
    if (count_ == 0) return false;
    out = frames_[head_];
    head_ = (head_ + 1) % capacity_;
    --count_;
    return true;
}

void netpack_queue::close(int fd) { drop_partial(fd); }

void netpack_queue::clear() {
    for (auto& bucket : table_) {
        while (partial* p = bucket) {
            bucket = p->next;
            std::free(p->data);
            std::free(p);
        }
    }
    for (size_t i = 0; i < count_; ++i) std::free(frames_[(head_ + i) % capacity_].data);
    head_ = count_ = 0;
}

size_t netpack_queue::partial_bytes() const {
    size_t total = 0;
    for (partial* bucket : table_)
        for (partial* p = bucket; p; p = p->next) total += p->capacity;
    return total;
}

}  // namespace skynet
