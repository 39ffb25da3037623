// The pure parts of the socket layer: the Lua-side read buffer, the write queue and its warnings, the
// netpack frame decoder, socket ids and address formats.
#include <doctest/doctest.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "net/address.h"
#include "net/netpack_queue.h"
#include "net/read_buffer.h"
#include "net/socket_slots.h"
#include "net/write_queue.h"

using namespace skynet;

namespace {

char* block_of(const std::string& s) {
    char* p = static_cast<char*>(std::malloc(s.size() ? s.size() : 1));
    std::memcpy(p, s.data(), s.size());
    return p;
}

std::string take(read_buffer& b, size_t n) {
    std::string out(n, '\0');
    b.copy(out.data(), n);
    b.drop(n);
    return out;
}

byte_buffer bytes(const std::string& s) { return byte_buffer(block_of(s), s.size()); }

// What the kernel would receive if it accepted `limit` bytes of the gathered buffers.
std::string gathered_text(write_queue& q, size_t max_blocks = 64) {
    std::vector<asio::const_buffer> bufs;
    q.gather(bufs, max_blocks);
    std::string out;
    for (auto& b : bufs) out.append(static_cast<const char*>(b.data()), b.size());
    return out;
}

}  // namespace

TEST_CASE("read_buffer pops across blocks and frees what it consumed") {
    read_buffer b;
    CHECK(b.push(block_of("hel"), 3));
    CHECK(b.push(block_of("lo wo"), 5));
    CHECK(b.push(block_of("rld"), 3));
    CHECK(b.size() == 11);
    CHECK(b.contiguous(2) != nullptr);   // inside the first block
    CHECK(b.contiguous(5) == nullptr);   // spans two blocks
    CHECK(take(b, 5) == "hello");
    CHECK(b.size() == 6);
    CHECK(take(b, 6) == " world");
    CHECK(b.size() == 0);
    CHECK(b.push(block_of(""), 0));      // an empty block is simply freed
    CHECK(b.size() == 0);
}

TEST_CASE("read_buffer finds a separator that straddles blocks") {
    read_buffer b;
    b.push(block_of("line one\r"), 9);
    CHECK(b.find("\r\n") == read_buffer::npos);
    b.push(block_of("\nline two"), 9);
    size_t at = b.find("\r\n");
    REQUIRE(at == 8);
    CHECK(take(b, at) == "line one");
    b.drop(2);
    CHECK(b.find("\r\n") == read_buffer::npos);
    CHECK(b.find("two") == 5);
    CHECK(b.find("x") == read_buffer::npos);
}

TEST_CASE("read_buffer resumes a search where the last one stopped, and resets for a new separator") {
    read_buffer b;
    for (int i = 0; i < 100; ++i) b.push(block_of("abcdefgh"), 8);
    CHECK(b.find("\n") == read_buffer::npos);
    b.push(block_of("xy\nz"), 4);
    CHECK(b.find("\n") == 802);
    CHECK(b.find("a") == 0);   // a different separator searches from the start again
    CHECK(b.find("\n") == 802);
    b.drop(800);
    CHECK(b.find("\n") == 2);
}

TEST_CASE("read_buffer clear frees everything and can be reused") {
    read_buffer b;
    for (int i = 0; i < 50; ++i) b.push(block_of("0123456789"), 10);
    b.drop(5);
    b.clear();
    CHECK(b.size() == 0);
    b.push(block_of("ok\n"), 3);
    CHECK(b.find("\n") == 2);
}

TEST_CASE("write_queue sends high priority before low, and never cuts a block it started") {
    write_queue q;
    q.push(bytes("L1"), true);
    q.push(bytes("H1"), false);
    CHECK(q.pending() == 4);
    CHECK(gathered_text(q) == "H1L1");
    q.consume(3);   // "H1" and the "L" of "L1" went out
    CHECK(q.pending() == 1);
    q.push(bytes("H2"), false);
    // the rest of L1 is committed: it goes before the newer high-priority block
    CHECK(gathered_text(q) == "1H2");
    q.consume(3);
    CHECK(q.empty());
}

TEST_CASE("write_queue gathers at most max_blocks and drops empty blocks") {
    write_queue q;
    q.push(bytes(""), false);
    CHECK(q.empty());
    for (int i = 0; i < 10; ++i) q.push(bytes(std::to_string(i)), false);
    std::vector<asio::const_buffer> bufs;
    q.gather(bufs, 4);
    CHECK(bufs.size() == 4);
    q.consume(4);
    CHECK(gathered_text(q, 64) == "456789");
    q.clear();
    CHECK(q.pending() == 0);
}

TEST_CASE("send_warning fires at 1 MB, then at each doubling, and once on drain") {
    send_warning w;
    const size_t mb = 1024 * 1024;
    CHECK(w.on_grow(mb - 1) == -1);
    CHECK(w.on_grow(mb) == 1024);
    CHECK(w.on_grow(mb + 10) == -1);
    CHECK(w.on_grow(2 * mb) == 2048);
    CHECK(w.on_grow(3 * mb) == -1);
    CHECK(w.on_grow(4 * mb + 1) == 4097);   // rounded up to whole KB
    CHECK(w.on_drain());
    CHECK_FALSE(w.on_drain());
    CHECK(w.on_grow(mb) == 1024);   // a new episode starts at 1 MB again
}

