#include "net/socket_event.h"

#include <cstring>

#include "core/node.h"

namespace skynet {

bool deliver_socket_event(node& n, uint32_t owner, socket_event_type type, int id, int ud, byte_buffer data,
                          std::string_view text) {
    size_t size = sizeof(socket_event) + text.size();
    auto* ev = static_cast<socket_event*>(std::malloc(size));
    if (!ev) return false;   // data is freed by its destructor
    ev->type = int32_t(type);
    ev->id = id;
    ev->ud = ud;
    ev->text_size = uint32_t(text.size());
    ev->buffer = nullptr;
    if (!text.empty()) std::memcpy(ev + 1, text.data(), text.size());
    // The block moves into the payload only now: from here the message owns it.
    ev->buffer = data.release();
    message m{0, 0, PTYPE_SOCKET, ev, size};
    if (n.deliver(owner, m)) return true;
    release_socket_event(m);
    std::free(ev);
    return false;
}

socket_event* view_socket_event(void* msg, size_t size) {
    if (!msg || size < sizeof(socket_event)) return nullptr;
    auto* ev = static_cast<socket_event*>(msg);
    if (ev->text_size > size - sizeof(socket_event)) return nullptr;
    return ev;
}

void release_socket_event(const message& m) {
    if (m.type != PTYPE_SOCKET) return;
    if (socket_event* ev = view_socket_event(m.data, m.size)) {
        std::free(ev->buffer);
        ev->buffer = nullptr;
    }
}

}  // namespace skynet
