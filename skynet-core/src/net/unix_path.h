// Unix domain socket paths: socket.listen("unix:/path") and socket.open("unix:/path") (our extension).
//
// A listener binds a file in the file system.  A file left behind by a process that died is "stale": it is
// removed before listening, but only when nothing answers on it, so a second node never steals the path of
// a live one.  A path that exists as anything but a socket (a regular file, a directory...) is refused:
// it is somebody's data.  The file is removed again when the listener closes, unless it was replaced since.
#pragma once
#include <sys/types.h>

#include <string>
#include <string_view>

namespace skynet {

// The prefix that makes an address a Unix socket path in socket.listen / socket.open.
constexpr std::string_view unix_address_prefix = "unix:";

// True when `text` is "unix:<path>"; `path` gets the part after the prefix (not checked yet).
bool parse_unix_address(std::string_view text, std::string& path);

// "unix:<path>", as listeners and connections show their address.
std::string unix_address_text(const std::string& path);

// False and a reason when `path` cannot be a socket address: empty, containing a NUL byte, or longer than
// sockaddr_un holds (107 bytes on Linux).  asio would throw on those; everything else is the kernel's call.
bool check_unix_path(std::string_view path, std::string& error);

// Makes `path` free for bind(): true when nothing is there, or when a socket file is there that nobody
// listens on (it is removed).  False and a reason when the path is a live listener's, exists as something
// that is not a socket, or cannot be examined.  Never blocks: the probe connect is non-blocking.
bool clear_stale_unix_socket(const std::string& path, std::string& error);

// The socket file a listener bound.  Removing it is this object's job, done once: on reset() or when it
// is destroyed (so a listener dropped unrun during shutdown removes its file too).  The file is removed
// only while the path still names the very file that was bound (same device and inode): if another
// process removed it and bound its own socket there meanwhile, that one is left alone.
class unix_socket_file {
public:
    unix_socket_file() = default;
    // Takes charge of the socket file now at `path`; owns nothing if it cannot be examined.
    explicit unix_socket_file(std::string path);
    ~unix_socket_file() { reset(); }

    unix_socket_file(unix_socket_file&& other) noexcept;
    unix_socket_file& operator=(unix_socket_file&& other) noexcept;
    unix_socket_file(const unix_socket_file&) = delete;
    unix_socket_file& operator=(const unix_socket_file&) = delete;

    const std::string& path() const { return path_; }
    bool owned() const { return owned_; }
    // Removes the file (if it is still ours) and owns nothing from then on.
    void reset();

private:
    std::string path_;
    dev_t device_ = 0;
    ino_t inode_ = 0;
    bool owned_ = false;
};

}  // namespace skynet
