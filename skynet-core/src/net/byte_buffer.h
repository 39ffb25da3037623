// A malloc'ed block of bytes with one owner.  Socket data crosses threads (worker -> network thread ->
// service) as raw malloc blocks because that is what Lua and the message payloads use; this type makes the
// ownership of such a block visible and frees it on every path that drops it.
#pragma once
#include <cstddef>
#include <cstdlib>
#include <utility>

namespace skynet {

class byte_buffer {
public:
    byte_buffer() = default;
    // Adopts `data` (which must come from malloc, or be null).
    byte_buffer(void* data, size_t size) : data_(static_cast<char*>(data)), size_(size) {}
    ~byte_buffer() { std::free(data_); }

    byte_buffer(byte_buffer&& o) noexcept : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}
    byte_buffer& operator=(byte_buffer&& o) noexcept {
        if (this != &o) {
            std::free(data_);
            data_ = std::exchange(o.data_, nullptr);
            size_ = std::exchange(o.size_, 0);
        }
        return *this;
    }
    byte_buffer(const byte_buffer&) = delete;
    byte_buffer& operator=(const byte_buffer&) = delete;

    char* data() const { return data_; }
    size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }

    // Gives the block up: the caller frees it from now on.
    char* release() {
        size_ = 0;
        return std::exchange(data_, nullptr);
    }

private:
    char* data_ = nullptr;
    size_t size_ = 0;
};

}  // namespace skynet
