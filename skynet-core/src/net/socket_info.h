// One line of socket.netstat() (driver.info), filled in by the network thread that owns the socket.
#pragma once
#include <cstdint>
#include <string>

namespace skynet {

struct socket_info {
    int id = 0;
    uint32_t owner = 0;
    const char* type = "UNKNOWN";   // LISTEN, TCP, UDP, BIND
    uint64_t read = 0;              // bytes read (LISTEN: connections accepted)
    uint64_t write = 0;             // bytes written
    uint64_t wbuffer = 0;           // bytes waiting to be written
    uint64_t rtime = 0;             // centiseconds (skynet.now) of the last read / write
    uint64_t wtime = 0;
    bool reading = false;
    bool writing = false;
    std::string name;               // peer address (LISTEN: the bound address)
    std::string local;              // the socket's own address ("sock" in netstat; our extension for TCP/UDP)
};

}  // namespace skynet