TEST_CASE("netpack_queue splits frames whatever the read boundaries") {
    netpack_queue q;
    std::string wire;
    std::vector<std::string> sent = {"hello", "", std::string(300, 'x'), "end"};
    for (auto& s : sent) {
        wire.push_back(char(s.size() >> 8));
        wire.push_back(char(s.size() & 0xff));
        wire += s;
    }
    // one byte at a time, the worst case for the slow path
    for (char c : wire) REQUIRE(q.feed(7, reinterpret_cast<const uint8_t*>(&c), 1));
    // and all at once, the fast path
    REQUIRE(q.feed(8, reinterpret_cast<const uint8_t*>(wire.data()), wire.size()));
    CHECK(q.queued() == 8);
    for (int fd : {7, 8}) {
        for (auto& s : sent) {
            netpack_queue::frame f;
            REQUIRE(q.pop(f));
            CHECK(f.fd == fd);
            CHECK(std::string(f.data, f.size) == s);
            std::free(f.data);
        }
    }
    netpack_queue::frame f;
    CHECK_FALSE(q.pop(f));
}

TEST_CASE("netpack_queue: a huge announced length allocates only what arrived") {
    netpack_queue q;
    const uint8_t header[] = {0xff, 0xff, 0xff, 0xff};
    REQUIRE(q.feed(3, header, sizeof header));
    CHECK(q.queued() == 0);
    CHECK(q.partial_bytes() < 256);   // two payload bytes arrived, not 64 KiB reserved
    q.close(3);                       // half a frame, then the peer left
    CHECK(q.partial_bytes() == 0);
    // a full 65535-byte frame still works
    std::string frame(2 + 0xffff, 'a');
    frame[0] = char(0xff);
    frame[1] = char(0xff);
    for (size_t i = 0; i < frame.size(); i += 1000) {
        size_t n = frame.size() - i < 1000 ? frame.size() - i : 1000;
        REQUIRE(q.feed(4, reinterpret_cast<const uint8_t*>(frame.data() + i), n));
    }
    netpack_queue::frame f;
    REQUIRE(q.pop(f));
    CHECK(f.size == 0xffff);
    std::free(f.data);
}

TEST_CASE("socket_slots: ids are small, and a stale id never matches the slot's next occupant") {
    socket_slots slots;
    int a = slots.reserve(0);
    int b = slots.reserve(1);
    CHECK(a == 1);
    CHECK(b == 2);
    CHECK(slots.live(a));
    CHECK(slots.thread_of(b) == 1);
    CHECK_FALSE(slots.writable(a));
    slots.set_writable(a, true);
    CHECK(slots.writable(a));
    slots.release(a);
    CHECK_FALSE(slots.live(a));
    CHECK_FALSE(slots.writable(a));
    // Fill slots until slot_index(a) is reused: the new id differs from a.
    int reused = -1;
    for (int i = 0; i < socket_slots::capacity + 2; ++i) {
        int id = slots.reserve(0);
        if (socket_slots::slot_index(id) == socket_slots::slot_index(a)) {
            reused = id;
            break;
        }
        slots.release(id);
    }
    REQUIRE(reused > 0);
    CHECK(reused != a);
    CHECK_FALSE(slots.live(a));
    CHECK(slots.live(reused));
    CHECK_FALSE(slots.live(0));
    CHECK_FALSE(slots.live(-5));
    CHECK_FALSE(slots.live(123456));
}

TEST_CASE("address formats: host:port, [v6]:port and binary UDP addresses") {
    std::string host;
    int port = 0;
    CHECK(split_host_port("127.0.0.1:8000", host, port));
    CHECK(host == "127.0.0.1");
    CHECK(port == 8000);
    CHECK(split_host_port("[::1]:53", host, port));
    CHECK(host == "::1");
    CHECK(port == 53);
    CHECK_FALSE(split_host_port("localhost", host, port));
    CHECK_FALSE(split_host_port("a:b", host, port));
    CHECK_FALSE(split_host_port("[::1]53", host, port));

    uint8_t buf[udp_address_max];
    asio::ip::udp::endpoint v4(asio::ip::make_address("10.1.2.3"), 4242);
    size_t n = encode_udp_address(v4, buf);
    CHECK(n == 7);
    CHECK(buf[0] == udp_protocol_v4);
    asio::ip::udp::endpoint back;
    CHECK(decode_udp_address(std::string_view(reinterpret_cast<char*>(buf), n), back));
    CHECK(back == v4);
    asio::ip::udp::endpoint v6(asio::ip::make_address("::1"), 9);
    n = encode_udp_address(v6, buf);
    CHECK(n == 19);
    CHECK(decode_udp_address(std::string_view(reinterpret_cast<char*>(buf), n), back));
    CHECK(back == v6);
    CHECK_FALSE(decode_udp_address(std::string_view(reinterpret_cast<char*>(buf), 5), back));
}
