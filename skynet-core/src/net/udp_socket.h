// A UDP socket.  Every datagram becomes one UDP event carrying a copy of the bytes and the sender's
// binary address (datagrams are read into a per-thread scratch area, so the copy is exactly the
// datagram's size).  Sends go out at once when the kernel takes them, else they wait in a queue.
#pragma once
#include "net/asio_config.h"
#include <cstdint>
#include <deque>
#include <optional>
#include <utility>

#include <asio/ip/udp.hpp>

#include "net/socket_entry.h"
#include "net/write_queue.h"

namespace skynet {

class udp_socket final : public socket_entry {
public:
    udp_socket(net_thread& thread, int id, uint32_t owner, asio::ip::udp::socket socket);

    // Starts reading (a UDP socket needs no start()).
    void opened();

    void start(uint32_t requester) override;
    void pause() override;
    void send(byte_buffer data, bool low_priority) override;
    void send_to(byte_buffer data, const asio::ip::udp::endpoint& to) override;
    void set_peer(const asio::ip::udp::endpoint& peer) override;
    void close(bool hard) override;
    void abandon() override;
    void describe(socket_info& info) const override;

    // Datagrams read per readiness notification, so one busy socket cannot hold its thread forever.
    static constexpr int max_batch = 64;

private:
    void wait_readable();
    void on_readable(const asio::error_code& ec);
    void wait_writable();
    void on_writable(const asio::error_code& ec);
    // True when sent or dropped for good; false when the kernel said "try later".
    bool try_send(const byte_buffer& data, const asio::ip::udp::endpoint& to);
    void destroy();
    static bool is_udp_peer_error(const asio::error_code& ec);

    asio::ip::udp::socket socket_;
    std::optional<asio::ip::udp::endpoint> peer_;
    std::deque<std::pair<byte_buffer, asio::ip::udp::endpoint>> queue_;
    size_t pending_ = 0;
    send_warning warning_;
    bool reading_ = true;
    bool wait_read_in_flight_ = false;
    bool wait_write_in_flight_ = false;
    bool dead_ = false;
    uint64_t bytes_read_ = 0;
    uint64_t bytes_written_ = 0;
    uint64_t read_time_ = 0;
    uint64_t write_time_ = 0;
};

}  // namespace skynet
