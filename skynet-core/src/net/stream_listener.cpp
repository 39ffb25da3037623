#include "net/stream_listener.h"

#include <cerrno>

#include "core/node.h"
#include "net/address.h"
#include "net/net_thread.h"
#include "net/socket_server.h"
#include "net/stream_socket.h"

namespace skynet {

template <class Protocol>
stream_listener<Protocol>::stream_listener(net_thread& thread, int id, uint32_t owner, acceptor_type acceptor,
                                           unix_socket_file file)
    : socket_entry(thread, id, owner), acceptor_(std::move(acceptor)), retry_(thread.io()), file_(std::move(file)) {
    asio::error_code ec;
    auto ep = acceptor_.local_endpoint(ec);
    if (ec) return;
    if constexpr (is_unix) {
        address_ = unix_address_text(ep.path());
    } else {
        address_ = ep.address().to_string();
        port_ = ep.port();
    }
}

template <class Protocol>
void stream_listener<Protocol>::opened() {
    notify(socket_event_type::connect, port_, {}, address_);
}

template <class Protocol>
void stream_listener<Protocol>::start(uint32_t requester) {
    bool first = !started_;
    owner_ = requester;
    started_ = true;
    accepting_ = true;
    notify(socket_event_type::connect, 0, {}, first ? "start" : "transfer");
    accept_next();
}

template <class Protocol>
void stream_listener<Protocol>::pause() {
    accepting_ = false;
    asio::error_code ignore;
    acceptor_.cancel(ignore);
}

template <class Protocol>
void stream_listener<Protocol>::send(byte_buffer, bool) {
    thread_.server().log("socket-server error: write to listen fd " + std::to_string(id_));
}

template <class Protocol>
void stream_listener<Protocol>::accept_next() {
    if (!accepting_ || accept_in_flight_ || waiting_retry_ || dead_) return;
    socket_server& server = thread_.server();
    unsigned index = server.pick_thread();
    accept_in_flight_ = true;
    auto self = std::static_pointer_cast<stream_listener>(shared_from_this());
    // The connection is accepted straight onto the io_context of the thread that will own it.
    acceptor_.async_accept(server.thread(index).io(),
                           [self, index](const asio::error_code& ec, socket_type peer) {
                               self->on_accept(ec, std::move(peer), index);
                           });
}

template <class Protocol>
void stream_listener<Protocol>::on_accept(const asio::error_code& ec, socket_type peer, unsigned thread_index) {
    accept_in_flight_ = false;
    if (dead_) return;
    if (ec) {
        if (ec == asio::error::operation_aborted) return;
        bool no_fd = ec == asio::error::no_descriptors || ec.value() == ENFILE ||
                     ec == asio::error::no_buffer_space || ec == asio::error::no_memory;
        // Errors such as ECONNABORTED (the client gave up while waiting) are harmless; still, a run of
        // them is treated like EMFILE so that no error can make this loop spin.
        if (no_fd || ++transient_errors_ > 16)
            back_off(ec, no_fd);
        else
            accept_next();
        return;
    }
    transient_errors_ = 0;
    if (backoff_ms_) {
        backoff_ms_ = 0;
        if (pause_logged_) {
            thread_.server().log("socket: accept on listen socket " + std::to_string(id_) + " resumed after " +
                                 std::to_string(failed_attempts_) + " failed attempts");
            pause_logged_ = false;
            failed_attempts_ = 0;
        }
    }
    socket_server& server = thread_.server();
    // The address the owner hears: TCP peers have one (and a peer that already reset has none: such a
    // connection is dropped here); Unix clients are unnamed, so they go by the listener's path.
    std::string text;
    asio::error_code perr;
    if constexpr (is_unix) {
        text = address_;
    } else {
        auto remote = peer.remote_endpoint(perr);
        if (!perr) text = endpoint_text(remote.address(), remote.port());
    }
    int nid = perr ? -1 : server.slots().reserve(thread_index);
    if (nid < 0) {
        if (!perr) server.log("socket-server: too many sockets, connection refused");
        asio::error_code ignore;
        peer.close(ignore);
        accept_next();
        return;
    }
    ++accepted_;
    // Writable before anyone hears of the id: a write posted right after the ACCEPT event queues behind
    // the registration below on the same thread.
    server.slots().set_writable(nid, true);
    net_thread& target = server.thread(thread_index);
    uint32_t owner = owner_;
    // The socket must be in its thread's table before the owner hears of it, since the owner's start()
    // is posted right after.  On this very thread that means now: a post made from inside a handler goes
    // to asio's thread-private queue, which may run after posts other threads make in the meantime.
    // Another thread's queue is plain FIFO for posts from here, so there a post is enough.
    auto adopt = [&target, nid, owner, text](socket_type& sock) {
        auto s = std::make_shared<stream_socket<socket_type>>(target, nid, owner, std::move(sock));
        target.add(s);
        s->accepted(text);
    };
    if (&target == &thread_) {
        adopt(peer);
    } else {
        target.post([&target, nid, adopt, peer = std::move(peer)]() mutable {
            if (target.server().abandon_if_stopping(nid)) return;
            adopt(peer);
        });
    }
    if (!notify(socket_event_type::accept, nid, {}, text)) {
        // The owner is gone: nobody will ever start or close this connection.
        target.post([&target, nid] {
            if (auto s = target.find(nid)) s->abandon();
        });
    }
    accept_next();
}

template <class Protocol>
void stream_listener<Protocol>::back_off(const asio::error_code& ec, bool out_of_descriptors) {
    ++failed_attempts_;
    if (backoff_ms_ == 0) {
        backoff_ms_ = first_backoff_ms;
        auto now = std::chrono::steady_clock::now();
        if (!pause_logged_ && now - last_pause_log_ >= log_interval) {
            last_pause_log_ = now;
            pause_logged_ = true;
            thread_.server().log("socket: accept on listen socket " + std::to_string(id_) + " failed (" +
                                 ec.message() + "); accepting paused, retrying with back-off" +
                                 (out_of_descriptors ? " until descriptors are free" : ""));
        }
    } else if (backoff_ms_ < max_backoff_ms) {
        backoff_ms_ = backoff_ms_ * 2 > max_backoff_ms ? max_backoff_ms : backoff_ms_ * 2;
    }
    transient_errors_ = 0;
    waiting_retry_ = true;
    retry_.expires_after(std::chrono::milliseconds(backoff_ms_));
    auto self = std::static_pointer_cast<stream_listener>(shared_from_this());
    retry_.async_wait([self](const asio::error_code& e) {
        self->waiting_retry_ = false;
        if (e || self->dead_) return;
        self->accept_next();
    });
}

template <class Protocol>
void stream_listener<Protocol>::close(bool) {
    if (dead_) return;
    // Closed first, so that when the owner hears CLOSE the port is free and a Unix socket file is gone.
    destroy();
    notify(socket_event_type::close);
}

template <class Protocol>
void stream_listener<Protocol>::abandon() { destroy(); }

template <class Protocol>
void stream_listener<Protocol>::destroy() {
    if (dead_) return;
    dead_ = true;
    asio::error_code ignore;
    retry_.cancel();
    acceptor_.close(ignore);
    file_.reset();
    forget();
}

template <class Protocol>
void stream_listener<Protocol>::describe(socket_info& info) const {
    info.id = id_;
    info.owner = owner_;
    info.type = "LISTEN";
    info.read = accepted_;
    info.reading = accepting_;
    info.name = is_unix ? address_ : address_ + ":" + std::to_string(port_);
}

template class stream_listener<asio::ip::tcp>;
template class stream_listener<asio::local::stream_protocol>;

}  // namespace skynet
