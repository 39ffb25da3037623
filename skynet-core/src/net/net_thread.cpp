#include "net/net_thread.h"

#include "net/socket_entry.h"

namespace skynet {

// Concurrency hint 1: exactly one thread runs this io_context, so asio can skip some locking; posting
// from other threads stays safe.
net_thread::net_thread(socket_server& server, unsigned index)
    : server_(server), index_(index), io_(1), udp_scratch_(new char[udp_scratch_size]) {}

net_thread::~net_thread() { stop(); }

void net_thread::start() {
    guard_.emplace(io_.get_executor());
    thread_ = std::thread([this] { io_.run(); });
}

void net_thread::stop() {
    guard_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
    // The loop is gone: close every socket here, then run the handlers their closing aborted, so that
    // each lets go of its socket and buffers now rather than in the io_context destructor.
    auto all = std::move(sockets_);
    sockets_.clear();
    for (auto& entry : all) entry.second->abandon();
    all.clear();
    io_.restart();
    io_.poll();
}

void net_thread::add(std::shared_ptr<socket_entry> s) {
    int id = s->id();
    sockets_[id] = std::move(s);
}

std::shared_ptr<socket_entry> net_thread::find(int id) {
    auto it = sockets_.find(id);
    return it == sockets_.end() ? nullptr : it->second;
}

void net_thread::remove(int id) { sockets_.erase(id); }

void net_thread::owner_ended(uint32_t handle) {
    std::vector<std::shared_ptr<socket_entry>> owned;
    for (auto& entry : sockets_)
        if (entry.second->owner() == handle) owned.push_back(entry.second);
    for (auto& s : owned) s->abandon();
}

void net_thread::describe_all(std::vector<socket_info>& out) {
    for (auto& entry : sockets_) {
        socket_info info;
        entry.second->describe(info);
        out.push_back(std::move(info));
    }
}

}  // namespace skynet
