#include "lua/state_image.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

namespace skynet {

namespace {

// Where images are built. A word of a built state is taken for a pointer when its value lies in the region,
// so the region's addresses are chosen to be values nothing else in a state spells: as a double they are
// subnormal, as an integer some 10^14, as two Lua instructions the upper one has opcode 90 (Lua 5.4 has 83),
// as string bytes they need 0xA5 0xA5 'Z' 'Z' and two NULs in a row.  The thread sanitizer keeps the high
// range for itself, so its builds use a low address of the same kind (its application range starts there).
#if defined(__SANITIZE_THREAD__)
constexpr uintptr_t region_address = 0x005aa5a50000;
#else
constexpr uintptr_t region_address = 0x5a5aa5a50000;
#endif
constexpr size_t region_size = size_t(64) << 20;

// Blocks are placed 8-byte aligned (all Lua needs) with at least one byte between them, so that a pointer
// just past a block's end (Lua keeps some, a table's lastfree for one) is not also the next block's start.
constexpr size_t step_for(size_t n) { return (n + 8) & ~size_t(7); }

struct region {
    unsigned char* base = nullptr;
    size_t used = 0;
    std::map<uintptr_t, size_t> live;   // start -> size of every block the state holds
};

// One build at a time; the region is mapped once and never unmapped. A copied state may keep, in slots Lua
// no longer reads (the stack above its top, the value of a removed table entry), the address of a block the
// build had freed; such a word is copied unchanged and must never equal the address of a live object of
// any state, which holds as long as nothing else is ever mapped here.
std::mutex region_mu;

unsigned char* map_region() {
    static unsigned char* base = [] () -> unsigned char* {
        void* p = mmap(reinterpret_cast<void*>(region_address), region_size, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
        if (p == MAP_FAILED) return nullptr;
        if (reinterpret_cast<uintptr_t>(p) != region_address) {   // a kernel that took the address as a hint
            munmap(p, region_size);
            return nullptr;
        }
        return static_cast<unsigned char*>(p);
    }();
    return base;
}

void* region_allocate(void* ud, void* ptr, size_t osize, size_t nsize) noexcept {
    auto* r = static_cast<region*>(ud);
    try {
        if (nsize == 0) {
            if (ptr) r->live.erase(reinterpret_cast<uintptr_t>(ptr));
            return nullptr;
        }
        if (ptr && nsize <= osize) {   // shrinks in place; the rest of the block is never handed out again
            r->live[reinterpret_cast<uintptr_t>(ptr)] = nsize;
            return ptr;
        }
        size_t step = step_for(nsize);
        if (step > region_size - r->used) return nullptr;
        unsigned char* p = r->base + r->used;
        r->used += step;
        r->live.emplace(reinterpret_cast<uintptr_t>(p), nsize);
        if (ptr) {
            std::memcpy(p, ptr, osize);
            r->live.erase(reinterpret_cast<uintptr_t>(ptr));
        }
        return p;
    } catch (...) {   // the block map could not grow: Lua sees an allocation failure
        return nullptr;
    }
}

// A closed upvalue of Lua 5.4 (40 bytes: the object header, the pointer to its value, then the value, which
// while the upvalue was open held two list pointers) keeps, after its value's one-byte type tag, seven bytes
// of the second list pointer. Read as a word with the tag, they may well fall in a live block, and the copy
// would then add to the tag. The block is recognised by its size and by its value pointer pointing into
// itself, which only a closed upvalue's does; the seven bytes, which Lua never reads, are cleared. Should
// Lua's layout differ, nothing is cleared and the comparison refuses an image that came out wrong.
void forget_stale_bytes(unsigned char* raw, uintptr_t address, size_t size) {
    constexpr size_t upvalue_size = 40, value_pointer = 16, value = 24, value_tag = 32;
    if (size != upvalue_size) return;
    uint64_t v;
    std::memcpy(&v, raw + value_pointer, 8);
    if (v == address + value) std::memset(raw + value_tag + 1, 0, upvalue_size - value_tag - 1);
}

// Adds delta to each 8-byte word of buffer whose index is listed.
void add_to_words(unsigned char* buffer, const std::vector<uint32_t>& words, uint64_t delta) {
    for (uint32_t i : words) {
        unsigned char* w = buffer + size_t(i) * 8;
        uint64_t v;
        std::memcpy(&v, w, 8);
        v += delta;
        std::memcpy(w, &v, 8);
    }
}

struct build_call {
    state_image::build_fn build;
    void* arg;
};

int run_build(lua_State* L) {
    auto* call = static_cast<build_call*>(lua_touserdata(L, 1));
    lua_settop(L, 0);
    call->build(L, call->arg);
    return 0;
}

int dump_to(lua_State*, const void* p, size_t n, void* ud) {
    static_cast<std::string*>(ud)->append(static_cast<const char*>(p), n);
    return 0;
}

struct comparison {
    lua_State* L;                // the state an image was made from
    const state_arena* arena;    // where its copy's blocks are
    uintptr_t region_lo, region_hi;
};

// Walks the state an image was made from and its copy side by side from their registries, through table
// entries, metatables, upvalues, user values and the stacks of coroutines, and raises at the first
// difference: another type, another number, string or C function, another entry count, another Lua function
// (their dumps, with debug information, differ), or a table key that Lua finds by its address (a table, a
// function, a userdata, a thread, or a light userdata pointing into the state: in a copy it has another
// address and a look-up would miss it). Runs in the copy, under lua_pcall; the pairs still to compare are in
// a table of each state (index 1), in step; the copy's objects already compared in another (index 2).
int compare_copy(lua_State* C) {
    const auto* cmp = static_cast<const comparison*>(lua_touserdata(C, 1));
    lua_State* L = cmp->L;
    lua_settop(C, 0);
    lua_settop(L, 0);
    if (!lua_checkstack(L, 8)) return luaL_error(C, "no stack to compare with");
    lua_newtable(C);
    lua_newtable(C);
    lua_newtable(L);
    lua_Integer n = 0;
    auto pending = [&](int li, int ci) {   // queues the pair (L's value at li, C's at ci)
        lua_pushvalue(L, li);
        lua_rawseti(L, 1, n + 1);
        lua_pushvalue(C, ci);
        lua_rawseti(C, 1, ++n);
    };
    lua_pushvalue(L, LUA_REGISTRYINDEX);
    lua_pushvalue(C, LUA_REGISTRYINDEX);
    pending(-1, -1);
    lua_settop(L, 1);
    lua_settop(C, 2);
    auto in_region = [&](const void* p) { return uintptr_t(p) - cmp->region_lo < cmp->region_hi - cmp->region_lo; };
    while (n > 0) {
        lua_rawgeti(L, 1, n);   // L: 2
        lua_pushnil(L);
        lua_rawseti(L, 1, n);
        lua_rawgeti(C, 1, n);   // C: 3
        lua_pushnil(C);
        lua_rawseti(C, 1, n--);
        int t = lua_type(L, 2);
        if (lua_type(C, 3) != t)
            return luaL_error(C, "a %s became a %s", lua_typename(L, t), luaL_typename(C, 3));
        switch (t) {
        case LUA_TBOOLEAN:
            if (lua_toboolean(L, 2) != lua_toboolean(C, 3)) return luaL_error(C, "a boolean changed");
            break;
        case LUA_TNUMBER: {
            lua_Number x = lua_tonumber(L, 2), y = lua_tonumber(C, 3);   // bit for bit: NaN and -0.0 too
            if (lua_isinteger(L, 2) != lua_isinteger(C, 3) || lua_tointeger(L, 2) != lua_tointeger(C, 3) ||
                std::memcmp(&x, &y, sizeof x) != 0)
                return luaL_error(C, "a number changed");
            break;
        }
        case LUA_TSTRING: {
            size_t a, b;
            const char* x = lua_tolstring(L, 2, &a);
            const char* y = lua_tolstring(C, 3, &b);
            if (a != b || std::memcmp(x, y, a) != 0) return luaL_error(C, "a string changed");
            break;
        }
        case LUA_TLIGHTUSERDATA:
            if (in_region(lua_touserdata(L, 2)) ? !cmp->arena->owns(lua_touserdata(C, 3))
                                                 : lua_touserdata(L, 2) != lua_touserdata(C, 3))
                return luaL_error(C, "a light userdata changed");
            break;
        case LUA_TTABLE: case LUA_TFUNCTION: case LUA_TUSERDATA: case LUA_TTHREAD: {
            lua_pushvalue(C, 3);
            if (lua_rawget(C, 2) != LUA_TNIL) break;
            lua_pushvalue(C, 3);
            lua_pushboolean(C, 1);
            lua_rawset(C, 2);
            lua_settop(C, 3);
            int lm = lua_getmetatable(L, 2), cm = lua_getmetatable(C, 3);
            if (lm != cm) return luaL_error(C, "a metatable changed");
            if (lm) pending(-1, -1);
            lua_settop(L, 2);
            lua_settop(C, 3);
            if (t == LUA_TTABLE) {
                lua_Integer count = 0;
                lua_pushnil(L);
                while (lua_next(L, 2)) {   // L: 3 key, 4 value
                    int kt = lua_type(L, 3);
                    if (kt == LUA_TTABLE || kt == LUA_TFUNCTION || kt == LUA_TUSERDATA || kt == LUA_TTHREAD ||
                        (kt == LUA_TLIGHTUSERDATA && in_region(lua_touserdata(L, 3))))
                        return luaL_error(C, "a table key of type %s is hashed by address", lua_typename(L, kt));
                    if (kt == LUA_TSTRING) {
                        size_t len;
                        const char* k = lua_tolstring(L, 3, &len);
                        lua_pushlstring(C, k, len);
                    } else if (kt == LUA_TNUMBER) {
                        if (lua_isinteger(L, 3)) lua_pushinteger(C, lua_tointeger(L, 3));
                        else lua_pushnumber(C, lua_tonumber(L, 3));
                    } else if (kt == LUA_TBOOLEAN) {
                        lua_pushboolean(C, lua_toboolean(L, 3));
                    } else {
                        lua_pushlightuserdata(C, lua_touserdata(L, 3));
                    }
                    lua_rawget(C, 3);
                    pending(4, -1);
                    lua_settop(C, 3);
                    lua_settop(L, 3);
                    ++count;
                }
                lua_pushnil(C);
                while (lua_next(C, 3)) {
                    --count;
                    lua_pop(C, 1);
                }
                if (count != 0) return luaL_error(C, "a table's entries changed");
            } else if (t == LUA_TFUNCTION) {
                if (lua_iscfunction(L, 2) != lua_iscfunction(C, 3) || lua_tocfunction(L, 2) != lua_tocfunction(C, 3))
                    return luaL_error(C, "a function changed");
                if (!lua_iscfunction(L, 2)) {
                    std::string a, b;
                    lua_dump(L, dump_to, &a, 0);
                    lua_dump(C, dump_to, &b, 0);
                    if (a != b) return luaL_error(C, "a Lua function changed");
                }
                for (int i = 1;; ++i) {
                    const char* x = lua_getupvalue(L, 2, i);
                    const char* y = lua_getupvalue(C, 3, i);
                    if (!x || !y) {
                        if (x || y) return luaL_error(C, "a function's upvalues changed");
                        break;
                    }
                    pending(-1, -1);
                    lua_settop(L, 2);
                    lua_settop(C, 3);
                }
            } else if (t == LUA_TUSERDATA) {
                if (lua_rawlen(L, 2) != lua_rawlen(C, 3)) return luaL_error(C, "a userdata changed");
                for (int i = 1;; ++i) {
                    int x = lua_getiuservalue(L, 2, i), y = lua_getiuservalue(C, 3, i);
                    if (x == LUA_TNONE || y == LUA_TNONE) {
                        if (x != y) return luaL_error(C, "a userdata's values changed");
                        break;
                    }
                    pending(-1, -1);
                    lua_settop(L, 2);
                    lua_settop(C, 3);
                }
            } else if (lua_tothread(L, 2) != L) {   // a coroutine: its stack (the main threads run this walk)
                lua_State* lt = lua_tothread(L, 2);
                lua_State* ct = lua_tothread(C, 3);
                int top = lua_gettop(lt);
                if (lua_status(lt) != lua_status(ct) || top != lua_gettop(ct))
                    return luaL_error(C, "a coroutine changed");
                for (int i = 1; i <= top; ++i) {
                    if (!lua_checkstack(L, 4) || !lua_checkstack(C, 4)) return luaL_error(C, "no stack to compare with");
                    lua_pushvalue(lt, i);
                    lua_xmove(lt, L, 1);
                    lua_pushvalue(ct, i);
                    lua_xmove(ct, C, 1);
                    pending(-1, -1);
                    lua_settop(L, 2);
                    lua_settop(C, 3);
                }
            }
            break;
        }
        default:
            break;
        }
        lua_settop(L, 1);
        lua_settop(C, 2);
    }
    return 0;
}

std::string compare_states(lua_State* L, lua_State* C, const state_arena& arena) {
    comparison cmp{L, &arena, region_address, region_address + region_size};
    lua_pushcfunction(C, compare_copy);
    lua_pushlightuserdata(C, &cmp);
    std::string wrong;
    if (lua_pcall(C, 1, 0, 0) != LUA_OK) wrong = lua_tostring(C, -1) ? lua_tostring(C, -1) : "?";
    lua_settop(C, 0);
    lua_settop(L, 0);
    return wrong;
}

}  // namespace

std::unique_ptr<state_image> state_image::make(build_fn build, void* arg, std::string* why, const void* outside,
                                               size_t outside_size) {
    auto fail = [why](const std::string& reason) {
        if (why) *why = reason;
        return std::unique_ptr<state_image>();
    };
    std::lock_guard lock(region_mu);
    region r;
    r.base = map_region();
    if (!r.base) return fail("the image region could not be mapped");
    lua_State* L = lua_newstate(region_allocate, &r);
    if (!L) return fail("out of memory opening the image's state");
    build_call call{build, arg};
    lua_pushcfunction(L, run_build);
    lua_pushlightuserdata(L, &call);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
        std::string err = lua_tostring(L, -1) ? lua_tostring(L, -1) : "?";
        lua_close(L);
        madvise(r.base, r.used, MADV_DONTNEED);
        return fail("building the image's state failed: " + err);
    }
    lua_settop(L, 0);

