// The config loader (spec §4.1), against files written into a fresh temporary directory.
#include "config/config_loader.h"

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <unistd.h>

namespace fs = std::filesystem;
using skynet::config_error;
using skynet::load_config;

namespace {

// A fresh directory removed at the end of the test.
struct temp_dir {
    fs::path path;
    temp_dir() {
        std::string tmpl = (fs::temp_directory_path() / "skynet_config_test.XXXXXX").string();
        REQUIRE(mkdtemp(tmpl.data()) != nullptr);
        path = tmpl;
    }
    ~temp_dir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    // Writes a file (creating its directories) and returns its full path.
    std::string write(const std::string& name, const std::string& content) const {
        fs::path p = path / name;
        fs::create_directories(p.parent_path());
        std::ofstream out(p, std::ios::binary);
        out << content;
        REQUIRE(out.good());
        return p.string();
    }
};

// Restores the working directory at the end of a test that changes it.
struct cwd_guard {
    fs::path saved = fs::current_path();
    ~cwd_guard() { fs::current_path(saved); }
};

// The message of the config_error that loading `path` must throw.
std::string error_of(const std::string& path) {
    try {
        load_config(path);
    } catch (const config_error& e) {
        std::string msg = e.what();
        CHECK(msg.find('\n') == std::string::npos);  // always one line
        return msg;
    }
    FAIL("no config_error for " << path);
    return "";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("config: plain keys, numbers and booleans become strings") {
    temp_dir dir;
    std::string cfg = dir.write("config", R"(
        -- a comment
        thread = 8
        harbor = 0
        negative = -3
        ratio = 2.5
        whole_float = 4.0
        start = "main"
        root = "./"
        lua_path = root .. "lualib/?.lua;" .. root .. "lualib/?/init.lua"
        daemon_on = true
        profile = false
        nothing = nil
        local helper = "not a key"
        from_local = helper .. "!"
    )");
    auto c = load_config(cfg);
    const std::map<std::string, std::string> expected = {
        {"thread", "8"},
        {"harbor", "0"},
        {"negative", "-3"},
        {"ratio", "2.5"},
        {"whole_float", "4.0"},
        {"start", "main"},
        {"root", "./"},
        {"lua_path", "./lualib/?.lua;./lualib/?/init.lua"},
        {"daemon_on", "true"},
        {"profile", "false"},
        {"from_local", "not a key!"},
    };
    CHECK(c == expected);
}

TEST_CASE("config: only include is in scope, but strings keep their methods") {
    temp_dir dir;
    std::string cfg = dir.write("config", R"(
        s = string
        o = os
        g = _G
        p = print
        rep = ("ab"):rep(3)
        sum = "10" + 1
        has_include = type == nil and include ~= nil
    )");
    auto c = load_config(cfg);
    CHECK(c.count("s") == 0);
    CHECK(c.count("o") == 0);
    CHECK(c.count("g") == 0);
    CHECK(c.count("p") == 0);
    CHECK(c.at("rep") == "ababab");
    CHECK(c.at("sum") == "11");
    CHECK(c.at("has_include") == "true");
    CHECK(c.count("include") == 0);
}

TEST_CASE("config: include is relative to the including file") {
    temp_dir dir;
    std::string cfg = dir.write("top/config", R"(
        x = "main"
        include "sub/a.lua"
        after = x .. "!"
        include "d.lua"
    )");
    dir.write("top/sub/a.lua", R"(
        include "b.lua"
        include "../c.lua"
        include "deeper/e.lua"
        x = "from a"
        a = 1
    )");
    dir.write("top/sub/b.lua", "b = 'sub/b'\n");
    dir.write("top/c.lua", "c = 'top/c'\n");
    dir.write("top/sub/deeper/e.lua", "include 'f.lua'\ne = 'deeper/e'\n");
    dir.write("top/sub/deeper/f.lua", "f = 'deeper/f'\n");
    dir.write("top/d.lua", "d = 'top/d'\n");
    // Decoys with the same names elsewhere must not be picked up.
    dir.write("b.lua", "b = 'wrong'\n");
    dir.write("top/b.lua", "b = 'wrong'\n");
    dir.write("top/sub/d.lua", "d = 'wrong'\n");
    dir.write("top/sub/f.lua", "f = 'wrong'\n");
    auto c = load_config(cfg);
    CHECK(c.at("b") == "sub/b");
    CHECK(c.at("c") == "top/c");
    CHECK(c.at("d") == "top/d");  // the current directory is restored after an include
    CHECK(c.at("e") == "deeper/e");
    CHECK(c.at("f") == "deeper/f");
    CHECK(c.at("a") == "1");
    CHECK(c.at("x") == "from a");  // included files share the one config table
    CHECK(c.at("after") == "from a!");
}

TEST_CASE("config: absolute include") {
    temp_dir dir;
    std::string abs = dir.write("elsewhere/abs.lua", "include 'near.lua'\nabs = 'yes'\n");
    dir.write("elsewhere/near.lua", "near = 'beside abs'\n");
    dir.write("main/near.lua", "near = 'wrong'\n");
    std::string cfg = dir.write("main/config", "include '" + abs + "'\nmain = 'ok'\n");
    auto c = load_config(cfg);
    CHECK(c.at("abs") == "yes");
    CHECK(c.at("near") == "beside abs");
    CHECK(c.at("main") == "ok");
}

TEST_CASE("config: a relative top file resolves from the working directory") {
    temp_dir dir;
    dir.write("examples/config", "include 'config.path'\nstart = 'main'\n");
    dir.write("examples/config.path", "lua_path = 'examples/?.lua'\n");
    cwd_guard guard;
    fs::current_path(dir.path);
    auto c = load_config("examples/config");
    CHECK(c.at("start") == "main");
    CHECK(c.at("lua_path") == "examples/?.lua");
    // Errors show the path as given, without skynet's "./" prefix.
    dir.write("examples/broken", "x = = 1\n");
    std::string err = error_of("examples/broken");
    CHECK(err.rfind("examples/broken:1:", 0) == 0);
}

TEST_CASE("config: $NAME is replaced by the environment variable, in included files too") {
    temp_dir dir;
    REQUIRE(setenv("SKYNET_CFG_TEST_WORD", "hello", 1) == 0);
    REQUIRE(setenv("SKYNET_CFG_TEST_NUM", "42", 1) == 0);
    REQUIRE(setenv("SKYNET_CFG_TEST_DIR", dir.path.string().c_str(), 1) == 0);
    dir.write("inc/vars.lua", "inc_word = '$SKYNET_CFG_TEST_WORD-inc'\n");
    std::string cfg = dir.write("config", R"(
        word = "$SKYNET_CFG_TEST_WORD"
        num = $SKYNET_CFG_TEST_NUM + 1
        path = "$SKYNET_CFG_TEST_WORD/x"
        two = "$SKYNET_CFG_TEST_WORD$SKYNET_CFG_TEST_NUM"
        lone = "cost: $ 5"
        trailing = "end$"
        include "$SKYNET_CFG_TEST_DIR/inc/vars.lua"
        -- substitution happens in comments as well: $SKYNET_CFG_TEST_WORD
    )");
    auto c = load_config(cfg);
    CHECK(c.at("word") == "hello");
    CHECK(c.at("num") == "43");
    CHECK(c.at("path") == "hello/x");
    CHECK(c.at("two") == "hello42");
    CHECK(c.at("lone") == "cost: $ 5");
    CHECK(c.at("trailing") == "end$");
    CHECK(c.at("inc_word") == "hello-inc");
    unsetenv("SKYNET_CFG_TEST_WORD");
    unsetenv("SKYNET_CFG_TEST_NUM");
    unsetenv("SKYNET_CFG_TEST_DIR");
}

TEST_CASE("config: an unset $NAME is an error naming the variable and the file") {
    temp_dir dir;
    unsetenv("SKYNET_CFG_TEST_UNSET");
    std::string cfg = dir.write("config", "a = 1\nb = 2\nc = '$SKYNET_CFG_TEST_UNSET'\n");
    std::string err = error_of(cfg);
    CHECK(contains(err, "os.getenv() failed: SKYNET_CFG_TEST_UNSET"));
    CHECK(contains(err, cfg + ":3:"));

    dir.write("sub/inner.lua", "x = '$SKYNET_CFG_TEST_UNSET'\n");
    std::string outer = dir.write("outer", "include 'sub/inner.lua'\n");
    err = error_of(outer);
    CHECK(contains(err, "os.getenv() failed: SKYNET_CFG_TEST_UNSET"));
    CHECK(contains(err, "sub/inner.lua:1:"));
}

TEST_CASE("config: missing files") {
    temp_dir dir;
    std::string missing = (dir.path / "nope").string();
    std::string err = error_of(missing);
    CHECK(contains(err, "cannot open config file '" + missing + "'"));
    CHECK(contains(err, "No such file"));

    std::string cfg = dir.write("config", "a = 1\ninclude 'sub/absent.lua'\n");
    err = error_of(cfg);
    CHECK(contains(err, "cannot open config file '" + (dir.path / "sub/absent.lua").string() + "'"));
    CHECK(contains(err, cfg + ":2:"));  // where the include is

    err = error_of(dir.path.string());  // a directory is not a config file
    CHECK(contains(err, "config file"));
    CHECK(contains(err, dir.path.string()));
}

TEST_CASE("config: syntax errors name the file and line") {
    temp_dir dir;
    std::string cfg = dir.write("config", "a = 1\nb = = 2\n");
    std::string err = error_of(cfg);
    CHECK(contains(err, cfg + ":2:"));
    CHECK(contains(err, "near '='"));

    dir.write("sub/bad.lua", "ok = 1\n\n\nbroken = 'unfinished\n");
    std::string outer = dir.write("outer", "include 'sub/bad.lua'\n");
    err = error_of(outer);
    CHECK(contains(err, (dir.path / "sub/bad.lua").string() + ":4:"));
    CHECK(contains(err, "unfinished string"));

    // Only source text is accepted, as with skynet's load(..., "t").
    std::string binary = dir.write("binary", std::string("\x1bLua\x54\x00", 6));
    err = error_of(binary);
    CHECK(contains(err, "binary chunk"));
}

TEST_CASE("config: runtime errors name the file and line") {
    temp_dir dir;
    std::string cfg = dir.write("config", "a = 1\n\nprint('hi')\n");
    std::string err = error_of(cfg);
    CHECK(contains(err, cfg + ":3:"));
    CHECK(contains(err, "attempt to call a nil value"));

    cfg = dir.write("config2", "x = nil .. 'a'\n");
    err = error_of(cfg);
    CHECK(contains(err, cfg + ":1:"));
    CHECK(contains(err, "concatenate"));

    cfg = dir.write("config3", "include()\n");
    err = error_of(cfg);
    CHECK(contains(err, cfg + ":1:"));
    CHECK(contains(err, "include"));
}

TEST_CASE("config: table and function values are rejected by key name") {
    temp_dir dir;
    std::string cfg = dir.write("config", "good = 1\nlist = {1, 2}\n");
    std::string err = error_of(cfg);
    CHECK(contains(err, "Invalid config table key = list"));
    CHECK(contains(err, cfg));

    cfg = dir.write("config2", "handler = function() end\n");
    CHECK(contains(error_of(cfg), "Invalid config table key = handler"));

    cfg = dir.write("config3", "include = include\n");
    CHECK(contains(error_of(cfg), "Invalid config table key = include"));
}

TEST_CASE("config: a non-string key is rejected") {
    temp_dir dir;
    std::string cfg = dir.write("config", "name = 'x'\n_ENV[1] = 'one'\n");
    std::string err = error_of(cfg);
    CHECK(contains(err, "Invalid config table"));
    CHECK(contains(err, "key 1"));
    CHECK(contains(err, cfg));

    cfg = dir.write("config2", "_ENV[true] = 'yes'\n");
    CHECK(contains(error_of(cfg), "Invalid config table"));
}

TEST_CASE("config: a file that includes itself fails cleanly") {
    temp_dir dir;
    std::string cfg = dir.write("config", "n = 1\ninclude 'config'\n");
    std::string err = error_of(cfg);
    CHECK(contains(err, "nested"));
    CHECK(contains(err, cfg + ":2:"));
}

TEST_CASE("config: errors are config_error") {
    temp_dir dir;
    CHECK_THROWS_AS(load_config((dir.path / "missing").string()), config_error);
    std::string cfg = dir.write("config", "x = {}\n");
    CHECK_THROWS_AS(load_config(cfg), config_error);
    // A valid file still loads after failures (nothing global is left behind).
    std::string ok = dir.write("ok", "y = 'fine'\n");
    CHECK(load_config(ok).at("y") == "fine");
}
