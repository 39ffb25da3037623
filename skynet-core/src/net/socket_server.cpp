#include "net/socket_server.h"

#include <chrono>
#include <cstdlib>
#include <future>

#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>

#include "net/net_thread.h"
#include "net/socket_event.h"
#include "net/stream_socket.h"
#include "net/stream_listener.h"
#include "net/udp_socket.h"
#include "net/unix_path.h"

namespace skynet {

namespace {

// The address to bind for host (which may be a name): "" means every IPv4 interface, as in skynet.
template <class Protocol>
bool local_endpoint(asio::io_context& io, const std::string& host, int port, typename Protocol::endpoint& ep,
                    std::string& error) {
    asio::error_code ec;
    std::string h = host.empty() ? "0.0.0.0" : host;
    auto ip = asio::ip::make_address(h, ec);
    if (!ec) {
        ep = typename Protocol::endpoint(ip, (unsigned short)port);
        return true;
    }
    typename Protocol::resolver resolver(io);
    auto results = resolver.resolve(h, std::to_string(port), Protocol::resolver::passive, ec);
    if (ec || results.empty()) {
        error = ec ? ec.message() : "no address for " + h;
        return false;
    }
    ep = results.begin()->endpoint();
    return true;
}

template <class Protocol>
bool remote_endpoint(asio::io_context& io, const std::string& host, int port, typename Protocol::endpoint& ep,
                     std::string& error) {
    asio::error_code ec;
    auto ip = asio::ip::make_address(host, ec);
    if (!ec) {
        ep = typename Protocol::endpoint(ip, (unsigned short)port);
        return true;
    }
    typename Protocol::resolver resolver(io);
    auto results = resolver.resolve(host, std::to_string(port), ec);
    if (ec || results.empty()) {
        error = ec ? ec.message() : "no address for " + host;
        return false;
    }
    ep = results.begin()->endpoint();
    return true;
}

}  // namespace

bool socket_server::precheck(std::string& error, std::optional<int> port, int min_port) const {
    if (stopping()) {
        error = "socket server stopped";
        return false;
    }
    if (port && (*port < min_port || *port > 65535)) {
        error = "invalid port " + std::to_string(*port);
        return false;
    }
    return true;
}

int socket_server::reserve(unsigned index, std::string& error) {
    int id = slots_.reserve(index);
    if (id < 0) error = "reach skynet socket number limit";
    return id;
}

bool socket_server::abandon_if_stopping(int id) {
    if (!stopping()) return false;
    slots_.release(id);
    return true;
}

int socket_server::add_udp(unsigned index, uint32_t owner, asio::ip::udp::socket sock,
                           std::optional<asio::ip::udp::endpoint> peer, std::string& error) {
    int id = reserve(index, error);
    if (id < 0) return -1;
    // socket.udp returns before the network thread has the socket: sends made at once must not be
    // refused, and they are posted behind the registration anyway.
    slots_.set_writable(id, true);
    net_thread& th = *threads_[index];
    th.post([&th, id, owner, peer, sock = std::move(sock)]() mutable {
        if (th.server().abandon_if_stopping(id)) return;
        auto s = std::make_shared<udp_socket>(th, id, owner, std::move(sock));
        th.add(s);
        if (peer) s->set_peer(*peer);
        s->opened();
    });
    return id;
}

socket_server::socket_server(node& n, unsigned threads) : node_(n) {
    if (threads == 0) threads = 1;
    for (unsigned i = 0; i < threads; ++i) threads_.push_back(std::make_unique<net_thread>(*this, i));
    for (auto& t : threads_) t->start();
}

socket_server::~socket_server() { stop(); }

void socket_server::stop() {
    // Requests that race with the stop see the flag and drop their work (freeing its buffers).
    if (stopping_.exchange(true, std::memory_order_acq_rel)) return;
    for (auto& t : threads_) t->stop();
}

void socket_server::service_ended(uint32_t handle) {
    if (stopping()) return;
    for (auto& t : threads_) {
        net_thread* th = t.get();
        th->post([th, handle] { th->owner_ended(handle); });
    }
}

unsigned socket_server::pick_thread() {
    return next_thread_.fetch_add(1, std::memory_order_relaxed) % unsigned(threads_.size());
}

net_thread* socket_server::thread_of(int id) {
    if (!slots_.live(id)) return nullptr;
    unsigned i = slots_.thread_of(id);
    return i < threads_.size() ? threads_[i].get() : nullptr;
}

void socket_server::log(const std::string& text) { node_.log(0, text); }

// ---- TCP ----------------------------------------------------------------------------------------------

int socket_server::listen(uint32_t owner, const std::string& host, int port, int backlog, std::string& error) {
    if (!precheck(error, port)) return -1;
    unsigned index = pick_thread();
    net_thread& th = *threads_[index];
    asio::ip::tcp::endpoint ep;
    if (!local_endpoint<asio::ip::tcp>(th.io(), host, port, ep, error)) return -1;
    // Bound here, on the caller's thread, so that socket.listen fails at once on a bad or busy address;
    // from the post on, only the network thread touches the acceptor.
    asio::ip::tcp::acceptor acceptor(th.io());
    asio::error_code ec;
    acceptor.open(ep.protocol(), ec);
    if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.bind(ep, ec);
    if (!ec) acceptor.listen(backlog > 0 ? backlog : 32, ec);
    if (ec) {
        error = ec.message();
        return -1;
    }
    int id = reserve(index, error);
    if (id < 0) return -1;
    th.post([&th, id, owner, acceptor = std::move(acceptor)]() mutable {
        if (th.server().abandon_if_stopping(id)) return;
        auto l = std::make_shared<tcp_listener>(th, id, owner, std::move(acceptor));
        th.add(l);
        l->opened();
    });
    return id;
}

int socket_server::connect(uint32_t owner, const std::string& host, int port) {
    if (stopping()) return -1;
    unsigned index = pick_thread();
    int id = slots_.reserve(index);
    if (id < 0) return -1;
    // Writes may be queued at once; they wait in the socket's queue until the connection is up.
    slots_.set_writable(id, true);
    net_thread& th = *threads_[index];
    th.post([&th, id, owner, host, port] {
        if (th.server().abandon_if_stopping(id)) return;
        auto s = std::make_shared<tcp_stream>(th, id, owner, asio::ip::tcp::socket(th.io()));
        th.add(s);
        s->connect(host, port);
    });
    return id;
}

int socket_server::bind(uint32_t owner, int fd) {
    if (stopping()) return -1;
    unsigned index = pick_thread();
    int id = slots_.reserve(index);
    if (id < 0) return -1;
    net_thread& th = *threads_[index];
    th.post([&th, id, owner, fd] {
        if (th.server().abandon_if_stopping(id)) return;
        asio::posix::stream_descriptor sd(th.io());
        asio::error_code ec;
        sd.assign(fd, ec);
        if (ec) {
            // Not pollable (a regular file, a closed fd...): the owner hears why.
            sd.release();
            th.server().slots().release(id);
            deliver_socket_event(th.server().owner_node(), owner, socket_event_type::error, id, 0, {},
                                 ec.message());
            return;
        }
        auto s = std::make_shared<fd_stream>(th, id, owner, std::move(sd));
        th.add(s);
        s->bound();
    });
    return id;
}

void socket_server::start(uint32_t requester, int id) {
    if (stopping()) return;
    net_thread* th = thread_of(id);
    if (!th) {
        deliver_socket_event(node_, requester, socket_event_type::error, id, 0, {}, "invalid socket");
        return;
    }
    th->post([th, id, requester] {
        if (th->server().stopping()) return;
        if (auto s = th->find(id))
            s->start(requester);
        else
            deliver_socket_event(th->server().owner_node(), requester, socket_event_type::error, id, 0, {},
                                 "invalid socket");
    });
}

void socket_server::pause(int id) {
    if (stopping()) return;
    if (net_thread* th = thread_of(id)) {
        th->post([th, id] {
            if (auto s = th->find(id)) s->pause();
        });
    }
}

void socket_server::nodelay(int id) {
    if (stopping()) return;
    if (net_thread* th = thread_of(id)) {
        th->post([th, id] {
            if (auto s = th->find(id)) s->nodelay();
        });
    }
}

bool socket_server::send(int id, byte_buffer data, bool low_priority) {
    if (stopping() || !slots_.writable(id)) return false;
    net_thread* th = thread_of(id);
    if (!th) return false;
    th->post([th, id, low_priority, data = std::move(data)]() mutable {
        if (th->server().stopping()) return;
        if (auto s = th->find(id)) s->send(std::move(data), low_priority);
    });
    return true;
}

bool socket_server::close(int id, bool hard) {
    if (stopping()) return false;
    net_thread* th = thread_of(id);
    if (!th) return false;
    th->post([th, id, hard] {
        if (th->server().stopping()) return;
        if (auto s = th->find(id)) s->close(hard);
    });
    return true;
}

// ---- Unix domain sockets ------------------------------------------------------------------------------

int socket_server::listen_unix(uint32_t owner, const std::string& path, int backlog, std::string& error) {
    if (!precheck(error)) return -1;
    if (!check_unix_path(path, error) || !clear_stale_unix_socket(path, error)) return -1;
    unsigned index = pick_thread();
    net_thread& th = *threads_[index];
    // Bound on the caller's thread as for TCP, so that socket.listen fails at once.
    asio::local::stream_protocol::acceptor acceptor(th.io());
    asio::error_code ec;
    acceptor.open(asio::local::stream_protocol(), ec);
    if (!ec) acceptor.bind(asio::local::stream_protocol::endpoint(path), ec);
    if (ec) {
        error = path + ": " + ec.message();
        return -1;
    }
    // From here on the file is ours: every path below that drops the acceptor also removes it.
    unix_socket_file file(path);
    acceptor.listen(backlog > 0 ? backlog : 32, ec);
    if (ec) {
        error = path + ": " + ec.message();
        return -1;
    }
    int id = reserve(index, error);
    if (id < 0) return -1;
    th.post([&th, id, owner, acceptor = std::move(acceptor), file = std::move(file)]() mutable {
        if (th.server().abandon_if_stopping(id)) return;
        auto l = std::make_shared<unix_listener>(th, id, owner, std::move(acceptor), std::move(file));
        th.add(l);
        l->opened();
    });
    return id;
}

int socket_server::connect_unix(uint32_t owner, const std::string& path, std::string& error) {
    if (!precheck(error)) return -1;
    // asio throws on a path that does not fit a sockaddr_un; such a path is refused here instead.
    if (!check_unix_path(path, error)) return -1;
    unsigned index = pick_thread();
    int id = reserve(index, error);
    if (id < 0) return -1;
    slots_.set_writable(id, true);
    net_thread& th = *threads_[index];
    th.post([&th, id, owner, path] {
        if (th.server().abandon_if_stopping(id)) return;
        auto s = std::make_shared<unix_stream>(th, id, owner, asio::local::stream_protocol::socket(th.io()));
        th.add(s);
        s->connect_path(path);
    });
    return id;
}

// ---- UDP ----------------------------------------------------------------------------------------------

int socket_server::udp(uint32_t owner, const std::string& host, int port, std::string& error) {
    if (!precheck(error, port)) return -1;
    unsigned index = pick_thread();
    net_thread& th = *threads_[index];
    asio::ip::udp::socket sock(th.io());
    asio::error_code ec;
    if (host.empty()) {
        sock.open(asio::ip::udp::v4(), ec);
    } else {
        asio::ip::udp::endpoint ep;
        if (!local_endpoint<asio::ip::udp>(th.io(), host, port, ep, error)) return -1;
        sock.open(ep.protocol(), ec);
        if (!ec) sock.set_option(asio::socket_base::reuse_address(true), ec);
        if (!ec) sock.bind(ep, ec);
    }
    if (ec) {
        error = ec.message();
        return -1;
    }
    return add_udp(index, owner, std::move(sock), std::nullopt, error);
}

int socket_server::udp_dial(uint32_t owner, const std::string& host, int port, std::string& error) {
    // A peer's port: 0 names nobody.
    if (!precheck(error, port, 1)) return -1;
    unsigned index = pick_thread();
    net_thread& th = *threads_[index];
    asio::ip::udp::endpoint peer;
    if (!remote_endpoint<asio::ip::udp>(th.io(), host, port, peer, error)) return -1;
    asio::ip::udp::socket sock(th.io());
    asio::error_code ec;
    sock.open(peer.protocol(), ec);
    if (ec) {
        error = ec.message();
        return -1;
    }
    return add_udp(index, owner, std::move(sock), peer, error);
}

bool socket_server::udp_connect(int id, const std::string& host, int port) {
    std::string error;
    if (!precheck(error, port, 1)) return false;
    net_thread* th = thread_of(id);
    if (!th) return false;
    asio::ip::udp::endpoint peer;
    if (!remote_endpoint<asio::ip::udp>(th->io(), host, port, peer, error)) return false;
    th->post([th, id, peer] {
        if (auto s = th->find(id)) s->set_peer(peer);
    });
    return true;
}

bool socket_server::udp_send(int id, const asio::ip::udp::endpoint& to, byte_buffer data) {
    if (stopping() || !slots_.writable(id)) return false;
    net_thread* th = thread_of(id);
    if (!th) return false;
    th->post([th, id, to, data = std::move(data)]() mutable {
        if (th->server().stopping()) return;
        if (auto s = th->find(id)) s->send_to(std::move(data), to);
    });
    return true;
}

// ---- netstat ------------------------------------------------------------------------------------------

std::vector<socket_info> socket_server::info() {
    std::vector<socket_info> all;
    if (stopping()) return all;
    std::vector<std::future<std::vector<socket_info>>> parts;
    for (auto& t : threads_) {
        auto promise = std::make_shared<std::promise<std::vector<socket_info>>>();
        parts.push_back(promise->get_future());
        net_thread* th = t.get();
        th->post([th, promise] {
            std::vector<socket_info> mine;
            th->describe_all(mine);
            promise->set_value(std::move(mine));
        });
    }
    // Bounded: a thread that stopped meanwhile never answers, and netstat must not hang its caller.
    for (auto& f : parts) {
        if (f.wait_for(std::chrono::seconds(2)) != std::future_status::ready) continue;
        try {
            for (auto& i : f.get()) all.push_back(std::move(i));
        } catch (const std::future_error&) {
            // the request was dropped unrun because the thread stopped
        }
    }
    return all;
}

std::unique_ptr<node_component> make_socket_server(node& n) {
    std::string v = n.environment().get_or_set("socket_threads", "1");
    long count = std::strtol(v.c_str(), nullptr, 10);
    if (count < 1) count = 1;
    if (count > 64) count = 64;
    return std::make_unique<socket_server>(n, unsigned(count));
}

}  // namespace skynet