    std::unique_ptr<state_image> img(new state_image);
    std::vector<std::pair<uintptr_t, size_t>> live(r.live.begin(), r.live.end());
    // The block holding address v (a pointer just past a block's end included: the gaps the region leaves
    // make that unambiguous), or -1.
    auto block_of = [&](uintptr_t v) -> ptrdiff_t {
        auto it = std::upper_bound(live.begin(), live.end(), v,
                                   [](uintptr_t x, const std::pair<uintptr_t, size_t>& b) { return x < b.first; });
        if (it == live.begin()) return -1;
        --it;
        return v - it->first <= it->second ? it - live.begin() : -1;
    };
    uintptr_t lo = reinterpret_cast<uintptr_t>(r.base);
    const uintptr_t outside_lo = reinterpret_cast<uintptr_t>(outside);
    img->outside_ = outside_lo;
    for (size_t i = 0; i < live.size(); ++i) {
        size_t at = img->raw_.size();
        img->blocks_.push_back(block{at, live[i].second});
        img->lua_bytes_ += live[i].second;
        const auto* src = reinterpret_cast<const unsigned char*>(live[i].first);
        img->raw_.insert(img->raw_.end(), src, src + live[i].second);
        unsigned char* raw = img->raw_.data() + at;
        forget_stale_bytes(raw, live[i].first, live[i].second);
        for (size_t w = 0; w + 8 <= live[i].second; w += 8) {
            uint64_t v;
            std::memcpy(&v, raw + w, 8);
            if (v - outside_lo < outside_size) {
                img->links_.push_back(link{uint32_t(i), uint32_t(w), outside_block, uint32_t(v - outside_lo)});
                std::memset(raw + w, 0, 8);
                continue;
            }
            if (v - lo >= r.used) continue;
            ptrdiff_t j = block_of(v);
            if (j < 0) continue;   // a freed block's address in a slot Lua no longer reads (see region_mu)
            img->links_.push_back(link{uint32_t(i), uint32_t(w), uint32_t(j), uint32_t(v - live[j].first)});
            std::memset(raw + w, 0, 8);
        }
    }
    ptrdiff_t main = block_of(reinterpret_cast<uintptr_t>(L));
    img->main_block_ = uint32_t(main);
    img->main_delta_ = uint32_t(reinterpret_cast<uintptr_t>(L) - live[main].first);
    img->lay_out(std::vector<bool>(live.size(), false));

