// skynet.pack / unpack (spec §9): exact bytes, round trips, limits, and hostile input.
#include "lua/lua_seri.h"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

using bytes = std::vector<uint8_t>;

int test_trash(lua_State* L) {
    std::free(lua_touserdata(L, 1));
    return 0;
}

// packrange(from, to, ...): packs the slots from..to of its own stack through the C++ entry point, so the
// tests can see that exactly that range (and negative indices) is used. Returns the bytes as a string.
int test_packrange(lua_State* L) {
    int from = static_cast<int>(luaL_checkinteger(L, 1));
    int to = static_cast<int>(luaL_checkinteger(L, 2));
    int top = lua_gettop(L);
    size_t size = 0;
    void* buffer = skynet::seri_pack_values(L, from, to, &size);
    if (buffer == nullptr) {
        return luaL_error(L, "seri_pack_values returned null");
    }
    CHECK(lua_gettop(L) == top);  // the stack is left as it was
    lua_pushlstring(L, static_cast<const char*>(buffer), size);
    std::free(buffer);
    return 1;
}

// unpackcopy(str [, len]): unpacks the first len bytes of str from an exactly sized malloc'ed copy, so that
// AddressSanitizer sees any read past the end.
int test_unpackcopy(lua_State* L) {
    size_t len = 0;
    const char* s = luaL_checklstring(L, 1, &len);
    lua_Integer n = luaL_optinteger(L, 2, static_cast<lua_Integer>(len));
    // No doctest REQUIRE in here: its exception must not cross Lua's C frames.
    luaL_argcheck(L, n >= 0 && static_cast<size_t>(n) <= len, 2, "length out of range");
    auto* copy = static_cast<char*>(std::malloc(n == 0 ? 1 : static_cast<size_t>(n)));
    std::memcpy(copy, s, static_cast<size_t>(n));
    lua_settop(L, 0);
    lua_pushcfunction(L, skynet::seri_unpack);
    lua_pushlightuserdata(L, copy);
    lua_pushinteger(L, n);
    int rc = lua_pcall(L, 2, LUA_MULTRET, 0);
    std::free(copy);
    if (rc != LUA_OK) {
        return lua_error(L);
    }
    return lua_gettop(L);
}

struct lua_fixture {
    lua_State* L;

