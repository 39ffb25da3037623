// A listening stream socket: TCP, or a Unix domain socket path (socket.listen("unix:/path"), our
// extension).  It is bound at socket.listen (so errors show at once) but accepts only after start().  Each
// accepted connection gets an id and a network thread (round robin) and waits, not reading, for a service
// to start() it; the owner hears ACCEPT(new id, address): "ip:port" of the peer for TCP, and
// "unix:<listener path>" for a Unix socket, whose clients have no address of their own.
//
// When the process runs out of descriptors (EMFILE, ENFILE) accept() fails at once, again and again, as
// long as connections wait in the backlog.  Instead of spinning, the listener stops accepting and retries
// after a delay that doubles up to 2 s, logging when it pauses and when it recovers (at most one such
// pair every few seconds: when descriptors come free one by one, pause and resume alternate quickly).
//
// A Unix listener owns its socket file (unix_socket_file): it is removed when the listener closes, is
// abandoned, or is dropped by the server's stop.
#pragma once
#include "net/asio_config.h"
#include <chrono>
#include <cstdint>
#include <string>
#include <type_traits>

#include <asio/ip/tcp.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/steady_timer.hpp>

#include "net/socket_entry.h"
#include "net/unix_path.h"

namespace skynet {

template <class Protocol>
class stream_listener final : public socket_entry {
public:
    using acceptor_type = typename Protocol::acceptor;
    using socket_type = typename Protocol::socket;

    // `file` is the socket file of a Unix listener (empty for TCP).
    stream_listener(net_thread& thread, int id, uint32_t owner, acceptor_type acceptor, unix_socket_file file = {});

    // Reports CONNECT(port, address) to the owner: socket.listen is waiting for it.
    void opened();

    void start(uint32_t requester) override;
    void pause() override;
    void send(byte_buffer data, bool low_priority) override;
    void close(bool hard) override;
    void abandon() override;
    void describe(socket_info& info) const override;

    static constexpr unsigned first_backoff_ms = 50;
    static constexpr unsigned max_backoff_ms = 2000;
    static constexpr std::chrono::seconds log_interval{5};

private:
    static constexpr bool is_unix = std::is_same_v<Protocol, asio::local::stream_protocol>;

    void accept_next();
    void on_accept(const asio::error_code& ec, socket_type peer, unsigned thread_index);
    void back_off(const asio::error_code& ec, bool out_of_descriptors);
    void destroy();

    acceptor_type acceptor_;
    asio::steady_timer retry_;
    unix_socket_file file_;
    std::string address_;            // TCP: the bound ip; Unix: "unix:<path>"
    unsigned short port_ = 0;        // TCP only
    bool started_ = false;
    bool accepting_ = false;
    bool accept_in_flight_ = false;
    bool waiting_retry_ = false;
    bool dead_ = false;
    unsigned backoff_ms_ = 0;        // non-zero while recovering from EMFILE
    unsigned failed_attempts_ = 0;   // since the last "resumed" log line
    bool pause_logged_ = false;
    std::chrono::steady_clock::time_point last_pause_log_{};
    unsigned transient_errors_ = 0;  // consecutive other errors
    uint64_t accepted_ = 0;
};

using tcp_listener = stream_listener<asio::ip::tcp>;
using unix_listener = stream_listener<asio::local::stream_protocol>;

}  // namespace skynet
