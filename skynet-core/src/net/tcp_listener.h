// A listening TCP socket.  It is bound at socket.listen (so errors show at once) but accepts only after
// start().  Each accepted connection gets an id and a network thread (round robin) and waits, not
// reading, for a service to start() it; the owner hears ACCEPT(new id, "ip:port").
//
// When the process runs out of descriptors (EMFILE, ENFILE) accept() fails at once, again and again, as
// long as connections wait in the backlog.  Instead of spinning, the listener stops accepting and retries
// after a delay that doubles up to 2 s, logging when it pauses and when it recovers (at most one such
// pair every few seconds: when descriptors come free one by one, pause and resume alternate quickly).
#pragma once
#include "net/asio_config.h"
#include <chrono>
#include <cstdint>
#include <string>

#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include "net/socket_entry.h"

namespace skynet {

class tcp_listener final : public socket_entry {
public:
    tcp_listener(net_thread& thread, int id, uint32_t owner, asio::ip::tcp::acceptor acceptor);

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
    void accept_next();
    void on_accept(const asio::error_code& ec, asio::ip::tcp::socket peer, unsigned thread_index);
    void back_off(const asio::error_code& ec, bool out_of_descriptors);
    void destroy();

    asio::ip::tcp::acceptor acceptor_;
    asio::steady_timer retry_;
    std::string address_;
    unsigned short port_ = 0;
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

}  // namespace skynet
