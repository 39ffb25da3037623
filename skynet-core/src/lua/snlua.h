// snlua: a service whose behaviour is a Lua 5.4 state (spec §4.6).
#pragma once
#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include <lua.hpp>

#include "core/service.h"
#include "lua/pending_sessions.h"
#include "lua/sched_scalars.h"
#include "lua/state_image.h"

namespace skynet {

class node;

class snlua final : public service_module {
public:
    snlua() = default;
    ~snlua() override;

    bool init(service& self, std::string_view args) override;
    void dispatch(service& self, message& msg) override;
    void signal(service& self, int sig) override;
    void on_kill(service& self) override;

    // The snlua of the state L belongs to (registry "skynet_context"); raises when there is none.
    static snlua* of(lua_State* L);

    // Raise on an snlua that is no service (in the state being built with it, see set_building).
    service& self() const {
        if (!self_) [[unlikely]] no_service();
        return *self_;
    }
    node& owner() const;
    // While a state image is built with this snlua, which is no service (snlua.cpp, load_skynet): a C
    // function that needs the service raises in that state instead of reaching through a null pointer.
    void set_building(lua_State* L) { building_ = L; }
    lua_State* state() const { return L_; }

    // Whether the Lua side has started no work: no callback, sessions, tasks or profiled threads (what an
    // snlua must be after loading skynet for a state image, snlua.cpp).
    bool lua_side_fresh() const;
    // Takes what loading skynet left in the fields of built, whose state this one's is a copy of.
    void adopt_built(const snlua& built);

    // skynet.core.callback / killhook
    void set_callback(lua_State* L, int index, bool forward);
    void set_killhook(lua_State* L, int index);

    // The coroutine running right now, so that SIGNAL 0 can hook the code that actually loops.
    std::atomic<lua_State*> active{nullptr};
    // Notes co as the running coroutine and returns the one before.  Only the service's worker writes
    // `active` (others only read it), so a load and a store do: no locked exchange per resume.
    lua_State* enter(lua_State* co) {
        lua_State* previous = active.load(std::memory_order_relaxed);
        active.store(co, std::memory_order_relaxed);
        return previous;
    }
    // Coroutines between profile.start and profile.stop; while 0, resume skips the CPU accounting.
    int profiled = 0;
    // skynet.lua's S: its scalar slots (sched_scalars.h)
    sched::scalars scalars;
    // skynet.lua's session_id_coroutine and watching_session (session_table.h), and the slots of the Lua
    // array that keeps their threads and named addresses alive
    sched::pending_sessions pending;
    sched::anchor_slots anchors;
    // session_coroutine_id and session_coroutine_address, by anchor slot (session_table.h)
    std::vector<sched::task_record> tasks;
    // Threads parked in coroutine_pool since one was last taken from it (take_pooled_thread).
    uint32_t parked_run = 0;

    size_t memory() const { return mem_; }
    // Copies the heap size to service::heap_bytes, where other threads read it (skynet.memory.info):
    // after the boot and after each message.
    void publish_memory();
    // While positive the memory limit is not enforced: the dispatcher lifts it while it handles a thread
    // that died (often of the limit itself), so that the requester is answered.
    int limit_lifted = 0;

private:
    static void* allocate(void* ud, void* ptr, size_t osize, size_t nsize);
    void boot();
    void fail_boot(const char* what, const char* why);

    [[noreturn]] void no_service() const;
    service* self_ = nullptr;
    lua_State* building_ = nullptr;
    lua_State* L_ = nullptr;
    std::string args_;
    bool booted_ = false;
    bool opened_ = false;   // the state is a spare: libraries and modules are in place already
    bool skynet_loaded_ = false;   // ... and the service modules opened, skynet loaded
    bool boot_marker_seen_ = false;
    int callback_ref_ = LUA_NOREF;
    int killhook_ref_ = LUA_NOREF;
    bool forward_ = false;
    size_t mem_ = 0;   // only the owning worker touches it; publish_memory copies it for others
    state_arena arena_;   // the blocks the state was copied with, when it was (state_image.h)
    // The image this state was copied from, while its boot records what it frees of the arena's head.
    std::shared_ptr<const state_image> learn_from_;
    std::vector<uint32_t> learned_;
    void note_given_up(void* ptr);
    void arena_freed(void* ptr, size_t osize);
    void* arena_resize(void* ptr, size_t osize, size_t nsize);
    size_t mem_limit_ = 0;
    size_t mem_report_ = size_t(32) << 20;
    size_t mem_check_ = size_t(32) << 20;   // the smaller of mem_report_ and a set limit (allocate)
    bool may_grow(size_t mem, size_t old, size_t nsize);
    void update_mem_check();
};

std::unique_ptr<service_module> make_snlua();

// skynet.core.send's work (lua_core.cpp), for the C parts of skynet.lua too: sends the message at msg_index
// (a string, a lightuserdata with its size at msg_index + 1, or nil) from source to the handle or name at
// dest_index; session < 0 asks the core for a new session.  Returns the session, -1 (no such destination)
// or -2 (too large).  Raises on a bad destination or message.
int send_from_lua(lua_State* L, snlua* l, uint32_t source, int dest_index, int type, int session, int msg_index);

// Raises send_from_lua's error for the destination at index when it is not a handle (non-zero) or a name;
// lets a caller refuse a bad destination before it packs a message that would then leak.
void check_destination(lua_State* L, int index);

}  // namespace skynet
