// A message between services.  Plain data so that mailboxes can move it around cheaply; the payload is a
// malloc'ed buffer owned by whoever holds the message (mailbox, then the receiving dispatch, which frees it
// unless the receiver took it over and cleared `data`).
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdlib>

namespace skynet {

enum ptype : int {
    PTYPE_TEXT = 0,
    PTYPE_RESPONSE = 1,
    PTYPE_MULTICAST = 2,
    PTYPE_CLIENT = 3,
    PTYPE_SYSTEM = 4,
    PTYPE_HARBOR = 5,
    PTYPE_SOCKET = 6,
    PTYPE_ERROR = 7,
    PTYPE_QUEUE = 8,
    PTYPE_DEBUG = 9,
    PTYPE_LUA = 10,
    PTYPE_SNAX = 11,
    PTYPE_TRACE = 12,
};

// skynet's C API tags, kept for source compatibility of the Lua binding: DONTCOPY hands the buffer over,
// ALLOCSESSION asks the sender's service for a fresh session.
constexpr int PTYPE_TAG_DONTCOPY = 0x10000;
constexpr int PTYPE_TAG_ALLOCSESSION = 0x20000;

// The largest payload a message may carry (skynet's MESSAGE_TYPE_MASK: 2^56 - 1).
constexpr size_t max_message_size = (size_t(1) << 56) - 1;

struct message {
    uint32_t source = 0;
    int32_t session = 0;
    int type = 0;
    void* data = nullptr;
    size_t size = 0;

    void free_payload() {
        std::free(data);
        data = nullptr;
        size = 0;
    }
};

}  // namespace skynet
