// The socket server: skynet's socket layer on standalone asio (spec §5).
//
// A node_component that owns `socket_threads` network threads (config key, default 1).  The functions
// below are called by services on worker threads (through skynet.socketdriver); each checks the id,
// then posts the work to the network thread that owns the socket, so sockets are only ever touched by
// one thread.  Results come back to the owning service as PTYPE_SOCKET messages (net/socket_event.h).
//
// An id that is stale (closed, even if its slot was reused) or was never handed out is rejected before
// anything is posted: send returns false, close and the others do nothing.
#pragma once
#include "net/asio_config.h"
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <asio/ip/udp.hpp>

#include "core/node.h"
#include "net/byte_buffer.h"
#include "net/socket_info.h"
#include "net/socket_slots.h"

namespace skynet {

class net_thread;

class socket_server final : public node_component {
public:
    socket_server(node& n, unsigned threads);
    ~socket_server() override;

    void stop() override;
    void service_ended(uint32_t handle) override;

    // ---- TCP ----
    // Binds and listens at once (so a bad address fails here), then reports CONNECT(port, address) to
    // `owner`.  Accepting starts with start().  -1 and `error` on failure.
    int listen(uint32_t owner, const std::string& host, int port, int backlog, std::string& error);
    // Connects in the background: CONNECT(peer address) or ERROR(reason) follows.  -1 when out of ids.
    int connect(uint32_t owner, const std::string& host, int port);

    // ---- Unix domain sockets (our extension: socket.listen / socket.open of "unix:<path>") ----
    // As listen(), on a socket file at `path` (see net/unix_path.h: a stale file is removed first, a path
    // that is not a socket is refused).  CONNECT(0, "unix:<path>") follows.  -1 and `error` on failure.
    int listen_unix(uint32_t owner, const std::string& path, int backlog, std::string& error);
    // As connect(): CONNECT("unix:<path>") or ERROR(reason) follows.  -1 and `error` for a malformed path
    // or when out of ids.
    int connect_unix(uint32_t owner, const std::string& path, std::string& error);
    // Wraps an OS descriptor (socket.stdin); CONNECT("binding") follows.  -1 when out of ids.
    int bind(uint32_t owner, int fd);
    // Starts reading (accepting) or resumes a paused socket; the requester becomes the owner.
    void start(uint32_t requester, int id);
    void pause(int id);
    void nodelay(int id);
    // Queues data; false (and the data dropped) when the id cannot take writes.
    bool send(int id, byte_buffer data, bool low_priority);
    // close: pending writes still go out; shutdown: drop them.  Both report CLOSE once.  False for a stale id.
    bool close(int id, bool hard);

    // ---- UDP ----
    // A UDP socket, bound when host is not empty; reading starts at once.  -1 and `error` on failure.
    int udp(uint32_t owner, const std::string& host, int port, std::string& error);
    // A UDP socket whose default peer is host:port (socket.udp_dial).
    int udp_dial(uint32_t owner, const std::string& host, int port, std::string& error);
    // Sets the default peer used by send(); false when the id is stale or host:port does not resolve.
    bool udp_connect(int id, const std::string& host, int port);
    bool udp_send(int id, const asio::ip::udp::endpoint& to, byte_buffer data);

    // socket.netstat(): every socket of every thread.
    std::vector<socket_info> info();

    // ---- for the network threads ----
    node& owner_node() { return node_; }
    socket_slots& slots() { return slots_; }
    net_thread& thread(unsigned i) { return *threads_[i]; }
    // The thread that gets the next new socket (round robin).
    unsigned pick_thread();
    bool stopping() const { return stopping_.load(std::memory_order_acquire); }
    // For a registration posted to a network thread: when the server stopped since the slot was reserved,
    // frees the slot and returns true (the socket is dropped with the lambda).
    bool abandon_if_stopping(int id);
    void log(const std::string& text);

private:
    // What every entry point that opens or aims a socket checks first: the server still runs, and the
    // port, when the call takes one, is within min_port..65535 (min_port 1 for a peer's port).  False
    // with `error` set otherwise.
    bool precheck(std::string& error, std::optional<int> port = std::nullopt, int min_port = 0) const;
    net_thread* thread_of(int id);
    // A slot on thread `index`, or -1 with skynet's "reach skynet socket number limit" in `error`.
    int reserve(unsigned index, std::string& error);
    // Registers an opened UDP socket on thread `index`, aimed at `peer` when given; its id, or -1.
    int add_udp(unsigned index, uint32_t owner, asio::ip::udp::socket sock,
                std::optional<asio::ip::udp::endpoint> peer, std::string& error);

    node& node_;
    socket_slots slots_;
    std::vector<std::unique_ptr<net_thread>> threads_;
    std::atomic<unsigned> next_thread_{0};
    std::atomic<bool> stopping_{false};
};

// Reads `socket_threads` from the node's environment (default 1, written back like skynet's opt* keys).
std::unique_ptr<node_component> make_socket_server(node& n);

}  // namespace skynet
