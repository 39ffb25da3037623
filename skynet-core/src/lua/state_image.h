// An image of an opened Lua state, from which new states are made by copying memory.
//
// Opening a state the ordinary way (luaL_openlibs, undumping the chunks every boot loads) costs ~90 us of
// CPU and thousands of allocations, and it is the same work for every service. An image is made once: the
// state is built with an allocator that places every block in a private region and knows which blocks are
// live, then the live blocks are packed into one buffer and every word that points into the region is
// noted. A copy is one malloc, one memcpy and one addition per noted word.
//
// A pointer is recognised by its value alone, which is why the region sits at an address no Lua value or
// string in a state is likely to spell (state_image.cpp); the one use of Lua's internal layout is checked.
// What the copy shares with its image must be the same for every state: the standard libraries, C
// functions, undumped chunks. Per-service values (the allocator's user data, the extra space, registry
// entries naming the service) are set on the copy.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <lua.hpp>

namespace skynet {

// The memory a copied state started with, as its allocator sees it: three buffers. The head holds blocks
// that live as long as the state, as far as the image knows, in whole pages (a malloc block this large is
// its own run of pages, and the last page, part used, would be resident all the same); the rest holds the
// long-lived blocks that did not fit, a block small enough for malloc to pack with others; the tail holds
// the blocks a boot is expected to free (empty until the image has learned which, state_image::split).
// Neither can give back part of itself: a free inside one is only counted, the tail goes back to malloc
// once all its blocks are freed, the head and the rest when the state is closed.
struct state_arena {
    uintptr_t base = 0;
    size_t size = 0;
    uintptr_t rest = 0;
    size_t rest_size = 0;
    uintptr_t tail = 0;
    size_t tail_size = 0;
    size_t tail_live = 0;   // bytes of the tail's blocks Lua has not freed yet
    bool owns(const void* p) const {
        return uintptr_t(p) - base < size || uintptr_t(p) - rest < rest_size || uintptr_t(p) - tail < tail_size;
    }
    // Lua freed the block p (owned) of osize bytes.
    void freed(void* p, size_t osize) {
        if (uintptr_t(p) - tail < tail_size && (tail_live -= osize) == 0) release_tail();
    }
    // What an allocator does when Lua resizes the block p (owned) from osize to nsize > 0: shrinks it in
    // place, or moves it to a new block of malloc. nullptr (and p kept) when out of memory.
    void* resize(void* p, size_t osize, size_t nsize);
    // Frees the buffers (after lua_close).
    void release();

private:
    void release_tail();
};

// A complete allocator for a copy, with a state_arena as its user data and malloc for the rest: what tests
// and the image's own check use; services count their blocks with their own (snlua.cpp).
void* arena_allocate(void* ud, void* ptr, size_t osize, size_t nsize);

class state_image {
public:
    // Builds a state with build(L, arg) (run under lua_pcall) and packs every block it holds. Returns nullptr,
    // with the reason in why, when no image can be made: the region could not be mapped, build raised, or a
    // copy is not the state it was made from (state_image.cpp says what is checked). build may run any Lua
    // code; the one place where a state keeps stale bytes next to a value, a closed upvalue, is cleaned
    // (state_image.cpp, forget_stale_bytes), and the check refuses a state where something else did.
    //
    // The build may also leave the address of an object outside the state in it (the C functions of a
    // service's modules keep their snlua as an upvalue): words pointing into the outside_size bytes at
    // `outside` are noted, and bind() points a copy's at another such object.
    using build_fn = void (*)(lua_State* L, void* arg);
    static std::unique_ptr<state_image> make(build_fn build, void* arg, std::string* why = nullptr,
                                             const void* outside = nullptr, size_t outside_size = 0);

    // The same image with the blocks at these offsets of the head (what a booted copy freed, relative to
    // state_arena::base) moved to the tail; offsets that start no block are ignored.
    std::unique_ptr<state_image> split(const std::vector<uint32_t>& freed) const;

    // A new state equal to the image's, whose blocks from now on come from f(ud, ...). The blocks it starts
    // with are in arena's buffers: f must not free or resize them itself (state_arena::owns tells them
    // apart), and the caller releases the arena after lua_close. nullptr when out of memory.
    lua_State* copy(lua_Alloc f, void* ud, state_arena& arena) const;
    // Points the words of a copy (in arena) that point into the outside object `from` at the same offsets of
    // `to`. A copy starts bound to make's outside object, which must outlive it or be replaced so; binding
    // must come before the copy runs (a block Lua has moved or freed since is not looked at).
    void bind(const state_arena& arena, const void* from, const void* to) const;
    bool binds_outside() const {
        return !outside_fix_[head].empty() || !outside_fix_[rest].empty() || !outside_fix_[tail].empty();
    }

    // The bytes Lua counts for the copied blocks (what its allocator should start counting from).
    size_t lua_bytes() const { return lua_bytes_; }
    size_t head_bytes() const { return part_[head].size() + part_[rest].size(); }
    size_t tail_bytes() const { return part_[tail].size(); }
    size_t pointer_count() const { return links_.size(); }

private:
    state_image() = default;
    enum part_id : uint8_t { head, rest, tail };
    void lay_out(const std::vector<bool>& in_tail);

    // What the build held: each block's bytes (pointers to blocks zeroed) and where its pointers go.
    struct block {
        size_t raw;    // where its bytes start in raw_
        size_t size;   // as Lua allocated it
    };
    struct link {      // the 8 bytes at `at` in block `from` point `delta` bytes into block `to`
        uint32_t from, at, to, delta;
    };
    static constexpr uint32_t outside_block = UINT32_MAX;   // a link's `to` for make's outside object
    std::vector<block> blocks_;
    std::vector<unsigned char> raw_;
    std::vector<link> links_;
    uint32_t main_block_ = 0, main_delta_ = 0;   // where the main thread (the lua_State) is
    size_t lua_bytes_ = 0;

    // The layout copies get: the buffers' contents, with every pointer holding its offset in the buffer it
    // points into, and the 8-byte words that hold one, by buffer of the word and buffer pointed into.
    std::vector<unsigned char> part_[3];
    std::vector<uint32_t> fix_[3][3];
    std::vector<uint32_t> outside_fix_[3];   // by buffer of the word: those holding an offset into `outside`
    uintptr_t outside_ = 0;
    std::vector<size_t> offset_;        // each block's offset in its buffer
    std::vector<part_id> part_of_;
    size_t main_offset_ = 0;
    size_t tail_lua_bytes_ = 0;
};

}  // namespace skynet