    // Compare a copy with the state it was made from, before anyone relies on one.
    state_arena arena;
    lua_State* C = img->copy(arena_allocate, &arena, arena);
    std::string wrong = C ? compare_states(L, C, arena) : "out of memory copying the image";
    if (C) lua_close(C);
    arena.release();
    lua_close(L);
    madvise(r.base, r.used, MADV_DONTNEED);
    if (!wrong.empty()) return fail("the image's copy is not the state it was made from: " + wrong);
    return img;
}

void state_image::lay_out(const std::vector<bool>& in_tail) {
    constexpr size_t page = 4096;
    auto rounded = [](size_t n) { return (n + 7) & ~size_t(7); };
    size_t kept = 0;
    for (size_t i = 0; i < blocks_.size(); ++i)
        if (!in_tail[i]) kept += rounded(blocks_[i].size);
    // Whole pages for the head when there are several (below four pages malloc packs the block with others);
    // the blocks that do not fit go to the rest, a small block.
    bool paged = kept >= 4 * page;
    size_t head_limit = paged ? kept / page * page : kept;
    part_of_.assign(blocks_.size(), head);
    offset_.assign(blocks_.size(), 0);
    size_t end[3] = {0, 0, 0};
    tail_lua_bytes_ = 0;
    for (size_t i = 0; i < blocks_.size(); ++i) {
        size_t n = rounded(blocks_[i].size);
        part_id p = in_tail[i] ? tail : end[head] + n <= head_limit ? head : rest;
        part_of_[i] = p;
        offset_[i] = end[p];
        end[p] += n;
        if (p == tail) tail_lua_bytes_ += blocks_[i].size;
    }
    // The head is exactly its pages even when the blocks fall a few bytes short, so that copy() can always
    // allocate it page-aligned (the last page is resident either way).
    if (paged) end[head] = head_limit;
    for (int p = 0; p < 3; ++p) part_[p].assign(end[p], 0);
    for (auto& row : fix_)
        for (auto& list : row) list.clear();
    for (size_t i = 0; i < blocks_.size(); ++i)
        std::memcpy(part_[part_of_[i]].data() + offset_[i], raw_.data() + blocks_[i].raw, blocks_[i].size);
    for (auto& list : outside_fix_) list.clear();
    for (const link& k : links_) {
        unsigned char* w = part_[part_of_[k.from]].data() + offset_[k.from] + k.at;
        uint32_t index = uint32_t((offset_[k.from] + k.at) / 8);
        uint64_t v = k.to == outside_block ? k.delta : offset_[k.to] + k.delta;
        std::memcpy(w, &v, 8);
        if (k.to == outside_block)
            outside_fix_[part_of_[k.from]].push_back(index);
        else
            fix_[part_of_[k.from]][part_of_[k.to]].push_back(index);
    }
    main_offset_ = offset_[main_block_] + main_delta_;
}

std::unique_ptr<state_image> state_image::split(const std::vector<uint32_t>& freed) const {
    std::vector<bool> in_tail(blocks_.size());
    for (size_t i = 0; i < blocks_.size(); ++i) in_tail[i] = part_of_[i] == tail;
    // The head's blocks by offset, to find each freed one.
    std::vector<std::pair<size_t, size_t>> by_offset;
    for (size_t i = 0; i < blocks_.size(); ++i)
        if (part_of_[i] == head) by_offset.emplace_back(offset_[i], i);
    std::sort(by_offset.begin(), by_offset.end());
    for (uint32_t off : freed) {
        auto it = std::lower_bound(by_offset.begin(), by_offset.end(), std::make_pair(size_t(off), size_t(0)));
        if (it != by_offset.end() && it->first == off && it->second != main_block_) in_tail[it->second] = true;
    }
    std::unique_ptr<state_image> img(new state_image(*this));
    img->lay_out(in_tail);
    return img;
}

lua_State* state_image::copy(lua_Alloc f, void* ud, state_arena& arena) const {
    unsigned char* buffer[3] = {nullptr, nullptr, nullptr};
    for (int p = 0; p < 3; ++p) {
        if (part_[p].empty()) continue;
        // The head in whole pages, page-aligned: a large block without an alignment gets one page more from
        // jemalloc (it starts at a random cache line of its first page), which every service would keep.
        size_t n = part_[p].size();
        buffer[p] = static_cast<unsigned char*>(p == head && n % 4096 == 0 ? std::aligned_alloc(4096, n) : std::malloc(n));
        if (!buffer[p]) {
            for (auto* b : buffer) std::free(b);
            return nullptr;
        }
        std::memcpy(buffer[p], part_[p].data(), part_[p].size());
    }
    for (int from = 0; from < 3; ++from) {
        for (int to = 0; to < 3; ++to)
            add_to_words(buffer[from], fix_[from][to], reinterpret_cast<uintptr_t>(buffer[to]));
        add_to_words(buffer[from], outside_fix_[from], outside_);
    }
    auto* L = reinterpret_cast<lua_State*>(buffer[part_of_[main_block_]] + main_offset_);
    lua_setallocf(L, f, ud);
    arena.base = reinterpret_cast<uintptr_t>(buffer[head]);
    arena.size = part_[head].size();
    arena.rest = reinterpret_cast<uintptr_t>(buffer[rest]);
    arena.rest_size = part_[rest].size();
    arena.tail = reinterpret_cast<uintptr_t>(buffer[tail]);
    arena.tail_size = part_[tail].size();
    arena.tail_live = tail_lua_bytes_;
    return L;
}

void state_image::bind(const state_arena& arena, const void* from, const void* to) const {
    const uintptr_t buffer[3] = {arena.base, arena.rest, arena.tail};
    const uint64_t delta = reinterpret_cast<uintptr_t>(to) - reinterpret_cast<uintptr_t>(from);
    for (int p = 0; p < 3; ++p) add_to_words(reinterpret_cast<unsigned char*>(buffer[p]), outside_fix_[p], delta);
}

void* state_arena::resize(void* p, size_t osize, size_t nsize) {
    if (nsize <= osize) {
        if (uintptr_t(p) - tail < tail_size) tail_live -= osize - nsize;   // the tail's count stays exact
        return p;
    }
    void* q = std::malloc(nsize);
    if (!q) return nullptr;
    std::memcpy(q, p, osize);
    freed(p, osize);
    return q;
}

void state_arena::release_tail() {
    std::free(reinterpret_cast<void*>(tail));
    tail = 0;
    tail_size = 0;
}

void state_arena::release() {
    std::free(reinterpret_cast<void*>(base));
    std::free(reinterpret_cast<void*>(rest));
    base = rest = 0;
    size = rest_size = 0;
    release_tail();
}

void* arena_allocate(void* ud, void* ptr, size_t osize, size_t nsize) {
    auto* a = static_cast<state_arena*>(ud);
    bool in_arena = ptr && a->owns(ptr);
    if (nsize == 0) {
        if (in_arena)
            a->freed(ptr, osize);
        else
            std::free(ptr);
        return nullptr;
    }
    if (in_arena) return a->resize(ptr, osize, nsize);
    return std::realloc(ptr, nsize);
}

}  // namespace skynet
