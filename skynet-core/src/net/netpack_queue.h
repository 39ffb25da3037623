// skynet.netpack's framing: each packet is a 2-byte big-endian length followed by that many bytes, so no
// frame can exceed 65535 bytes.  Bytes arrive per connection in arbitrary pieces; complete frames are
// queued in arrival order as malloc'ed blocks for the gate to forward without another copy.
//
// A partial frame's buffer grows with the bytes that actually arrived, never to the size its header
// announces: a peer that sends "ff ff" and nothing more costs two bytes, not 64 KiB.  Nothing here can
// throw (it runs inside Lua C functions); allocation failures are reported.
#pragma once
#include <cstddef>
#include <cstdint>

namespace skynet {

class netpack_queue {
public:
    static constexpr size_t max_frame = 0xffff;

    struct frame {
        int fd;
        char* data;   // malloc'ed, owned by whoever pops the frame
        size_t size;
    };

    netpack_queue() = default;
    ~netpack_queue();
    netpack_queue(const netpack_queue&) = delete;
    netpack_queue& operator=(const netpack_queue&) = delete;

    // Splits bytes received on `fd` into frames.  False when memory ran out (the connection's partial
    // state is dropped then, as its stream can no longer be followed).
    bool feed(int fd, const uint8_t* data, size_t size);
    // The oldest complete frame; false when there is none.
    bool pop(frame& out);
    size_t queued() const { return count_; }
    // The connection ended: forget its partial frame.
    void close(int fd);
    // Frees every queued frame and partial state.
    void clear();

    // Bytes held for partial frames (for tests: proves a large header allocates nothing up front).
    size_t partial_bytes() const;

private:
    struct partial {
        int fd;
        uint8_t header[2];
        int header_got;     // 0, 1 or 2 bytes of the length read
        size_t expected;    // the frame size once the header is complete
        char* data;
        size_t got;
        size_t capacity;
        partial* next;
    };
    static constexpr size_t buckets = 256;

    partial* find(int fd, bool create);
    void drop_partial(int fd);
    bool enqueue(int fd, char* data, size_t size);

    partial* table_[buckets] = {};
    frame* frames_ = nullptr;   // ring buffer
    size_t capacity_ = 0;
    size_t head_ = 0;
    size_t count_ = 0;
};

}  // namespace skynet
