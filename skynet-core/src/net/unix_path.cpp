#include "net/asio_config.h"
#include "net/unix_path.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include <asio/error.hpp>

namespace skynet {

namespace {

// strerror is not thread safe and workers call these concurrently; asio's message uses strerror_r.
std::string errno_text(int err) { return asio::error_code(err, asio::error::get_system_category()).message(); }

}  // namespace

bool parse_unix_address(std::string_view text, std::string& path) {
    if (!text.starts_with(unix_address_prefix)) return false;
    path.assign(text.substr(unix_address_prefix.size()));
    return true;
}

std::string unix_address_text(const std::string& path) {
    std::string s(unix_address_prefix);
    s += path;
    return s;
}

bool check_unix_path(std::string_view path, std::string& error) {
    if (path.empty()) {
        error = "empty unix socket path";
        return false;
    }
    if (path.find('\0') != std::string_view::npos) {
        error = "unix socket path contains a NUL byte";
        return false;
    }
    // One byte of sun_path is kept for the terminating NUL, as asio's endpoint requires.
    constexpr size_t max_path = sizeof(sockaddr_un{}.sun_path) - 1;
    if (path.size() > max_path) {
        error = "unix socket path longer than " + std::to_string(max_path) + " bytes";
        return false;
    }
    return true;
}

bool clear_stale_unix_socket(const std::string& path, std::string& error) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) return true;
        error = path + ": " + errno_text(errno);
        return false;
    }
    if (!S_ISSOCK(st.st_mode)) {
        error = path + " exists and is not a socket (not removed)";
        return false;
    }
    // Only a connect tells a live listener from a stale file.  Non-blocking, so a listener whose backlog is
    // full (EAGAIN) cannot stall the calling worker: it is alive, which is all we need to know.
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error = "socket: " + errno_text(errno);
        return false;
    }
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.data(), path.size());
    int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
    int err = rc == 0 ? 0 : errno;
    ::close(fd);
    if (rc == 0 || err == EAGAIN || err == EINPROGRESS) {
        error = path + " is in use: another process listens on it";
        return false;
    }
    if (err == ENOENT) return true;   // removed between the lstat and the connect
    if (err != ECONNREFUSED) {
        error = path + ": " + errno_text(err);
        return false;
    }
    // Refused: a socket file nobody listens on.  Its creator is gone and did not clean up.
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        error = "cannot remove the stale socket " + path + ": " + errno_text(errno);
        return false;
    }
    return true;
}

unix_socket_file::unix_socket_file(std::string path) : path_(std::move(path)) {
    struct stat st {};
    if (::lstat(path_.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) {
        device_ = st.st_dev;
        inode_ = st.st_ino;
        owned_ = true;
    }
}

unix_socket_file::unix_socket_file(unix_socket_file&& other) noexcept
    : path_(std::move(other.path_)),
      device_(other.device_),
      inode_(other.inode_),
      owned_(std::exchange(other.owned_, false)) {}

unix_socket_file& unix_socket_file::operator=(unix_socket_file&& other) noexcept {
    if (this != &other) {
        reset();
        path_ = std::move(other.path_);
        device_ = other.device_;
        inode_ = other.inode_;
        owned_ = std::exchange(other.owned_, false);
    }
    return *this;
}

void unix_socket_file::reset() {
    if (!owned_) return;
    owned_ = false;
    struct stat st {};
    if (::lstat(path_.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == device_ && st.st_ino == inode_)
        ::unlink(path_.c_str());
}

}  // namespace skynet