    lua_fixture() : L(luaL_newstate()) {
        luaL_openlibs(L);
        lua_register(L, "pack", skynet::seri_pack);
        lua_register(L, "packstring", skynet::seri_packstring);
        lua_register(L, "unpack", skynet::seri_unpack);
        lua_register(L, "trash", test_trash);
        lua_register(L, "packrange", test_packrange);
        lua_register(L, "unpackcopy", test_unpackcopy);
        // Deep structural equality, with float/integer subtypes, NaN and -0.0 distinguished.
        const char* helpers = R"lua(
            function same(a, b, seen)
                if type(a) ~= type(b) then return false end
                if type(a) == "number" then
                    if math.type(a) ~= math.type(b) then return false end
                    if a ~= a then return b ~= b end
                    if a == 0 and b == 0 and math.type(a) == "float" then return 1/a == 1/b end
                    return a == b
                end
                if type(a) ~= "table" then return a == b end
                for k, v in next, a do
                    local bv = b[k]
                    if type(k) == "table" then
                        -- table keys come back as new tables: find one with equal content
                        bv = nil
                        for k2, v2 in next, b do
                            if type(k2) == "table" and same(k, k2) then bv = v2 end
                        end
                    end
                    if not same(v, bv) then return false end
                end
                for k in next, b do
                    if type(k) ~= "table" and rawget(a, k) == nil then return false end
                end
                return true
            end
            function roundtrip(...)
                local n = select("#", ...)
                local msg, sz = pack(...)
                local back = table.pack(unpack(msg, sz))
                trash(msg, sz)
                local back2 = table.pack(unpack(packstring(...)))
                assert(back.n == n, "count " .. back.n .. " ~= " .. n)
                assert(back2.n == n, "string count " .. back2.n .. " ~= " .. n)
                for i = 1, n do
                    assert(same(select(i, ...), back[i]), "value " .. i .. " differs")
                    assert(same(select(i, ...), back2[i]), "string value " .. i .. " differs")
                end
                return true
            end
        )lua";
        REQUIRE(luaL_dostring(L, helpers) == LUA_OK);
    }
    ~lua_fixture() { lua_close(L); }

    // Runs a chunk; returns "" on success or the error message.
    std::string run(const std::string& code) {
        lua_settop(L, 0);
        if (luaL_dostring(L, code.c_str()) != LUA_OK) {
            const char* msg = lua_tostring(L, -1);
            std::string out = msg ? msg : "(non-string error)";
            lua_settop(L, 0);
            return out;
        }
        lua_settop(L, 0);
        return "";
    }

    // The packed bytes of a Lua expression list, via pack (buffer) and checked equal to packstring.
    bytes packed(const std::string& exprs) {
        lua_settop(L, 0);
        std::string code = "local m, s = pack(" + exprs + ") local str = string.sub(packstring(" + exprs +
                           "), 1) return m, s, str";
        int rc = luaL_dostring(L, code.c_str());
        if (rc != LUA_OK) {
            FAIL("pack failed: " << lua_tostring(L, -1));
        }
        REQUIRE(lua_islightuserdata(L, 1));
        auto* p = static_cast<const uint8_t*>(lua_touserdata(L, 1));
        auto n = static_cast<size_t>(lua_tointeger(L, 2));
        bytes from_buffer(p, p + n);
        std::free(lua_touserdata(L, 1));
        size_t len = 0;
        const char* s = lua_tolstring(L, 3, &len);
        bytes from_string(s, s + len);
        CHECK(from_buffer == from_string);
        lua_settop(L, 0);
        return from_buffer;
    }
};

bytes concat(std::initializer_list<bytes> parts) {
    bytes out;
    for (const auto& p : parts) {
        out.insert(out.end(), p.begin(), p.end());
    }
    return out;
}

bytes le(uint64_t v, int n) {
    bytes out;
    for (int i = 0; i < n; ++i) {
        out.push_back(static_cast<uint8_t>(v >> (8 * i)));
    }
    return out;
}

bytes text(const std::string& s) { return bytes(s.begin(), s.end()); }

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

}  // namespace

TEST_CASE("seri: exact bytes of scalars") {
    lua_fixture f;
    CHECK(f.packed("nil") == bytes{0x00});
    CHECK(f.packed("false") == bytes{0x01});
    CHECK(f.packed("true") == bytes{0x09});
    CHECK(f.packed("0") == bytes{0x02});
    CHECK(f.packed("1") == bytes{0x0a, 0x01});
    CHECK(f.packed("255") == bytes{0x0a, 0xff});
    CHECK(f.packed("256") == bytes{0x12, 0x00, 0x01});
    CHECK(f.packed("65535") == bytes{0x12, 0xff, 0xff});
    CHECK(f.packed("65536") == bytes{0x22, 0x00, 0x00, 0x01, 0x00});
    CHECK(f.packed("-1") == bytes{0x22, 0xff, 0xff, 0xff, 0xff});
    CHECK(f.packed("-256") == bytes{0x22, 0x00, 0xff, 0xff, 0xff});
    CHECK(f.packed("math.tointeger(0x7fffffff)") == bytes{0x22, 0xff, 0xff, 0xff, 0x7f});
    CHECK(f.packed("-0x80000000") == bytes{0x22, 0x00, 0x00, 0x00, 0x80});
    // Beyond int32 (even if it fits uint32) the 64-bit form is used.
    CHECK(f.packed("0x80000000") == concat({{0x32}, le(0x80000000u, 8)}));
    CHECK(f.packed("0xffffffff") == concat({{0x32}, le(0xffffffffu, 8)}));
    CHECK(f.packed("0x100000000") == concat({{0x32}, le(0x100000000ull, 8)}));
    CHECK(f.packed("-0x80000001") == concat({{0x32}, le(static_cast<uint64_t>(-0x80000001ll), 8)}));
    CHECK(f.packed("math.mininteger") == concat({{0x32}, le(0x8000000000000000ull, 8)}));
    CHECK(f.packed("math.maxinteger") == concat({{0x32}, le(0x7fffffffffffffffull, 8)}));
    // Floats are always cookie 8, even when integral.
    CHECK(f.packed("1.5") == concat({{0x42}, le(0x3ff8000000000000ull, 8)}));
    CHECK(f.packed("2.0") == concat({{0x42}, le(0x4000000000000000ull, 8)}));
    CHECK(f.packed("-0.0") == concat({{0x42}, le(0x8000000000000000ull, 8)}));
}

