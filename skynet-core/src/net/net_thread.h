// One network thread: an io_context run by a dedicated std::thread, and the table of the sockets it owns.
#pragma once
#include "net/asio_config.h"
#include <cstdint>
#include <memory>
#include <optional>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include "net/socket_info.h"

namespace skynet {

class socket_entry;
class socket_server;

class net_thread {
public:
    net_thread(socket_server& server, unsigned index);
    ~net_thread();
    net_thread(const net_thread&) = delete;
    net_thread& operator=(const net_thread&) = delete;

    void start();
    // Stops the loop, joins the thread and closes every socket it owned without telling anyone.
    void stop();

    asio::io_context& io() { return io_; }
    unsigned index() const { return index_; }
    socket_server& server() { return server_; }

    // Runs f on this thread.  Safe from any thread; f is destroyed unrun if the thread has stopped.
    template <class F>
    void post(F&& f) {
        asio::post(io_, std::forward<F>(f));
    }

    // ---- on this thread only ----
    void add(std::shared_ptr<socket_entry> s);
    std::shared_ptr<socket_entry> find(int id);
    void remove(int id);
    void owner_ended(uint32_t handle);
    void describe_all(std::vector<socket_info>& out);
    // A scratch area for UDP datagrams (one recvfrom at a time on this thread).
    char* udp_scratch() { return udp_scratch_.get(); }
    static constexpr size_t udp_scratch_size = 65536;

private:
    socket_server& server_;
    unsigned index_;
    asio::io_context io_;
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard_;
    std::thread thread_;
    std::unordered_map<int, std::shared_ptr<socket_entry>> sockets_;
    std::unique_ptr<char[]> udp_scratch_;
};

}  // namespace skynet
