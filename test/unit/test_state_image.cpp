// state_image: copies of a built Lua state behave as the state did, independently of each other.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "lua/state_image.h"

using skynet::state_arena;
using skynet::state_image;

namespace {

// Runs a chunk in L; returns its first result as a string ("error: ..." when it raised).
std::string run(lua_State* L, const char* code) {
    if (luaL_loadstring(L, code) != LUA_OK || lua_pcall(L, 0, 1, 0) != LUA_OK) {
        std::string err = std::string("error: ") + lua_tostring(L, -1);
        lua_pop(L, 1);
        return err;
    }
    const char* s = luaL_tolstring(L, -1, nullptr);
    std::string out = s ? s : "";
    lua_pop(L, 2);
    return out;
}

// A state with the libraries, globals of several kinds, functions, a metatable and a suspended coroutine
// (build_closures below closes upvalues).
void build_sample(lua_State* L, void*) {
    luaL_openlibs(L);
    const char* code = R"(
        counter = 0
        hidden = { n = 41 }
        function bump() counter = counter + 1; hidden.n = hidden.n + 1; return hidden.n end
        words = {}
        for i = 1, 200 do words["w" .. i] = i; words[i] = "v" .. i end
        proxy = setmetatable({}, { __index = function(_, k) return "missing " .. k end })
        gen = coroutine.create(function(a)
            local b = coroutine.yield(a + 1)
            local c = coroutine.yield(b * 2)
            return a + b + c
        end)
        assert(coroutine.resume(gen, 10))
        pi = math.pi
        big = math.maxinteger
    )";
    if (luaL_dostring(L, code) != LUA_OK) lua_error(L);
}

void build_raising(lua_State* L, void*) {
    luaL_openlibs(L);
    luaL_error(L, "refused on purpose");
}

// A table keyed by a table: found by its address, which a copy changes.
void build_address_keys(lua_State* L, void*) {
    luaL_openlibs(L);
    if (luaL_dostring(L, "keyed = {}; for i = 1, 20 do keyed[{}] = i end") != LUA_OK) lua_error(L);
}

}  // namespace

