// Shared by the fuzz targets that run Lua: a Lua state whose memory and running time are bounded, and
// coverage of Lua code fed back to libFuzzer.
//
// Why: the system liblua is not instrumented, so libFuzzer sees no coverage in Lua code (the pub/sub wire
// parser, the debug console). A line hook maps each (source, previous line, line) edge to a byte in an
// extra-counters section, which libFuzzer reads like its own edge counters. The same hook counts
// instructions, so an input that makes the code under test loop (a `call` command of the console runs
// any expression) ends with a Lua error instead of a libFuzzer timeout; the memory cap does the same for
// an input that asks for a huge string. A run that hit either budget is marked, and the targets do not
// judge its outcome.
#pragma once

#include <lua.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace fuzz {

// libFuzzer (Linux) treats every byte of this section as a coverage counter.
constexpr size_t lua_counter_count = 1 << 16;
__attribute__((used, section("__libfuzzer_extra_counters"))) inline uint8_t lua_counters[lua_counter_count];

struct budget {
    size_t memory_limit = 256u << 20;
    size_t memory_used = 0;
    long instruction_limit = 20'000'000;   // per run, counted in steps of hook_step
    long instructions = 0;
    bool exhausted = false;                 // this run hit a limit: its outcome says nothing
    uintptr_t previous_line = 0;
    bool track_lines = false;
};

constexpr int hook_step = 1000;

inline budget& current_budget() {
    static budget b;
    return b;
}

inline void* limited_alloc(void* ud, void* ptr, size_t osize, size_t nsize) {
    auto* b = static_cast<budget*>(ud);
    if (ptr == nullptr) osize = 0;
    if (nsize == 0) {
        std::free(ptr);
        b->memory_used -= osize;
        return nullptr;
    }
    if (nsize > osize && b->memory_used - osize + nsize > b->memory_limit) {
        b->exhausted = true;
        return nullptr;   // Lua raises "not enough memory"
    }
    void* p = std::realloc(ptr, nsize);
    if (p != nullptr) b->memory_used = b->memory_used - osize + nsize;
    return p;
}

inline uintptr_t mix(uintptr_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

inline void hook(lua_State* L, lua_Debug* ar) {
    budget& b = current_budget();
    if (ar->event == LUA_HOOKCOUNT) {
        b.instructions += hook_step;
        if (b.instructions > b.instruction_limit) {
            b.exhausted = true;
            luaL_error(L, "fuzz: instruction budget exhausted");
        }
        return;
    }
    if (ar->event == LUA_HOOKLINE && lua_getinfo(L, "S", ar) != 0) {
        // The source text's address identifies a chunk for the lifetime of the state.
        auto here = mix(reinterpret_cast<uintptr_t>(ar->source) * 31 + uintptr_t(ar->currentline));
        size_t edge = (here ^ (b.previous_line >> 1)) % lua_counter_count;
        b.previous_line = here;
        if (lua_counters[edge] != 255) ++lua_counters[edge];
    }
}

// A state with the standard libraries, the memory cap and the hook (line coverage when track_lines).
inline lua_State* new_state(bool track_lines) {
    budget& b = current_budget();
    b.track_lines = track_lines;
    lua_State* L = lua_newstate(limited_alloc, &b);
    if (L == nullptr) std::abort();
    luaL_openlibs(L);
    lua_sethook(L, hook, LUA_MASKCOUNT | (track_lines ? LUA_MASKLINE : 0), hook_step);
    return L;
}

// Starts a run: fresh budgets (the memory in use stays counted).
inline void begin_run() {
    budget& b = current_budget();
    b.instructions = 0;
    b.exhausted = false;
    b.previous_line = 0;
}

// Reports an input that broke a property and aborts, so that libFuzzer saves it as a crash.
[[noreturn]] inline void fail(const char* what, const char* detail = "") {
    std::fprintf(stderr, "FUZZ PROPERTY BROKEN: %s %s\n", what, detail);
    std::abort();
}

}  // namespace fuzz
