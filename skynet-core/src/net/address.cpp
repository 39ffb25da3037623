#include "net/address.h"

#include <cstdlib>
#include <cstring>

namespace skynet {

bool split_host_port(std::string_view text, std::string& host, int& port) {
    std::string_view rest;
    if (!text.empty() && text.front() == '[') {
        size_t close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') return false;
        host.assign(text.substr(1, close - 1));
        rest = text.substr(close + 2);
    } else {
        // The last colon separates the port, so a bare IPv6 address is not mistaken for host:port here.
        size_t colon = text.rfind(':');
        if (colon == std::string_view::npos) return false;
        host.assign(text.substr(0, colon));
        rest = text.substr(colon + 1);
    }
    if (rest.empty() || rest.size() > 5) return false;
    int p = 0;
    for (char c : rest) {
        if (c < '0' || c > '9') return false;
        p = p * 10 + (c - '0');
    }
    port = p;
    return true;
}

std::string endpoint_text(const asio::ip::address& ip, unsigned short port) {
    std::string s = ip.to_string();
    s += ':';
    s += std::to_string(port);
    return s;
}

size_t encode_udp_address(const asio::ip::udp::endpoint& ep, uint8_t* out) {
    unsigned short port = ep.port();
    out[1] = uint8_t(port >> 8);
    out[2] = uint8_t(port & 0xff);
    if (ep.address().is_v4()) {
        out[0] = udp_protocol_v4;
        auto bytes = ep.address().to_v4().to_bytes();
        std::memcpy(out + 3, bytes.data(), bytes.size());
        return 1 + 2 + 4;
    }
    out[0] = udp_protocol_v6;
    auto bytes = ep.address().to_v6().to_bytes();
    std::memcpy(out + 3, bytes.data(), bytes.size());
    return 1 + 2 + 16;
}

bool decode_udp_address(std::string_view bytes, asio::ip::udp::endpoint& ep) {
    if (bytes.size() < 3) return false;
    auto u = reinterpret_cast<const uint8_t*>(bytes.data());
    unsigned short port = (unsigned short)((u[1] << 8) | u[2]);
    if (u[0] == udp_protocol_v4 && bytes.size() == 7) {
        asio::ip::address_v4::bytes_type b;
        std::memcpy(b.data(), u + 3, b.size());
        ep = asio::ip::udp::endpoint(asio::ip::address_v4(b), port);
        return true;
    }
    if (u[0] == udp_protocol_v6 && bytes.size() == 19) {
        asio::ip::address_v6::bytes_type b;
        std::memcpy(b.data(), u + 3, b.size());
        ep = asio::ip::udp::endpoint(asio::ip::address_v6(b), port);
        return true;
    }
    return false;
}

}  // namespace skynet