TEST_CASE("state_image: a copy runs as the state it was made from") {
    std::string why;
    auto img = state_image::make(build_sample, nullptr, &why);
    REQUIRE_MESSAGE(img, why);
    CHECK(img->pointer_count() > 100);
    CHECK(img->head_bytes() >= img->lua_bytes());
    CHECK(img->tail_bytes() == 0);

    state_arena arena;
    lua_State* L = img->copy(skynet::arena_allocate, &arena, arena);
    REQUIRE(L);
    CHECK(run(L, "return bump()") == "42");
    CHECK(run(L, "return bump() .. ' ' .. counter") == "43 2");
    // keys made in the copy find the image's entries: same string hashes
    CHECK(run(L, "local k = 'w' .. (100 + 7); return words[k] .. words[5]") == "107v5");
    CHECK(run(L, "return proxy.abc") == "missing abc");
    CHECK(run(L, "return select(2, coroutine.resume(gen, 5))") == "10");
    CHECK(run(L, "return select(2, coroutine.resume(gen, 7))") == "22");
    CHECK(run(L, "return coroutine.status(gen)") == "dead");
    CHECK(run(L, "return pi == math.pi and big == math.maxinteger") == "true");
    CHECK(run(L, "return string.format('%5.1f|%s', 2.25, ('x'):rep(3))") == "  2.2|xxx");
    // grows well past the arena and collects: blocks of the arena move out, frees of the rest are no-ops
    CHECK(run(L, R"(
        for i = 1, 200 do words["w" .. i] = nil end
        local t = {}
        for i = 1, 20000 do t[i] = { i, tostring(i) } end
        collectgarbage()
        for k in pairs(words) do words[k] = nil end
        collectgarbage()
        return #t + (next(words) == nil and 1 or 0))") == "20001");
    lua_close(L);
    arena.release();
}

TEST_CASE("state_image: copies are independent of each other") {
    std::string why;
    auto img = state_image::make(build_sample, nullptr, &why);
    REQUIRE_MESSAGE(img, why);
    std::vector<lua_State*> states;
    std::vector<state_arena> arenas(16);
    for (auto& a : arenas) {
        lua_State* L = img->copy(skynet::arena_allocate, &a, a);
        REQUIRE(L);
        states.push_back(L);
    }
    for (size_t i = 0; i < states.size(); ++i)
        for (size_t k = 0; k <= i; ++k) run(states[i], "bump()");
    for (size_t i = 0; i < states.size(); ++i) {
        CHECK(run(states[i], "return counter") == std::to_string(i + 1));
        CHECK(run(states[i], "return select(2, coroutine.resume(gen, 1))") == "2");
    }
    for (size_t i = 0; i < states.size(); ++i) {
        lua_close(states[i]);
        arenas[i].release();
    }
}

TEST_CASE("state_image: a build that raises makes no image and says why") {
    std::string why;
    auto img = state_image::make(build_raising, nullptr, &why);
    CHECK_FALSE(img);
    CHECK(why.find("refused on purpose") != std::string::npos);
}

TEST_CASE("state_image: a state with tables keyed by address is refused") {
    std::string why;
    auto img = state_image::make(build_address_keys, nullptr, &why);
    CHECK_FALSE(img);
    CHECK(why.find("hashed by address") != std::string::npos);
}

namespace {

// arena_allocate that also notes the head offsets of the arena blocks Lua frees (what snlua learns from).
struct learning_arena {
    state_arena arena;
    std::vector<uint32_t> freed;
};

void* learning_allocate(void* ud, void* ptr, size_t osize, size_t nsize) {
    auto* l = static_cast<learning_arena*>(ud);
    if (ptr && nsize == 0 && uintptr_t(ptr) - l->arena.base < l->arena.size)
        l->freed.push_back(uint32_t(uintptr_t(ptr) - l->arena.base));
    return skynet::arena_allocate(&l->arena, ptr, osize, nsize);
}

const char* const drop_words = "for k in pairs(words) do words[k] = nil end; words = nil; collectgarbage(); return 1";

}  // namespace

TEST_CASE("state_image: blocks a copy freed move to a tail that later copies give back") {
    std::string why;
    auto img = state_image::make(build_sample, nullptr, &why);
    REQUIRE_MESSAGE(img, why);

    learning_arena first;
    lua_State* L = img->copy(learning_allocate, &first, first.arena);
    REQUIRE(L);
    CHECK(run(L, drop_words) == "1");
    std::vector<uint32_t> freed = first.freed;   // not what lua_close frees
    lua_close(L);
    first.arena.release();
    REQUIRE(freed.size() > 100);   // the 400 entries of `words`, their keys and values

    auto split = img->split(freed);
    CHECK(split->tail_bytes() > 0);
    CHECK(split->head_bytes() + split->tail_bytes() >= split->lua_bytes());
    CHECK(split->head_bytes() < img->head_bytes());

    state_arena arena;
    L = split->copy(skynet::arena_allocate, &arena, arena);
    REQUIRE(L);
    CHECK(arena.tail != 0);
    CHECK(run(L, drop_words) == "1");   // what the first copy did
    CHECK(arena.tail == 0);    // every block of the tail was freed: the buffer went back
    CHECK(arena.tail_live == 0);
    CHECK(run(L, "return bump() .. select(2, coroutine.resume(gen, 5))") == "4210");
    lua_close(L);
    arena.release();

    // a copy that keeps what the tail holds keeps the tail
    state_arena kept;
    L = split->copy(skynet::arena_allocate, &kept, kept);
    REQUIRE(L);
    CHECK(run(L, "collectgarbage(); return words.w200 .. words[3]") == "200v3");
    CHECK(kept.tail != 0);
    lua_close(L);
    kept.release();
}

namespace {

// Closures made and returned at build time: their upvalues are closed when the factory returns (a closed
// upvalue keeps stale bytes of a pointer, state_image.cpp's forget_stale_bytes).
void build_closures(lua_State* L, void*) {
    luaL_openlibs(L);
    const char* code = R"(
        local function counter(start)
            local n, log = start, {}
            return function(step)
                n = n + step
                log[#log + 1] = n
                return n, #log
            end
        end
        counters = {}
        for i = 1, 50 do counters[i] = counter(i * 100) end
        local shared = { hits = 0 }
        function hit() shared.hits = shared.hits + 1; return shared.hits end
        local flag = true
        function toggle() flag = not flag; return flag end
        -- many upvalues closed together: their list pointers point at each other
        local function wide(k)
            local a, b, c, d, e, f, g, h = k, {}, "s" .. k, k * 2, {k}, k + 0.5, true, {}
            local i, j, l, m, n, o, p, q = {}, k, "t" .. k, {}, k, false, {}, k
            return function()
                return a + d + j + n + q + e[1] + f + #c + #l + (g and 1 or 0) + (o and 1 or 0) +
                    #b + #h + #i + #m + #p
            end
        end
        -- made in a coroutine that stays: the stale pointers point into its lua_State
        wides = {}
        keeper = coroutine.create(function()
            for k = 1, 200 do wides[k] = wide(k) end
            coroutine.yield()
        end)
        coroutine.resume(keeper)
    )";
    if (luaL_dostring(L, code) != LUA_OK) lua_error(L);
}

// What the outside object of a build is in the test: a C function reads it through a light userdata
// upvalue pointing into it, the registry keeps a pointer to another of its fields.
struct outside_object {
    long before = 0;
    long value = 0;
};

int read_outside(lua_State* L) {
    lua_pushinteger(L, static_cast<outside_object*>(lua_touserdata(L, lua_upvalueindex(1)))->value);
    return 1;
}

void build_outside(lua_State* L, void* arg) {
    auto* o = static_cast<outside_object*>(arg);
    luaL_openlibs(L);
    lua_pushlightuserdata(L, o);
    lua_pushcclosure(L, read_outside, 1);
    lua_setglobal(L, "read_outside");
    lua_pushlightuserdata(L, &o->value);
    lua_setfield(L, LUA_REGISTRYINDEX, "outside_value");
}

}  // namespace

TEST_CASE("state_image: closures whose upvalues the build closed run in copies") {
    std::string why;
    auto img = state_image::make(build_closures, nullptr, &why);
    REQUIRE_MESSAGE(img, why);
    std::vector<state_arena> arenas(3);
    std::vector<lua_State*> states;
    for (auto& a : arenas) {
        lua_State* L = img->copy(skynet::arena_allocate, &a, a);
        REQUIRE(L);
        states.push_back(L);
    }
    for (size_t i = 0; i < states.size(); ++i) {
        lua_State* L = states[i];
        CHECK(run(L, "local n, c = counters[7](5); return n .. ' ' .. c") == "705 1");
        CHECK(run(L, "local n, c = counters[7](5); return n .. ' ' .. c") == "710 2");
        CHECK(run(L, "return counters[50](-1)") == "4999");
        for (size_t k = 0; k <= i; ++k) run(L, "hit()");
        CHECK(run(L, "return toggle()") == "false");
        CHECK(run(L, "collectgarbage(); return counters[1](0)") == "100");
        CHECK(run(L, "local s = 0; for k = 1, 200 do s = s + wides[k]() end; return s") == "162484.0");
    }
    for (size_t i = 0; i < states.size(); ++i) {
        CHECK(run(states[i], "return hit()") == std::to_string(i + 2));
        lua_close(states[i]);
        arenas[i].release();
    }
}

TEST_CASE("state_image: pointers into the build's outside object are bound to another one") {
    outside_object built, mine, theirs;
    built.value = 1;
    mine.value = 2;
    theirs.value = 3;
    std::string why;
    auto img = state_image::make(build_outside, &built, &why, &built, sizeof built);
    REQUIRE_MESSAGE(img, why);
    CHECK(img->binds_outside());
    state_arena a, b;
    lua_State* A = img->copy(skynet::arena_allocate, &a, a);
    lua_State* B = img->copy(skynet::arena_allocate, &b, b);
    REQUIRE(A);
    REQUIRE(B);
    CHECK(run(A, "return read_outside()") == "1");   // bound to the build's until told otherwise
    img->bind(a, &built, &mine);
    img->bind(b, &built, &theirs);
    CHECK(run(A, "return read_outside()") == "2");
    CHECK(run(B, "return read_outside()") == "3");
    lua_getfield(A, LUA_REGISTRYINDEX, "outside_value");
    CHECK(lua_touserdata(A, -1) == &mine.value);
    lua_getfield(B, LUA_REGISTRYINDEX, "outside_value");
    CHECK(lua_touserdata(B, -1) == &theirs.value);
    img->bind(b, &theirs, &mine);
    CHECK(run(B, "return read_outside()") == "2");
    lua_close(A);
    lua_close(B);
    a.release();
    b.release();
    // without an outside object the same build's pointers are plain values, copied as they are
    auto plain = state_image::make(build_outside, &built, &why);
    REQUIRE_MESSAGE(plain, why);
    CHECK_FALSE(plain->binds_outside());
}
