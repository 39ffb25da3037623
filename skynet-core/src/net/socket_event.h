// The payload of a PTYPE_SOCKET message: what the network thread tells the service that owns a socket.
//
//   offset 0   int32  type        socket_event_type (spec §5.1 numbering)
//   offset 4   int32  id          the socket id (for ACCEPT: the listening socket)
//   offset 8   int32  ud          DATA/UDP: byte count; CONNECT: port; ACCEPT: the new id; WARNING: KB pending
//   offset 12  uint32 text_size   bytes of text that follow the header
//   offset 16  void*  buffer      DATA/UDP: a malloc'ed block of `ud` bytes, else null
//   offset 24  text               CONNECT: address or "start"/"transfer"/"binding"; ACCEPT: "ip:port";
//                                 ERROR: the reason; UDP: the sender's address in udp_address form
//
// The header and text live in the message payload, which the core frees after dispatch.  The DATA/UDP
// block is separate so that the bytes read from the socket reach Lua without a copy: whoever unpacks the
// event takes the block (and the pointer in the header is cleared, so a later release cannot free it
// twice).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/message.h"
#include "net/byte_buffer.h"

namespace skynet {

class node;

enum class socket_event_type : int32_t {
    data = 1,
    connect = 2,
    close = 3,
    accept = 4,
    error = 5,
    udp = 6,
    warning = 7,
};

struct socket_event {
    int32_t type;
    int32_t id;
    int32_t ud;
    uint32_t text_size;
    void* buffer;

    std::string_view text() const { return {reinterpret_cast<const char*>(this + 1), text_size}; }
};
static_assert(sizeof(socket_event) == 24, "the payload layout is part of the Lua boundary");

// Builds the message and pushes it to `owner`.  The data block is released when the owner is gone.
bool deliver_socket_event(node& n, uint32_t owner, socket_event_type type, int id, int ud, byte_buffer data = {},
                          std::string_view text = {});

// The header of a PTYPE_SOCKET payload, or null when (msg, size) is too short to be one.
socket_event* view_socket_event(void* msg, size_t size);

// Frees the data block of an event that nobody unpacked.
void release_socket_event(const message& m);

}  // namespace skynet
