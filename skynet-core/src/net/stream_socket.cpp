#include "net/stream_socket.h"

#include <asio/connect.hpp>

#include "core/node.h"
#include "net/address.h"
#include "net/net_thread.h"
#include "net/socket_server.h"
#include "net/unix_path.h"

namespace skynet {

bool is_disconnect(const asio::error_code& ec) {
    return ec == asio::error::eof || ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
           ec == asio::error::connection_aborted || ec == asio::error::timed_out ||
           ec == asio::error::not_connected || ec == asio::error::shut_down;
}

namespace {
// One writev worth of blocks (asio passes at most 64 buffers to the kernel per operation).
constexpr size_t max_gather = 64;

uint64_t now_cs(net_thread& t) { return t.server().owner_node().timers().now_cs(); }
}  // namespace

template <class Stream>
stream_socket<Stream>::stream_socket(net_thread& thread, int id, uint32_t owner, Stream stream)
    : socket_entry(thread, id, owner), stream_(std::move(stream)) {}

template <class Stream>
void stream_socket<Stream>::connect(const std::string& host, int port) {
    if constexpr (is_tcp) {
        // A connected socket reads by itself (socket.open needs no start) and takes writes at once; they
        // wait in the queue until the connection is up.
        started_ = true;
        reading_ = true;
        thread_.server().slots().set_writable(id_, true);
        auto self = std::static_pointer_cast<stream_socket>(shared_from_this());
        auto connected = [self](const asio::error_code& ec, const asio::ip::tcp::endpoint& ep) {
            if (self->dead_) return;
            if (ec) {
                self->lost(ec);
                return;
            }
            self->peer_ = endpoint_text(ep.address(), ep.port());
            self->on_connected();
            self->notify(socket_event_type::connect, 0, {}, ep.address().to_string());
            self->start_read();
            self->flush();
        };
        asio::error_code ec;
        auto ip = asio::ip::make_address(host, ec);
        if (!ec) {
            // A numeric address needs no resolver (asio resolves on a helper thread).
            asio::ip::tcp::endpoint ep(ip, (unsigned short)port);
            stream_.async_connect(ep, [connected, ep](const asio::error_code& e) { connected(e, ep); });
            return;
        }
        resolver_.emplace(thread_.io());
        resolver_->async_resolve(host, std::to_string(port),
                                 [self, connected](const asio::error_code& e,
                                                   asio::ip::tcp::resolver::results_type results) {
                                     if (self->dead_) return;
                                     if (e) {
                                         self->lost(e);
                                         return;
                                     }
                                     asio::async_connect(self->stream_, results, connected);
                                 });
    }
}

template <class Stream>
void stream_socket<Stream>::connect_path(const std::string& path) {
    if constexpr (is_unix) {
        // As for TCP: reads by itself once connected, and writes queue until then.
        started_ = true;
        reading_ = true;
        thread_.server().slots().set_writable(id_, true);
        peer_ = unix_address_text(path);
        auto self = std::static_pointer_cast<stream_socket>(shared_from_this());
        stream_.async_connect(asio::local::stream_protocol::endpoint(path), [self](const asio::error_code& ec) {
            if (self->dead_) return;
            if (ec) {
                self->lost(ec);
                return;
            }
            self->on_connected();
            self->notify(socket_event_type::connect, 0, {}, self->peer_);
            self->start_read();
            self->flush();
        });
    }
}

template <class Stream>
void stream_socket<Stream>::on_connected() {
    connected_ = true;
    if constexpr (is_tcp) {
        // Nagle's delay only hurts the request/response traffic services do; skynet code that calls
        // nodelay() explicitly gets the same thing.
        asio::error_code ignore;
        stream_.set_option(asio::ip::tcp::no_delay(true), ignore);
        stream_.set_option(asio::socket_base::keep_alive(true), ignore);
    }
}

template <class Stream>
void stream_socket<Stream>::accepted(const std::string& peer) {
    peer_ = peer;
    on_connected();
    thread_.server().slots().set_writable(id_, true);
}

template <class Stream>
void stream_socket<Stream>::bound() {
    bound_ = true;
    connected_ = true;
    started_ = true;
    reading_ = true;
    thread_.server().slots().set_writable(id_, true);
    notify(socket_event_type::connect, 0, {}, "binding");
    start_read();
}

template <class Stream>
void stream_socket<Stream>::start(uint32_t requester) {
    if (read_closed_) {
        // The socket closed while it was being handed over (skynet #1374): the new owner hears so.
        deliver_socket_event(thread_.server().owner_node(), requester, socket_event_type::error, id_, 0, {},
                             "socket closed");
        return;
    }
    bool first = !started_;
    owner_ = requester;
    started_ = true;
    reading_ = true;
    if (!connected_) return;   // still connecting: the CONNECT event will go to the new owner
    notify(socket_event_type::connect, 0, {}, first ? "start" : "transfer");
    start_read();
}

template <class Stream>
void stream_socket<Stream>::pause() {
    reading_ = false;
}

template <class Stream>
void stream_socket<Stream>::start_read() {
    if (!reading_ || read_in_flight_ || read_closed_ || dead_ || !connected_) return;
    void* p = std::malloc(read_size_);
    if (!p) {
        lost(asio::error::no_memory);
        return;
    }
    byte_buffer block(p, read_size_);
    read_in_flight_ = true;
    auto self = std::static_pointer_cast<stream_socket>(shared_from_this());
    auto target = asio::buffer(block.data(), block.size());
    stream_.async_read_some(target, [self, block = std::move(block)](const asio::error_code& ec,
                                                                      size_t n) mutable {
        self->on_read(ec, n, std::move(block));
    });
}

template <class Stream>
void stream_socket<Stream>::on_read(const asio::error_code& ec, size_t n, byte_buffer block) {
    read_in_flight_ = false;
    if (dead_) return;
    if (n > 0 && !read_closed_) {
        bytes_read_ += n;
        read_time_ = now_cs(thread_);
        size_t capacity = block.size();
        // Grow while reads fill the block, shrink when they use less than half of it.
        if (n == capacity && read_size_ < max_read)
            read_size_ *= 2;
        else if (n * 2 < capacity && read_size_ > min_read)
            read_size_ /= 2;
        notify(socket_event_type::data, int(n), byte_buffer(block.release(), n));
    }
    if (ec) {
        if (ec == asio::error::operation_aborted) return;
        if (ec == asio::error::eof)
            peer_closed();
        else
            lost(ec);
        return;
    }
    start_read();
}

template <class Stream>
void stream_socket<Stream>::peer_closed() {
    read_closed_ = true;
    if (!close_reported_) {
        close_reported_ = true;
        notify(socket_event_type::close);
    }
    // Half-closed: the owner may still write; the descriptor goes when the owner closes it.
    if (write_closed_ || closing_) destroy();
}

template <class Stream>
void stream_socket<Stream>::lost(const asio::error_code& ec) {
    if (!close_reported_) {
        close_reported_ = true;
        if (is_disconnect(ec) && connected_)
            notify(socket_event_type::close);
        else
            notify(socket_event_type::error, 0, {}, ec.message());
    }
    destroy();
}

template <class Stream>
void stream_socket<Stream>::send(byte_buffer data, bool low_priority) {
    if (dead_ || closing_ || write_closed_) return;
    queue_.push(std::move(data), low_priority);
    long kb = warning_.on_grow(queue_.pending());
    if (kb >= 0) notify(socket_event_type::warning, int(kb > INT32_MAX ? INT32_MAX : kb));
    flush();
}

template <class Stream>
void stream_socket<Stream>::flush() {
    if (write_in_flight_ || dead_ || !connected_ || queue_.empty()) return;
    queue_.gather(gathered_, max_gather);
    write_in_flight_ = true;
    auto self = std::static_pointer_cast<stream_socket>(shared_from_this());
    stream_.async_write_some(gathered_, [self](const asio::error_code& ec, size_t n) { self->on_write(ec, n); });
}

template <class Stream>
void stream_socket<Stream>::on_write(const asio::error_code& ec, size_t n) {
    write_in_flight_ = false;
    if (dead_) return;
    if (ec) {
        if (ec == asio::error::operation_aborted) return;
        write_closed_ = true;
        queue_.clear();
        thread_.server().slots().set_writable(id_, false);
        // While reads go on, the read side meets the same end and reports it with any data still unread;
        // otherwise nobody else will notice, so report it here.
        if (closing_ || read_closed_ || !reading_) lost(ec);
        return;
    }
    bytes_written_ += n;
    write_time_ = now_cs(thread_);
    queue_.consume(n);
    if (!queue_.empty()) {
        flush();
        return;
    }
    if (closing_) {
        destroy();
        return;
    }
    if (warning_.on_drain()) notify(socket_event_type::warning, 0);
}

template <class Stream>
void stream_socket<Stream>::close(bool hard) {
    if (dead_) return;
    if (!close_reported_) {
        close_reported_ = true;
        notify(socket_event_type::close);
    }
    read_closed_ = true;
    if (hard || queue_.empty() || write_closed_ || !connected_) {
        destroy();
        return;
    }
    closing_ = true;
    thread_.server().slots().set_writable(id_, false);
}

template <class Stream>
void stream_socket<Stream>::nodelay() {
    if constexpr (is_tcp) {
        asio::error_code ignore;
        stream_.set_option(asio::ip::tcp::no_delay(true), ignore);
    }
}

template <class Stream>
void stream_socket<Stream>::abandon() {
    destroy();
}

template <class Stream>
void stream_socket<Stream>::destroy() {
    if (dead_) return;
    dead_ = true;
    asio::error_code ignore;
    if (resolver_) resolver_->cancel();
    if constexpr (is_descriptor) {
        // A lent descriptor (stdin...) stays open for whoever lent it; only our registration goes.
        if (bound_) {
            stream_.cancel(ignore);
            stream_.release();
        }
    }
    stream_.close(ignore);
    queue_.clear();
    forget();
}

template <class Stream>
void stream_socket<Stream>::describe(socket_info& info) const {
    info.id = id_;
    info.owner = owner_;
    info.type = is_tcp ? "TCP" : is_unix ? "UNIX" : "BIND";
    info.read = bytes_read_;
    info.write = bytes_written_;
    info.wbuffer = queue_.pending();
    info.rtime = read_time_;
    info.wtime = write_time_;
    info.reading = reading_ && !read_closed_;
    info.writing = write_in_flight_;
    info.name = peer_;
    if constexpr (is_tcp) {
        asio::error_code ec;
        auto local = stream_.local_endpoint(ec);
        if (!ec) info.local = endpoint_text(local.address(), local.port());
    } else if constexpr (is_unix) {
        // An accepted connection is on the listener's path; a connecting one is unnamed.
        asio::error_code ec;
        auto local = stream_.local_endpoint(ec);
        if (!ec && !local.path().empty()) info.local = unix_address_text(local.path());
    }
}

template class stream_socket<asio::ip::tcp::socket>;
template class stream_socket<asio::local::stream_protocol::socket>;
template class stream_socket<asio::posix::stream_descriptor>;

}  // namespace skynet