TEST_CASE("seri: exact bytes of strings") {
    lua_fixture f;
    CHECK(f.packed("''") == bytes{0x04});
    CHECK(f.packed("'hi'") == bytes{0x14, 'h', 'i'});
    CHECK(f.packed("string.rep('a', 31)") == concat({{0xfc}, text(std::string(31, 'a'))}));
    CHECK(f.packed("string.rep('b', 32)") == concat({{0x15, 0x20, 0x00}, text(std::string(32, 'b'))}));
    CHECK(f.packed("string.rep('c', 40)") == concat({{0x15, 40, 0x00}, text(std::string(40, 'c'))}));
    CHECK(f.packed("string.rep('d', 65535)") == concat({{0x15, 0xff, 0xff}, text(std::string(65535, 'd'))}));
    CHECK(f.packed("string.rep('e', 65536)") ==
          concat({{0x25, 0x00, 0x00, 0x01, 0x00}, text(std::string(65536, 'e'))}));
    CHECK(f.packed("string.rep('f', 70000)") ==
          concat({{0x25, 0x70, 0x11, 0x01, 0x00}, text(std::string(70000, 'f'))}));
    CHECK(f.packed("'a\\0b'") == bytes{0x1c, 'a', 0x00, 'b'});
}

TEST_CASE("seri: exact bytes of tables, several values and light userdata") {
    lua_fixture f;
    CHECK(f.packed("{}") == bytes{0x06, 0x00});
    CHECK(f.packed("{{}}") == bytes{0x0e, 0x06, 0x00, 0x00});
    CHECK(f.packed("{1, 2, x = 3}") == bytes{0x16, 0x0a, 0x01, 0x0a, 0x02, 0x0c, 'x', 0x0a, 0x03, 0x00});
    CHECK(f.packed("{[5] = true}") == bytes{0x06, 0x0a, 0x05, 0x09, 0x00});
    CHECK(f.packed("1, 'a', nil") == bytes{0x0a, 0x01, 0x0c, 'a', 0x00});

    // 30 items still fit in the cookie; 31 switch to "size follows".
    bytes thirty{0xf6};
    for (int i = 1; i <= 30; ++i) {
        thirty.push_back(0x0a);
        thirty.push_back(static_cast<uint8_t>(i));
    }
    thirty.push_back(0x00);
    CHECK(f.packed("(function() local t = {} for i = 1, 30 do t[i] = i end return t end)()") == thirty);

    bytes thirty_one{0xfe, 0x0a, 31};
    for (int i = 1; i <= 31; ++i) {
        thirty_one.push_back(0x0a);
        thirty_one.push_back(static_cast<uint8_t>(i));
    }
    thirty_one.push_back(0x00);
    CHECK(f.packed("(function() local t = {} for i = 1, 31 do t[i] = i end return t end)()") == thirty_one);

    bytes big = f.packed("(function() local t = {} for i = 1, 300 do t[i] = false end return t end)()");
    REQUIRE(big.size() == 4 + 300 + 1);
    CHECK(bytes(big.begin(), big.begin() + 4) == bytes{0xfe, 0x12, 0x2c, 0x01});
    CHECK(big.back() == 0x00);

    // A light userdata travels as its 8 pointer bytes.
    int marker = 0;
    lua_pushlightuserdata(f.L, &marker);
    lua_setglobal(f.L, "ptr");
    CHECK(f.packed("ptr") == concat({{0x03}, le(reinterpret_cast<uintptr_t>(&marker), 8)}));
}

