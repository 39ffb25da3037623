// The unread bytes of one socket on the Lua side (driver.buffer / push / pop / readline / readall).
//
// DATA events arrive as malloc'ed blocks; the buffer keeps them as they are, in a ring of blocks, and
// copies bytes out only when Lua asks for a string.  Nothing here can throw: growth uses realloc and
// reports failure, because these functions run inside Lua C functions.
#pragma once
#include <cstddef>
#include <string_view>

namespace skynet {

class read_buffer {
public:
    read_buffer() = default;
    ~read_buffer();
    read_buffer(const read_buffer&) = delete;
    read_buffer& operator=(const read_buffer&) = delete;

    // Takes ownership of a malloc'ed block.  False (ownership not taken) when memory runs out.
    bool push(char* data, size_t size);
    size_t size() const { return size_; }

    // The first n bytes when they lie in one block (so they can be used in place), else null.
    const char* contiguous(size_t n) const;
    // Copies the first n bytes (n <= size()) to out.
    void copy(char* out, size_t n) const;
    // Discards the first n bytes (n <= size()), freeing the blocks they emptied.
    void drop(size_t n);
    void clear();

    static constexpr size_t npos = size_t(-1);
    // Offset of the first occurrence of sep, or npos.  Repeated searches for the same separator resume
    // where the last one gave up, so a long line arriving in many pieces is scanned once, not once per
    // piece.
    size_t find(std::string_view sep);

private:
    struct block {
        char* data;
        size_t size;
    };
    char byte_at(size_t block_index, size_t offset) const;

    block* blocks_ = nullptr;   // ring buffer of capacity_ entries
    size_t capacity_ = 0;
    size_t head_ = 0;           // index of the first block
    size_t count_ = 0;
    size_t offset_ = 0;         // bytes of the first block already consumed
    size_t size_ = 0;

    // The find() memo: bytes before scanned_ cannot start `last_sep_`.
    char last_sep_[16] = {};
    size_t last_sep_len_ = 0;
    size_t scanned_ = 0;
};

}  // namespace skynet
