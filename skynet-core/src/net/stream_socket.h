// A byte-stream socket: a TCP connection (connected or accepted), a Unix domain socket connection
// (socket.open("unix:/path") or accepted by a Unix listener), or an OS descriptor wrapped by
// socket.bind / socket.stdin.  Lives on one network thread (see socket_entry.h).
//
// Reading: one read at a time into a fresh malloc'ed block whose size adapts to the traffic; the block is
// handed to the owner in a DATA event as it is (no copy).  pause() just stops issuing reads, so the
// kernel's receive window pushes back on the peer.
// Writing: a write_queue drained by gathered writes (one writev per batch of blocks).
// Closing: CLOSE is reported exactly once, whether the peer or the owner closed first.  After the peer
// closed its side, writes still go out (half-close); after the owner's close, pending writes go out and
// then the descriptor is closed.
#pragma once
#include "net/asio_config.h"
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <asio/ip/tcp.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/posix/stream_descriptor.hpp>

#include "net/socket_entry.h"
#include "net/write_queue.h"

namespace skynet {

template <class Stream>
class stream_socket final : public socket_entry {
public:
    stream_socket(net_thread& thread, int id, uint32_t owner, Stream stream);

    // TCP, from socket_server::connect: resolve, connect, then CONNECT(peer) or ERROR(reason).
    void connect(const std::string& host, int port);
    // Unix, from socket_server::connect_unix: connect to `path` (checked already), then CONNECT or ERROR.
    void connect_path(const std::string& path);
    // TCP, from an accept: waits, not reading, until someone start()s it.
    void accepted(const std::string& peer);
    // Descriptor, from socket_server::bind: reports CONNECT("binding") and reads at once.
    void bound();

    void start(uint32_t requester) override;
    void pause() override;
    void send(byte_buffer data, bool low_priority) override;
    void close(bool hard) override;
    void nodelay() override;
    void abandon() override;
    void describe(socket_info& info) const override;

    static constexpr size_t min_read = 64;
    static constexpr size_t max_read = 64 * 1024;

private:
    static constexpr bool is_tcp = std::is_same_v<Stream, asio::ip::tcp::socket>;
    static constexpr bool is_unix = std::is_same_v<Stream, asio::local::stream_protocol::socket>;
    static constexpr bool is_descriptor = std::is_same_v<Stream, asio::posix::stream_descriptor>;

    void on_connected();
    void start_read();
    void on_read(const asio::error_code& ec, size_t n, byte_buffer block);
    void flush();
    void on_write(const asio::error_code& ec, size_t n);
    void peer_closed();
    // The connection is gone (reset, error): report it unless CLOSE was already reported, then destroy.
    void lost(const asio::error_code& ec);
    void destroy();

    Stream stream_;
    std::optional<asio::ip::tcp::resolver> resolver_;
    write_queue queue_;
    send_warning warning_;
    std::vector<asio::const_buffer> gathered_;
    std::string peer_;
    size_t read_size_ = min_read;

    bool connected_ = false;       // I/O possible (connect done, accepted or bound)
    bool started_ = false;         // someone called start (or it reads by itself)
    bool reading_ = false;         // reads wanted: started and not paused
    bool read_in_flight_ = false;
    bool write_in_flight_ = false;
    bool read_closed_ = false;     // no more reads: the peer closed, or the owner did
    bool write_closed_ = false;    // a write failed: nothing more can be sent
    bool closing_ = false;         // the owner closed; the descriptor goes when the queue is empty
    bool close_reported_ = false;  // CLOSE (or ERROR) went to the owner
    bool dead_ = false;
    bool bound_ = false;           // a descriptor we were lent: never close() it

    uint64_t bytes_read_ = 0;
    uint64_t bytes_written_ = 0;
    uint64_t read_time_ = 0;
    uint64_t write_time_ = 0;
};

using tcp_stream = stream_socket<asio::ip::tcp::socket>;
using unix_stream = stream_socket<asio::local::stream_protocol::socket>;
using fd_stream = stream_socket<asio::posix::stream_descriptor>;

// asio's error codes that mean "the peer is gone" rather than "something is wrong".
bool is_disconnect(const asio::error_code& ec);

}  // namespace skynet
