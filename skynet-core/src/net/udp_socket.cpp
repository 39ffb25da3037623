#include "net/udp_socket.h"

#include <cstring>

#include "core/node.h"
#include "net/address.h"
#include "net/net_thread.h"
#include "net/socket_server.h"

namespace skynet {

namespace {
uint64_t now_cs(net_thread& t) { return t.server().owner_node().timers().now_cs(); }
}  // namespace

udp_socket::udp_socket(net_thread& thread, int id, uint32_t owner, asio::ip::udp::socket socket)
    : socket_entry(thread, id, owner), socket_(std::move(socket)) {}

void udp_socket::opened() {
    // Reads and sends are made directly once the kernel is ready, and must never block the thread.
    asio::error_code ignore;
    socket_.non_blocking(true, ignore);
    thread_.server().slots().set_writable(id_, true);
    wait_readable();
}

void udp_socket::start(uint32_t requester) {
    owner_ = requester;
    reading_ = true;
    notify(socket_event_type::connect, 0, {}, "transfer");
    wait_readable();
}

void udp_socket::pause() { reading_ = false; }

void udp_socket::wait_readable() {
    if (!reading_ || wait_read_in_flight_ || dead_) return;
    wait_read_in_flight_ = true;
    auto self = std::static_pointer_cast<udp_socket>(shared_from_this());
    socket_.async_wait(asio::socket_base::wait_read, [self](const asio::error_code& ec) { self->on_readable(ec); });
}

void udp_socket::on_readable(const asio::error_code& ec) {
    wait_read_in_flight_ = false;
    if (dead_ || ec == asio::error::operation_aborted) return;
    char* scratch = thread_.udp_scratch();
    for (int i = 0; i < max_batch && reading_ && !dead_; ++i) {
        asio::ip::udp::endpoint from;
        asio::error_code rec;
        size_t n = socket_.receive_from(asio::buffer(scratch, net_thread::udp_scratch_size), from, 0, rec);
        if (rec == asio::error::would_block || rec == asio::error::try_again) break;
        if (rec) {
            // ICMP errors of earlier sends (ECONNREFUSED...) surface here; they concern that peer only.
            if (is_udp_peer_error(rec)) continue;
            notify(socket_event_type::error, 0, {}, rec.message());
            destroy();
            return;
        }
        void* copy = std::malloc(n ? n : 1);
        if (!copy) break;
        std::memcpy(copy, scratch, n);
        bytes_read_ += n;
        read_time_ = now_cs(thread_);
        uint8_t addr[udp_address_max];
        size_t addr_len = encode_udp_address(from, addr);
        notify(socket_event_type::udp, int(n), byte_buffer(copy, n),
               std::string_view(reinterpret_cast<const char*>(addr), addr_len));
    }
    wait_readable();
}

bool udp_socket::is_udp_peer_error(const asio::error_code& ec) {
    return ec == asio::error::connection_refused || ec == asio::error::connection_reset ||
           ec == asio::error::host_unreachable || ec == asio::error::network_unreachable;
}

void udp_socket::send(byte_buffer data, bool) {
    if (!peer_) {
        thread_.server().log("socket-server: udp socket (" + std::to_string(id_) + ") has no peer address");
        return;
    }
    send_to(std::move(data), *peer_);
}

void udp_socket::send_to(byte_buffer data, const asio::ip::udp::endpoint& to) {
    if (dead_) return;
    asio::error_code ec;
    auto local = socket_.local_endpoint(ec);
    bool v6_socket = !ec && local.address().is_v6();
    if (v6_socket != to.address().is_v6()) {
        // As skynet: a datagram for the other address family is dropped with a log line.
        thread_.server().log("socket-server: udp socket (" + std::to_string(id_) + ") error: type mismatch.");
        return;
    }
    if (queue_.empty() && try_send(data, to)) return;
    pending_ += data.size();
    queue_.emplace_back(std::move(data), to);
    long kb = warning_.on_grow(pending_);
    if (kb >= 0) notify(socket_event_type::warning, int(kb));
    wait_writable();
}

bool udp_socket::try_send(const byte_buffer& data, const asio::ip::udp::endpoint& to) {
    asio::error_code ec;
    size_t n = socket_.send_to(asio::buffer(data.data(), data.size()), to, 0, ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) return false;
    if (!ec) {
        bytes_written_ += n;
        write_time_ = now_cs(thread_);
    }
    // Any other error concerns this datagram only (UDP has no connection to lose).
    return true;
}

void udp_socket::wait_writable() {
    if (wait_write_in_flight_ || dead_ || queue_.empty()) return;
    wait_write_in_flight_ = true;
    auto self = std::static_pointer_cast<udp_socket>(shared_from_this());
    socket_.async_wait(asio::socket_base::wait_write,
                       [self](const asio::error_code& ec) { self->on_writable(ec); });
}

void udp_socket::on_writable(const asio::error_code& ec) {
    wait_write_in_flight_ = false;
    if (dead_ || ec == asio::error::operation_aborted) return;
    while (!queue_.empty()) {
        auto& front = queue_.front();
        if (!try_send(front.first, front.second)) break;
        pending_ -= front.first.size();
        queue_.pop_front();
    }
    if (!queue_.empty()) {
        wait_writable();
        return;
    }
    if (warning_.on_drain()) notify(socket_event_type::warning, 0);
}

void udp_socket::set_peer(const asio::ip::udp::endpoint& peer) { peer_ = peer; }

void udp_socket::close(bool) {
    if (dead_) return;
    notify(socket_event_type::close);
    destroy();
}

void udp_socket::abandon() { destroy(); }

void udp_socket::destroy() {
    if (dead_) return;
    dead_ = true;
    asio::error_code ignore;
    socket_.close(ignore);
    queue_.clear();
    pending_ = 0;
    forget();
}

void udp_socket::describe(socket_info& info) const {
    info.id = id_;
    info.owner = owner_;
    info.type = "UDP";
    info.read = bytes_read_;
    info.write = bytes_written_;
    info.wbuffer = pending_;
    info.rtime = read_time_;
    info.wtime = write_time_;
    info.reading = reading_;
    info.writing = wait_write_in_flight_;
    if (peer_) info.name = endpoint_text(peer_->address(), peer_->port());
    asio::error_code ec;
    auto local = socket_.local_endpoint(ec);
    if (!ec) info.local = endpoint_text(local.address(), local.port());
}

}  // namespace skynet
