// The bytes a stream socket still has to send, in two priorities (socket.write / socket.lwrite).
//
// Whatever gather() hands to the kernel is committed: if the kernel takes only part of it, the rest goes
// out before anything else, so a low-priority message is never cut by a high-priority one.  Beyond that,
// high-priority blocks always go before low-priority ones.  Pure data structure, no I/O, so it is tested on
// its own (test/unit/test_socket_buffer.cpp).
#pragma once
#include "net/asio_config.h"
#include <cstddef>
#include <deque>
#include <vector>

#include <asio/buffer.hpp>

#include "net/byte_buffer.h"

namespace skynet {

class write_queue {
public:
    // Empty blocks are dropped at once: there is nothing to send.
    void push(byte_buffer block, bool low_priority);

    // Bytes not yet accepted by the kernel.
    size_t pending() const { return pending_; }
    bool empty() const { return pending_ == 0; }

    // The next bytes to send, at most `max_blocks` blocks (one writev), in sending order.
    void gather(std::vector<asio::const_buffer>& out, size_t max_blocks);
    // The kernel accepted `n` bytes of what gather() returned; finished blocks are freed.
    void consume(size_t n);
    // Drops everything (the socket is gone).
    void clear();

private:
    std::deque<byte_buffer> committed_;   // handed to gather() already; front is partly sent
    size_t offset_ = 0;                   // bytes of committed_.front() already sent
    std::deque<byte_buffer> high_;
    std::deque<byte_buffer> low_;
    size_t pending_ = 0;
};

// The send-buffer warning (PTYPE_SOCKET WARNING): first at 1 MB pending, then each time the pending size
// doubles again, and once more with 0 when the queue drains after a warning.
class send_warning {
public:
    static constexpr size_t first_threshold = 1024 * 1024;

    // The queue has grown to `pending` bytes: the KB to report, or -1 for no warning.
    long on_grow(size_t pending);
    // The queue is empty again: true when the owner should hear "0 KB pending".
    bool on_drain();

private:
    size_t next_ = 0;   // 0: no warning given yet
};

}  // namespace skynet
