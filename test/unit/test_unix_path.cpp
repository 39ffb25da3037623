// Unix socket paths (net/unix_path.h): parsing, the checks that keep asio from throwing, and the socket
// file's life: stale files removed, live or foreign ones refused, a replaced file left alone.
#include <doctest/doctest.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "net/unix_path.h"

using namespace skynet;

namespace {

// A fresh directory, removed with everything in it at the end of the test.
struct temp_dir {
    std::string path;
    temp_dir() {
        char tmpl[] = "/tmp/skynet-unit-unix-XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        path = tmpl;
    }
    ~temp_dir() { std::system(("rm -rf '" + path + "'").c_str()); }
};

bool exists(const std::string& p) {
    struct stat st {};
    return ::lstat(p.c_str(), &st) == 0;
}

// A socket bound at `path`; listening when `listen_too`. Returns the descriptor (the caller closes it).
int bound_socket(const std::string& path, bool listen_too) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.data(), path.size());
    REQUIRE(::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
    if (listen_too) REQUIRE(::listen(fd, 4) == 0);
    return fd;
}

}  // namespace

TEST_CASE("unix: parse_unix_address takes the one-string form") {
    std::string path;
    CHECK(parse_unix_address("unix:/tmp/a.sock", path));
    CHECK(path == "/tmp/a.sock");
    CHECK(parse_unix_address("unix:/tmp/b:80", path));
    CHECK(path == "/tmp/b:80");
    CHECK_FALSE(parse_unix_address("127.0.0.1:80", path));
    CHECK_FALSE(parse_unix_address("unixx:/a", path));
    CHECK(unix_address_text("/x") == "unix:/x");
}

TEST_CASE("unix: check_unix_path refuses what sockaddr_un cannot hold") {
    std::string error;
    CHECK(check_unix_path("/tmp/ok.sock", error));
    CHECK_FALSE(check_unix_path("", error));
    CHECK(error.find("empty") != std::string::npos);
    CHECK_FALSE(check_unix_path(std::string_view("/tmp/a\0b", 8), error));
    CHECK(error.find("NUL") != std::string::npos);
    CHECK(check_unix_path(std::string(107, 'x'), error));
    CHECK_FALSE(check_unix_path(std::string(108, 'x'), error));
    CHECK(error.find("longer than 107") != std::string::npos);
}

TEST_CASE("unix: clear_stale_unix_socket") {
    temp_dir dir;
    std::string error;

    SUBCASE("nothing there") { CHECK(clear_stale_unix_socket(dir.path + "/none.sock", error)); }

    SUBCASE("a regular file is refused and kept") {
        std::string p = dir.path + "/file";
        std::ofstream(p) << "data";
        CHECK_FALSE(clear_stale_unix_socket(p, error));
        CHECK(error == p + " exists and is not a socket (not removed)");
        CHECK(exists(p));
    }

    SUBCASE("a directory is refused") {
        std::string p = dir.path + "/sub";
        REQUIRE(::mkdir(p.c_str(), 0700) == 0);
        CHECK_FALSE(clear_stale_unix_socket(p, error));
        CHECK(exists(p));
    }

    SUBCASE("a stale socket file is removed") {
        std::string p = dir.path + "/stale.sock";
        ::close(bound_socket(p, false));   // bound, never listened on, and its owner gone
        REQUIRE(exists(p));
        CHECK(clear_stale_unix_socket(p, error));
        CHECK_FALSE(exists(p));
    }

    SUBCASE("a live listener's path is refused and kept") {
        std::string p = dir.path + "/live.sock";
        int fd = bound_socket(p, true);
        CHECK_FALSE(clear_stale_unix_socket(p, error));
        CHECK(error.find("in use") != std::string::npos);
        CHECK(exists(p));
        ::close(fd);
    }
}

TEST_CASE("unix: unix_socket_file removes its own file, once, and never a replacement") {
    temp_dir dir;
    std::string p = dir.path + "/own.sock";

    SUBCASE("removed when destroyed") {
        int fd = bound_socket(p, true);
        {
            unix_socket_file f(p);
            CHECK(f.owned());
        }
        CHECK_FALSE(exists(p));
        ::close(fd);
    }

    SUBCASE("moved: only the last owner removes it") {
        int fd = bound_socket(p, true);
        unix_socket_file a(p);
        unix_socket_file b(std::move(a));
        CHECK_FALSE(a.owned());
        CHECK(b.owned());
        a.reset();
        CHECK(exists(p));
        b.reset();
        CHECK_FALSE(exists(p));
        ::close(fd);
    }

    SUBCASE("a file that replaced ours is left alone") {
        int fd = bound_socket(p, true);
        unix_socket_file f(p);
        // someone else removes our file and binds their own socket at the same path
        REQUIRE(::unlink(p.c_str()) == 0);
        int other = bound_socket(p, true);
        f.reset();
        CHECK(exists(p));
        ::close(other);
        ::close(fd);
    }

    SUBCASE("not a socket: owns nothing") {
        std::ofstream(p) << "x";
        unix_socket_file f(p);
        CHECK_FALSE(f.owned());
        f.reset();
        CHECK(exists(p));
    }
}
