// Regression tests for what `make fuzz` (test/fuzz/) found: each input that broke a property, replayed
// through the same entry point, with the behaviour it must have now.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "config/config_loader.h"

namespace fs = std::filesystem;

namespace {

// A config file with the given bytes in a fresh directory (removed at the end).
struct config_file {
    fs::path dir;
    std::string path;
    explicit config_file(const std::string& bytes) {
        std::string tmpl = (fs::temp_directory_path() / "skynet_fuzz_regression.XXXXXX").string();
        REQUIRE(mkdtemp(tmpl.data()) != nullptr);
        dir = tmpl;
        path = (dir / "config").string();
        std::ofstream out(path, std::ios::binary);
        out << bytes;
        REQUIRE(out.good());
    }
    ~config_file() {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
};

std::string config_error_of(const std::string& path) {
    try {
        skynet::load_config(path);
    } catch (const skynet::config_error& e) {
        return e.what();
    }
    FAIL("no config_error");
    return {};
}

}  // namespace

// fuzz_config: a file starting with ESC is taken for a precompiled chunk, and Lua's refusal
// ("attempt to load a binary chunk (mode is 't')") did not say which file it was about.
TEST_CASE("fuzz regression: a config that looks precompiled names its file") {
    config_file f(std::string("\x1b\x0ft$", 4));
    std::string msg = config_error_of(f.path);
    CHECK(msg.find(f.path) != std::string::npos);
    CHECK(msg.find("binary chunk") != std::string::npos);
}