TEST_CASE("seri: round trip of every type and integer boundary") {
    lua_fixture f;
    const char* values[] = {
        "nil", "true", "false", "0", "1", "255", "256", "65535", "65536", "-1", "-255", "-256", "-65536",
        "math.tointeger(0x7fffffff)", "-0x80000000", "0x80000000", "0xffffffff", "0x100000000", "-0x80000001",
        "math.mininteger", "math.maxinteger", "math.mininteger + 1", "math.maxinteger - 1", "0.0", "-0.0", "1.5",
        "-2.25", "1e308", "-1e308", "5e-324", "2^53", "2^63", "1/0", "-1/0", "0/0", "math.pi", "''", "'x'",
        "string.rep('z', 31)", "string.rep('z', 32)", "string.rep('q', 40)", "string.rep('y', 65535)",
        "string.rep('w', 65536)", "string.rep('v', 70000)", "'\\0\\1\\255'",
    };
    for (const char* v : values) {
        CAPTURE(v);
        CHECK(f.run(std::string("assert(roundtrip(") + v + "))") == "");
    }
    // Several values at once, including trailing nils, keep their count.
    CHECK(f.run("assert(roundtrip(1, nil, 'a', nil, nil))") == "");
    CHECK(f.run("assert(roundtrip())") == "");
    CHECK(f.run("assert(select('#', unpack(packstring(nil, nil, nil))) == 3)") == "");
}

