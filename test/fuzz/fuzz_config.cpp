// libFuzzer target: the config loader (skynet-core/src/config/config_loader.*) on arbitrary file text.
//
// Properties: load_config returns a map or throws config_error - never anything else, never a crash - and
// the error is one line naming the file it is about. The input is written to <tmp>/config next to two
// valid files it may include ("common", "sub/other"); $FUZZ_A and $FUZZ_N are set, other variables not.
//
// A config is Lua, so it could loop forever or build a huge string. This file defines luaL_newstate,
// which takes precedence over liblua's for the loader: the state gets the memory cap and the instruction
// budget of lua_fuzz_support.h, and such an input ends as a config_error, which is what the loader must
// turn any Lua error into.
#include <lua.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

#include <sys/stat.h>

#include "config/config_loader.h"
#include "lua_fuzz_support.h"

extern "C" lua_State* luaL_newstate(void) {
    fuzz::budget& b = fuzz::current_budget();
    b.memory_limit = 64u << 20;
    lua_State* L = lua_newstate(fuzz::limited_alloc, &b);
    if (L != nullptr) lua_sethook(L, fuzz::hook, LUA_MASKCOUNT, fuzz::hook_step);
    return L;
}

namespace {

std::string dir;

void write_file(const std::string& path, const void* data, size_t size) {
    FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) fuzz::fail("cannot write", path.c_str());
    if (size != 0 && std::fwrite(data, 1, size, f) != size) fuzz::fail("cannot write", path.c_str());
    std::fclose(f);
}

void init() {
    char tmpl[] = "/tmp/fuzz-config-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) fuzz::fail("mkdtemp failed");
    dir = tmpl;
    std::string sub = dir + "/sub";
    if (mkdir(sub.c_str(), 0700) != 0) fuzz::fail("mkdir failed");
    const char common[] = "root = \"./\"\nthread = 4\nharbor = 0\nstart = \"main\"\n";
    write_file(dir + "/common", common, sizeof common - 1);
    const char other[] = "luaservice = root .. \"service/?.lua\"\nflag = true\nport = 8000 + 1\n";
    write_file(sub + "/other", other, sizeof other - 1);
    setenv("FUZZ_A", "a value", 1);
    setenv("FUZZ_N", "42", 1);
    unsetenv("FUZZ_UNSET");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (dir.empty()) init();
    fuzz::begin_run();
    write_file(dir + "/config", data, size);
    try {
        skynet::load_config(dir + "/config");
    } catch (const skynet::config_error& e) {
        std::string msg = e.what();
        if (fuzz::current_budget().exhausted) return 0;
        if (msg.empty() || msg.find('\n') != std::string::npos) fuzz::fail("config: error is not one line:", msg.c_str());
        bool names_file = msg.find("config") != std::string::npos || msg.find("common") != std::string::npos ||
                          msg.find("other") != std::string::npos;
        if (!names_file) fuzz::fail("config: error does not name the file:", msg.c_str());
    } catch (const std::exception& e) {
        fuzz::fail("config: an exception other than config_error:", e.what());
    }
    return 0;
}
