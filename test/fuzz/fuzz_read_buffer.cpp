// libFuzzer target: the socket read buffer (skynet-core/src/net/read_buffer.*) behind
// socketdriver.push / pop / readline / readall / clear, checked against a plain std::string model.
//
// The input is a script: push a block of the next bytes, pop n bytes, readline with a separator of 1 to 20
// bytes (over 16 exercises the path without the search memo), check for a line without taking it (the
// memo must then resume correctly), read everything, clear. Every answer must equal the model's.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "lua_fuzz_support.h"
#include "net/read_buffer.h"

namespace {

// What socketdriver's pop_string does: the first n bytes, then drop n + skip.
std::string take(skynet::read_buffer& b, size_t n, size_t skip) {
    std::string out(n, '\0');
    if (const char* p = b.contiguous(n)) {
        std::memcpy(out.data(), p, n);
    } else {
        b.copy(out.data(), n);
    }
    b.drop(n + skip);
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    skynet::read_buffer b;
    std::string model;
    size_t i = 0;
    auto next = [&]() -> uint8_t { return i < size ? data[i++] : 0; };
    while (i < size) {
        uint8_t op = next() % 8;
        if (op <= 2) {   // push: a block of 1..64 bytes (0 is a no-op block)
            size_t n = next() % 65;
            if (n > size - i) n = size - i;
            char* block = static_cast<char*>(std::malloc(n ? n : 1));
            if (n) std::memcpy(block, data + i, n);
            if (!b.push(block, n)) fuzz::fail("read_buffer: push failed");
            model.append(reinterpret_cast<const char*>(data + i), n);
            i += n;
        } else if (op == 3) {   // pop n (socketdriver.pop answers nil when fewer are buffered)
            size_t n = next();
            if (n == 0 || n > b.size()) {
                if (b.size() != model.size()) fuzz::fail("read_buffer: size differs");
                continue;
            }
            if (take(b, n, 0) != model.substr(0, n)) fuzz::fail("read_buffer: pop returned other bytes");
            model.erase(0, n);
        } else if (op == 4 || op == 5) {   // readline, or (5) only check that a line is there
            size_t seplen = 1 + next() % 20;
            std::string sep;
            for (size_t k = 0; k < seplen; ++k) sep.push_back(char('a' + next() % 3));   // small alphabet: many matches
            if (next() % 2) sep = "\n";
            size_t at = b.find(sep);
            size_t want = model.find(sep);
            if (at != (want == std::string::npos ? skynet::read_buffer::npos : want)) {
                fuzz::fail("read_buffer: find disagrees with std::string::find");
            }
            if (op == 4 && at != skynet::read_buffer::npos) {
                if (take(b, at, sep.size()) != model.substr(0, at)) fuzz::fail("read_buffer: readline bytes");
                model.erase(0, at + sep.size());
            }
        } else if (op == 6) {   // readall
            if (take(b, b.size(), 0) != model) fuzz::fail("read_buffer: readall bytes");
            model.clear();
        } else if (next() % 4 == 0) {   // clear, now and then
            b.clear();
            model.clear();
        }
        if (b.size() != model.size()) fuzz::fail("read_buffer: size differs from the model");
    }
    return 0;
}
