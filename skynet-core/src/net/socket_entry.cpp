#include "net/socket_entry.h"

#include "net/net_thread.h"
#include "net/socket_server.h"

namespace skynet {

bool socket_entry::notify(socket_event_type type, int ud, byte_buffer data, std::string_view text) {
    socket_server& server = thread_.server();
    // While the node shuts down nobody is left to read events; the data block is freed here.
    if (server.stopping()) return false;
    return deliver_socket_event(server.owner_node(), owner_, type, id_, ud, std::move(data), text);
}

void socket_entry::forget() {
    thread_.server().slots().release(id_);
    // Callers hold a shared_ptr to this entry (handlers capture one, requests look one up), so dropping
    // the table's reference never destroys the object under their feet.
    thread_.remove(id_);
}

}  // namespace skynet
