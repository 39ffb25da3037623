// Address formats of the socket API: "host:port" / "[v6]:port" strings from Lua, the "ip:port" text of an
// ACCEPT event, and the binary UDP address that socket.sendto / socket.udp_address pass around
// (skynet's: 1 byte protocol, 2 bytes port in network order, then 4 or 16 bytes of address).
#pragma once
#include "net/asio_config.h"
#include <cstdint>
#include <string>
#include <string_view>

#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>

namespace skynet {

// Splits "host:port" or "[v6 address]:port".  False when there is no port part.
bool split_host_port(std::string_view text, std::string& host, int& port);

// "ip:port", as skynet writes a peer address.
std::string endpoint_text(const asio::ip::address& ip, unsigned short port);

constexpr uint8_t udp_protocol_v4 = 1;
constexpr uint8_t udp_protocol_v6 = 2;
constexpr size_t udp_address_max = 1 + 2 + 16;

// Writes the binary form of `ep` into out (udp_address_max bytes); returns its length (7 or 19).
size_t encode_udp_address(const asio::ip::udp::endpoint& ep, uint8_t* out);
// Reads a binary address; false when it is malformed.
bool decode_udp_address(std::string_view bytes, asio::ip::udp::endpoint& ep);

}  // namespace skynet