TEST_CASE("seri: round trip of tables") {
    lua_fixture f;
    CHECK(f.run("assert(roundtrip({}))") == "");
    CHECK(f.run("assert(roundtrip({1, 2, 3, x = 'y', [-1] = 0, [0] = 'zero', [1.5] = 2.5}))") == "");
    CHECK(f.run("assert(roundtrip({a = {b = {c = {d = 'deep'}}}, list = {1, {2, {3}}}}))") == "");
    CHECK(f.run("assert(roundtrip({[true] = 1, [false] = 0, [{1, 2}] = 'tablekey'}))") == "");
    CHECK(f.run("assert(roundtrip({1, nil, 3, nil, 5}))") == "");
    CHECK(f.run("assert(roundtrip({n = 3, [100] = 100, [2^40] = 'big', [math.mininteger] = 'min'}))") == "");
    CHECK(f.run(R"(
        local t = {}
        for i = 1, 5000 do t[i] = i * 3 end
        for i = 1, 2000 do t['k' .. i] = string.rep('s', i % 50) end
        assert(roundtrip(t, t, {t}))
    )") == "");
    // A table that appears twice is packed twice: the copies are equal but distinct.
    CHECK(f.run(R"(
        local inner = {1}
        local back = unpack(packstring({inner, inner}))
        assert(back[1] ~= back[2] and back[1][1] == 1 and back[2][1] == 1)
    )") == "");
    // Floats inside tables keep their subtype.
    CHECK(f.run("local t = unpack(packstring({2.0, 3})) assert(math.type(t[1]) == 'float' and math.type(t[2]) == "
                "'integer')") == "");
}

TEST_CASE("seri: light userdata round trip keeps the pointer") {
    lua_fixture f;
    int marker = 0;
    lua_pushlightuserdata(f.L, &marker);
    lua_setglobal(f.L, "ptr");
    CHECK(f.run("assert(roundtrip(ptr, {p = ptr}))") == "");
    CHECK(f.run("local p = unpack(packstring(ptr)) assert(p == ptr)") == "");
}

TEST_CASE("seri: __pairs is honoured") {
    lua_fixture f;
    CHECK(f.run(R"(
        local hidden = {a = 1, b = 'two', [1] = 'one', [2] = {3}}
        local proxy = setmetatable({ignored = true}, {__pairs = function(t) return next, hidden, nil end})
        local s = packstring(proxy)
        assert(s:byte(1) == 0x06, "array size 0")
        assert(s:byte(#s) == 0x00, "ends with nil")
        local back = unpack(s)
        assert(same(back, hidden))
        assert(back.ignored == nil)
    )") == "");
    // A stateful iterator: only what it yields is packed.
    CHECK(f.run(R"(
        local proxy = setmetatable({}, {__pairs = function(t)
            local i = 0
            return function() i = i + 1 if i <= 3 then return i * 10, i end end, t, nil
        end})
        local back = unpack(packstring(proxy))
        assert(same(back, {[10] = 1, [20] = 2, [30] = 3}))
    )") == "");
    // Errors from __pairs propagate; on a big message the heap buffer must not leak (AddressSanitizer).
    std::string err = f.run(R"(
        local bad = setmetatable({}, {__pairs = function() error("pairs exploded") end})
        pack(string.rep('x', 5000), bad)
    )");
    CHECK(err.find("pairs exploded") != std::string::npos);
    err = f.run(R"(
        local bad = setmetatable({}, {__pairs = function() error("pairs exploded") end})
        packstring(string.rep('x', 5000), bad)
    )");
    CHECK(err.find("pairs exploded") != std::string::npos);
}

TEST_CASE("seri: depth limit") {
    lua_fixture f;
    const char* nest = R"(
        function nest(n, leaf)
            local t = leaf
            for i = 1, n do t = {t} end
            return t
        end
    )";
    REQUIRE(f.run(nest) == "");
    // 32 tables around a value pack; a 33rd raises.
    CHECK(f.run("assert(roundtrip(nest(32, 1)))") == "");
    CHECK(f.run("pack(nest(33, 1))").find("serialize can't pack too depth table") != std::string::npos);
    CHECK(f.run("packstring(nest(33, 1))").find("serialize can't pack too depth table") != std::string::npos);
    CHECK(f.run("local t = {} t.self = t pack(t)").find("serialize can't pack too depth table") !=
          std::string::npos);
    // The error also frees a big partly written buffer (checked under AddressSanitizer).
    CHECK(f.run("pack(string.rep('y', 100000), nest(40, 'leaf'))").find("too depth") != std::string::npos);
}

TEST_CASE("seri: unsupported types") {
    lua_fixture f;
    CHECK(f.run("pack(print)").find("Unsupport type function to serialize") != std::string::npos);
    CHECK(f.run("pack(1, {f = function() end})").find("Unsupport type function to serialize") !=
          std::string::npos);
    CHECK(f.run("packstring(coroutine.create(print))").find("Unsupport type thread to serialize") !=
          std::string::npos);
    CHECK(f.run("pack(io.stdout)").find("Unsupport type userdata to serialize") != std::string::npos);
    CHECK(f.run("pack(string.rep('x', 3000), {[print] = 1})").find("Unsupport type function") !=
          std::string::npos);
}

TEST_CASE("seri: the C++ entry packs exactly the given slots") {
    lua_fixture f;
    // packrange's own stack is (from, to, a, b, c): slots 3..5 are the values.
    CHECK(f.run("assert(packrange(3, 5, 1, 'a', {2}) == packstring(1, 'a', {2}))") == "");
    CHECK(f.run("assert(packrange(4, 4, 1, 'a', {2}) == packstring('a'))") == "");
    CHECK(f.run("assert(packrange(-2, -1, 1, 'a', {2}) == packstring('a', {2}))") == "");
    CHECK(f.run("assert(packrange(4, 3, 1, 'a') == '')") == "");
    CHECK(f.run("assert(packrange(3, 3, string.rep('big', 1000)) == packstring(string.rep('big', 1000)))") == "");
    CHECK(f.run("packrange(3, 3, print)").find("Unsupport type function") != std::string::npos);
    // pack() with no values still gives a real pointer (size 0), which unpacks to nothing.
    CHECK(f.run("local m, s = pack() assert(m ~= nil and s == 0) assert(select('#', unpack(m, s)) == 0) "
                "trash(m, s)") == "");
}

TEST_CASE("seri: unpack of empty or null input") {
    lua_fixture f;
    CHECK(f.run("assert(select('#', unpack()) == 0)") == "");
    CHECK(f.run("assert(select('#', unpack(nil)) == 0)") == "");
    CHECK(f.run("assert(select('#', unpack('')) == 0)") == "");
    lua_pushlightuserdata(f.L, nullptr);
    lua_setglobal(f.L, "null");
    CHECK(f.run("assert(select('#', unpack(null, 0)) == 0)") == "");
    CHECK(f.run("unpack(null, 5)").find("deserialize null pointer") != std::string::npos);
    CHECK(starts_with(f.run("local m, s = pack(1) local ok, e = pcall(unpack, m, -1) trash(m, s) error(e, 0)"),
                      "Invalid serialize stream"));
}

TEST_CASE("seri: every truncation of a valid buffer is an error, never an overread") {
    lua_fixture f;
    // A single value: no proper prefix of it is a complete stream.
    REQUIRE(f.run(R"(
        sample = packstring({
            1, 255, 256, 65536, -7, 2^40 // 1, 1.25, true, false, 'short', string.rep('L', 300),
            nested = {a = {b = {c = 'd'}}, list = {1, 2, 3}},
            [0.5] = 'half', [-3] = 'neg',
        })
    )") == "");
    lua_getglobal(f.L, "sample");
    size_t n = lua_rawlen(f.L, -1);
    lua_pop(f.L, 1);
    REQUIRE(n > 350);
    CHECK(f.run("assert(roundtrip(unpackcopy(sample)))") == "");
    for (size_t len = 1; len < n; ++len) {
        CAPTURE(len);
        std::string err = f.run("unpackcopy(sample, " + std::to_string(len) + ")");
        CHECK(starts_with(err, "Invalid serialize stream"));
    }
    // The long-string forms, cut at their header bytes and at scattered points of the body.
    REQUIRE(f.run("big = packstring(string.rep('B', 70000)) mid = packstring(string.rep('M', 40))") == "");
    for (int len : {1, 2, 3, 4, 5, 6, 1000, 40000, 69999, 70004}) {
        CAPTURE(len);
        CHECK(starts_with(f.run("unpackcopy(big, " + std::to_string(len) + ")"), "Invalid serialize stream"));
    }
    for (int len = 1; len < 43; ++len) {
        CAPTURE(len);
        CHECK(starts_with(f.run("unpackcopy(mid, " + std::to_string(len) + ")"), "Invalid serialize stream"));
    }
}

TEST_CASE("seri: malformed headers") {
    lua_fixture f;
    struct bad_case {
        bytes input;
        const char* why;
    };
    const bad_case cases[] = {
        {{0x07}, "type 7 does not exist"},
        {{0x1a}, "integer cookie 3"},
        {{0x2a, 0, 0, 0, 0, 0, 0, 0, 0, 0}, "integer cookie 5"},
        {{0x4a, 0, 0}, "integer cookie 9"},
        {{0x0d, 0, 0}, "long string cookie 1"},
        {{0x1d, 0, 0, 0}, "long string cookie 3"},
        {{0x25, 0xff, 0xff, 0xff, 0xff, 'a'}, "long string longer than the buffer"},
        {{0xfe, 0x42, 0, 0, 0, 0, 0, 0, 0, 0, 0}, "array size as a float"},
        {{0xfe, 0x0c, 'x'}, "array size as a string"},
        {concat({{0xfe, 0x32}, le(0x7fffffffffffffffull, 8), {0x00}}), "huge array size"},
        {{0xfe, 0x22, 0xff, 0xff, 0xff, 0xff, 0x00}, "negative array size"},
        {{0xfe, 0x0a, 0x05, 0x00, 0x00}, "array size beyond the data"},
        {concat({{0x06, 0x42}, le(0x7ff8000000000000ull, 8), {0x0a, 0x01, 0x00}}), "NaN key"},
        {{0x06, 0x0a, 0x01}, "table without end"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.why);
        lua_pushlstring(f.L, reinterpret_cast<const char*>(c.input.data()), c.input.size());
        lua_setglobal(f.L, "input");
        CHECK(starts_with(f.run("unpackcopy(input)"), "Invalid serialize stream"));
    }
}

TEST_CASE("seri: hostile nesting and value counts fail cleanly") {
    lua_fixture f;
    // 100000 nested table openings would recurse in C without a limit.
    CHECK(starts_with(f.run("unpack(string.rep('\\6', 100000))"), "Invalid serialize stream"));
    CHECK(starts_with(f.run("unpack(string.rep('\\14', 100000))"), "Invalid serialize stream"));
    // Deep but legal nesting (what pack can produce) still unpacks.
    CHECK(f.run("local s = string.rep('\\14', 33) .. '\\10\\1' .. string.rep('\\0', 33) "
                "local t = unpack(s) for i = 1, 33 do t = t[1] end assert(t == 1)") == "");
    // More values than a Lua stack holds.
    CHECK(starts_with(f.run("unpack(string.rep('\\0', 1200000))"), "Invalid serialize stream"));
}

TEST_CASE("seri: random garbage never crashes") {
    lua_fixture f;
    std::mt19937 rng(12345);
    // Plain garbage, garbage rich in table/number/string headers, and mutations of a valid stream.
    REQUIRE(f.run("valid = packstring({1, 'two', {3, x = 4.5}, y = string.rep('s', 40), [7] = true})") == "");
    lua_getglobal(f.L, "valid");
    size_t vlen = 0;
    const char* v = lua_tolstring(f.L, -1, &vlen);
    const std::string valid(v, vlen);
    lua_pop(f.L, 1);
    const uint8_t favourite[] = {0x06, 0x0e, 0xfe, 0x02, 0x0a, 0x22, 0x32, 0x42, 0x04, 0x14, 0x15, 0x25, 0x00, 0x09};
    int ok = 0;
    int failed = 0;
    for (int round = 0; round < 6000; ++round) {
        std::string input;
        int mode = round % 3;
        if (mode == 2) {
            input = valid;
            int flips = 1 + static_cast<int>(rng() % 4);
            for (int i = 0; i < flips; ++i) {
                input[rng() % input.size()] = static_cast<char>(rng() & 0xff);
            }
            if (rng() % 2) {
                input.resize(rng() % (input.size() + 1));
            }
        } else {
            size_t len = rng() % 48;
            for (size_t i = 0; i < len; ++i) {
                uint8_t b = mode == 0 ? static_cast<uint8_t>(rng()) : favourite[rng() % sizeof favourite];
                input.push_back(static_cast<char>(b));
            }
        }
        lua_pushlstring(f.L, input.data(), input.size());
        lua_setglobal(f.L, "input");
        std::string err = f.run("unpackcopy(input)");
        if (err.empty()) {
            ++ok;
        } else {
            ++failed;
            CAPTURE(err);
            CHECK(starts_with(err, "Invalid serialize stream"));
        }
    }
    // Both outcomes must have happened, or the generator is not exercising the decoder.
    CHECK(ok > 0);
    CHECK(failed > 0);
}
