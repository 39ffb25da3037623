// A socket as its network thread sees it.  Every member is touched only by that thread; workers reach a
// socket by posting a request to the thread (socket_server), never directly.  Handlers of pending
// operations hold a shared_ptr, so an entry outlives its removal from the thread's table until they ran.
#pragma once
#include "net/asio_config.h"
#include <cstdint>
#include <memory>
#include <string_view>

#include <asio/ip/udp.hpp>

#include "net/byte_buffer.h"
#include "net/socket_event.h"
#include "net/socket_info.h"

namespace skynet {

class net_thread;

class socket_entry : public std::enable_shared_from_this<socket_entry> {
public:
    socket_entry(net_thread& thread, int id, uint32_t owner) : thread_(thread), id_(id), owner_(owner) {}
    virtual ~socket_entry() = default;
    socket_entry(const socket_entry&) = delete;
    socket_entry& operator=(const socket_entry&) = delete;

    int id() const { return id_; }
    uint32_t owner() const { return owner_; }

    // driver.start: begin (or resume) reading / accepting; `requester` becomes the owner.
    virtual void start(uint32_t requester) = 0;
    // driver.pause: stop reading until the next start.
    virtual void pause() {}
    // driver.send / lsend (to the default peer for UDP).
    virtual void send(byte_buffer data, bool low_priority) = 0;
    // driver.udp_send
    virtual void send_to(byte_buffer, const asio::ip::udp::endpoint&) {}
    // driver.udp_connect / udp_dial: the default peer of a UDP socket.
    virtual void set_peer(const asio::ip::udp::endpoint&) {}
    // driver.close (hard = false: pending writes go out first) / driver.shutdown (hard = true).
    virtual void close(bool hard) = 0;
    virtual void nodelay() {}
    // The owner is gone or the server stops: close at once and tell nobody.
    virtual void abandon() = 0;
    virtual void describe(socket_info& info) const = 0;

protected:
    // Sends an event to the owner; false when it could not be delivered (the owner is gone).
    bool notify(socket_event_type type, int ud = 0, byte_buffer data = {}, std::string_view text = {});
    // Forgets the socket: its id is released and the thread drops its reference.
    void forget();

    net_thread& thread_;
    const int id_;
    uint32_t owner_;
};

}  // namespace skynet
