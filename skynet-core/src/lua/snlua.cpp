#include "lua/snlua.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include <unistd.h>

#include "core/node.h"
#include "lua/builtin_modules.h"
#include "lua/compile_cache.h"
#include "lua/lean_response.h"
#include "lua/scheduler_shared.h"
#include "lua/session_table.h"
#include "lua/state_image.h"

#ifndef SKYNET_NO_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

namespace skynet {

namespace {

// Lua always tells the allocator the size of the block it frees, so with jemalloc the block goes back
// through sdallocx, which skips the size lookup that free() needs; a new block comes from malloc rather
// than realloc(nullptr, n). A service's boot makes ~4,000 of these calls and its lua_close ~2,000 frees,
// so the fast paths are a measurable share of a spawn.
inline void release_block(void* p, [[maybe_unused]] size_t size) {
#ifndef SKYNET_NO_JEMALLOC
    sdallocx(p, size, 0);
#else
    std::free(p);
#endif
}

const char* const context_key = "skynet_context";

int traceback(lua_State* L) {
    const char* msg = lua_tostring(L, 1);
    if (msg)
        luaL_traceback(L, L, msg, 1);
    else
        lua_pushliteral(L, "(no error message)");
    return 1;
}

// SIGNAL 0: the count hook raises inside whatever the service is running, which breaks `while true do end`.
void signal_hook(lua_State* L, lua_Debug*) {
    lua_sethook(L, nullptr, 0, 0);
    luaL_error(L, "signal 0");
}

std::string env_or(node& n, const char* key, const char* fallback) {
    auto v = n.environment().get(key);
    return v ? *v : std::string(fallback);
}

// What every snlua state has before its service-specific boot: generational collection, the standard
// libraries (without reading LUA_* environment variables), the compile cache's loadfile and searcher, the
// built-in C modules in package.preload. The collector stays stopped until the boot ends.
void open_state(lua_State* L) {
    lua_gc(L, LUA_GCSTOP, 0);
    lua_pushboolean(L, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, "LUA_NOENV");
    luaL_openlibs(L);
    install_compile_cache(L);
    preload_builtin_modules(L);
    // Entered last: the full collection that entering runs (the stopped collector does not skip it) makes
    // the libraries old, here, on the spare thread for a spare state.  The boot's first collection is then
    // a minor one (snlua::boot) that walks only what the boot made, on the worker that made it.
    lua_gc(L, LUA_GCGEN, 0, 0);
}

// What a boot does before the loader, the same for every service: the registry names the snlua, and
// skynet.profile replaces coroutine.resume / coroutine.wrap (spec §1.1).
void open_service_modules(lua_State* L, snlua* l) {
    lua_pushlightuserdata(L, l);
    lua_setfield(L, LUA_REGISTRYINDEX, context_key);
    luaL_requiref(L, "skynet.profile", luaopen_skynet_profile, 0);
    lua_getglobal(L, "coroutine");
    lua_getfield(L, -2, "resume");
    lua_setfield(L, -2, "resume");
    lua_getfield(L, -2, "wrap");
    lua_setfield(L, -2, "wrap");
    lua_pop(L, 2);
    luaL_requiref(L, "skynet.codecache", luaopen_skynet_codecache, 0);
    lua_pop(L, 1);
}

// What a boot reads when the config does not set these keys.
const char* const default_lua_path = "./lualib/?.lua;./lualib/?/init.lua";
const char* const default_lua_cpath = "./luaclib/?.so";
const char* const default_luaservice = "./service/?.lua";

// The node settings that what `require "skynet"` loads depends on, as one string; empty when a spare must
// not have skynet loaded: a `preload` file runs before the service's first require (spec §4.6).
std::string skynet_key(const std::string& lua_path, const std::string& lua_cpath, bool preload) {
    return preload ? std::string() : lua_path + '\n' + lua_cpath;
}

std::string skynet_key(node& n) {
    return skynet_key(env_or(n, "lua_path", default_lua_path), env_or(n, "lua_cpath", default_lua_cpath),
                      n.environment().get("preload").has_value());
}

// Whether the loader would find skynet.lua or skynet/require.lua of its own for service `name`: a
// LUA_SERVICE pattern with '?' in its folder puts that folder first in package.path (loader.lua).
bool service_folder_has_skynet(node& n, std::string_view args) {
    std::string patterns = env_or(n, "luaservice", default_luaservice);
    std::string_view name = args.substr(0, args.find(' '));
    size_t start = 0;
    while (start <= patterns.size()) {
        size_t end = patterns.find(';', start);
        if (end == std::string::npos) end = patterns.size();
        std::string pattern = patterns.substr(start, end - start);
        start = end + 1;
        size_t slash = pattern.rfind('/');
        if (slash == std::string::npos || pattern.find('?') > slash) continue;
        std::string dir;
        for (char c : pattern.substr(0, slash + 1)) {
            if (c == '?') dir += name; else dir += c;
        }
        for (const char* file : {"skynet.lua", "skynet/require.lua"})
            if (access((dir + file).c_str(), F_OK) == 0) return true;
    }
    return false;
}

// ---- spare states -------------------------------------------------------------------------------------
// Opening a state is a third of an snlua boot's instructions (luaL_openlibs creates ~250 functions and
// their names), and undumping the chunks every boot loads (loader.lua, skynet.lua, skynet/require.lua)
// another third; neither depends on the service. A background thread keeps four opened states ready, with
// the chunks that the last two boots both loaded already undumped (compile_cache.h, prefetch_chunks); a
// launch adopts one, so newservice waits for that much less of the boot whenever a core is free (on a
// busy node the work is the same, done by another thread). The thread starts with the first snlua
// service and sleeps on a condition variable while all the spares wait. A spare's allocations are counted
// in its spare_heap until a service adopts it.

// An image with skynet loaded: `require "skynet"` ran in its build, under `built`, an snlua that is no
// service. A copy's C functions point at `built` until the service adopting it binds them to itself, and
// takes what the build left in `built`'s fields (snlua::adopt_built).
struct skynet_loaded {
    std::string key;   // skynet_key of the nodes whose services may adopt such a copy
    snlua built;
};

struct spare_heap {
    lua_State* L = nullptr;
    size_t mem = 0;
    state_arena arena;   // the blocks it was copied with, when it is a copy of the image
    std::shared_ptr<const state_image> image;   // what it is a copy of
    std::shared_ptr<skynet_loaded> skynet;      // set when that image has skynet loaded
    // Set on the first copy of an image that has not learned yet what a boot frees (state_image::split).
    std::shared_ptr<const state_image> learn_from;
};

void close_spare(spare_heap* h) {
    lua_close(h->L);
    h->arena.release();
    delete h;
}

void* spare_allocate(void* ud, void* ptr, size_t osize, size_t nsize) {
    auto* h = static_cast<spare_heap*>(ud);
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        if (ptr) {
            if (!h->arena.owns(ptr))
                release_block(ptr, osize);
            else
                h->arena.freed(ptr, osize);
            h->mem -= old;
        }
        return nullptr;
    }
    void* p = !ptr                  ? std::malloc(nsize)
              : h->arena.owns(ptr) ? h->arena.resize(ptr, osize, nsize)
                                   : std::realloc(ptr, nsize);
    if (p) h->mem = h->mem - old + nsize;
    return p;
}

// What a spare is: an opened state (open_state) with the chunks of `files` prefetched; and, for an image
// with `skynet` set, the service modules opened and skynet loaded as a boot would (snlua::boot).
struct spare_recipe {
    const std::vector<std::string>* files;
    skynet_loaded* skynet = nullptr;
};

// The service modules opened and skynet loaded as a boot would (snlua::boot, loader.lua), under
// loaded.built.
void load_skynet(lua_State* L, skynet_loaded& loaded) {
    open_service_modules(L, &loaded.built);
    const std::string& key = loaded.key;
    size_t cut = key.find('\n');
    lua_getglobal(L, "package");
    lua_pushlstring(L, key.data(), cut);
    lua_setfield(L, -2, "path");
    lua_pushstring(L, key.c_str() + cut + 1);
    lua_setfield(L, -2, "cpath");
    lua_getglobal(L, "require");
    lua_pushliteral(L, "skynet");
    loaded.built.set_building(L);
    lua_call(L, 1, 0);   // on error, built is dropped with the image it was for
    loaded.built.set_building(nullptr);
    lua_settop(L, 0);
    if (!loaded.built.lua_side_fresh()) luaL_error(L, "loading skynet started work in its snlua");
    // What the loading left behind goes now (an image holds only what is live), and what it made is old.
    lua_gc(L, LUA_GCCOLLECT);
}

void build_spare(lua_State* L, void* arg) {
    const auto* recipe = static_cast<const spare_recipe*>(arg);
    sched::clear_task_slot(L);
    open_state(L);
    if (recipe->skynet) load_skynet(L, *recipe->skynet);
    // Last, so that the chunks are young: a boot's minor collection takes those it ran and dropped.
    prefetch_chunks(L, *recipe->files);
}

// Sixteen, refilled when four are left: a copy of the image costs the maker ~15-25 us, so it would sleep
// between launches, and waking it at every launch (a futex call and a context switch on the chain's
// cores) cost the sequential spawn more than the copy (8.9k against 11.6k services/s at four, woken at
// each take).  An idle spare is ~47 KB (skynet loaded).
constexpr size_t spare_target = 16;
constexpr size_t spare_low = 4;

// The process-wide pool and its thread; destroyed at exit, after the node has stopped.
struct spare_pool {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<spare_heap*> spares;
    // The files the last two boots both loaded, in the order of the last one; and that last one's.
    std::vector<std::string> hot, last_boot;
    bool quit = false;
    // The image spares are copied from (state_image.h), made by the maker from `hot` as it was at
    // image_generation of the compile cache (image_files, image_generation: the maker's only). Until one
    // of its copies has booted, the image does not know which of its blocks a boot frees: the first copy
    // reports them (image_learned), and the image is replaced by one with those blocks in a tail that
    // each copy gives back once it has freed them all.
    std::shared_ptr<const state_image> image;
    std::shared_ptr<skynet_loaded> image_skynet;   // set when `image` has skynet loaded
    bool image_learning = false;   // a copy of `image` will report what its boot freed
    std::vector<std::string> image_files;
    uint64_t image_generation = 0;
    // skynet_key of the node of the last boot (key), and that of the image (image_key).
    std::string key, image_key;
    bool image_tried = false;
    // Set when a boot found other files hot or the compile cache changed: the maker sees whether the image
    // is still right even while the pool is full (noted_generation: the cache's, as the last boot saw it).
    bool recheck = false;
    uint64_t noted_generation = 0;
    // Makes the image again if `files` or the compile cache changed since it was made; says whether it did.
    // With skynet loaded when boots have told their node's key; without, should that build fail.
    bool refresh_image(std::vector<std::string>& files, const std::string& for_key) {
        uint64_t generation = compile_cache_generation();
        if (image_tried && files == image_files && generation == image_generation && for_key == image_key)
            return false;
        image_tried = true;
        image_files = files;
        image_generation = generation;
        image_key = for_key;
        std::shared_ptr<const state_image> made;
        std::shared_ptr<skynet_loaded> loaded;
        if (!for_key.empty()) {
            loaded = std::make_shared<skynet_loaded>();
            loaded->key = for_key;
            spare_recipe recipe{&files, loaded.get()};
            made = state_image::make(build_spare, &recipe, nullptr, &loaded->built, sizeof(snlua));
            if (!made) loaded.reset();
        }
        if (!made) {
            spare_recipe recipe{&files};
            made = state_image::make(build_spare, &recipe);
        }
        std::lock_guard lock(mu);
        image = std::move(made);
        image_skynet = std::move(loaded);
        image_learning = false;
        return true;
    }
    // Closes the spares waiting in the pool; the lock in `lock` is released meanwhile.
    void drop_spares(std::unique_lock<std::mutex>& lock) {
        std::vector<spare_heap*> stale;
        stale.swap(spares);
        lock.unlock();
        for (auto* h : stale) close_spare(h);
        lock.lock();
    }
    // A copy of the current image, or nullptr. Called with the lock held in `lock`, which is released
    // while the copy is made.
    spare_heap* copy_image(std::unique_lock<std::mutex>& lock) {
        if (!image) return nullptr;
        std::shared_ptr<const state_image> from = image;
        std::shared_ptr<skynet_loaded> loaded = image_skynet;
        bool learn = !image_learning && image->tail_bytes() == 0;
        if (learn) image_learning = true;
        lock.unlock();
        auto* h = new spare_heap;
        h->L = from->copy(spare_allocate, h, h->arena);
        if (h->L) {
            h->mem = from->lua_bytes();
            h->skynet = std::move(loaded);
            if (learn) h->learn_from = from;
            h->image = std::move(from);
        }
        lock.lock();
        if (!h->L) {
            if (learn) image_learning = false;
            delete h;
            return nullptr;
        }
        return h;
    }
    std::thread maker;
    spare_pool() {
        maker = std::thread([this] {
            std::unique_lock lock(mu);
            for (;;) {
                cv.wait(lock, [this] { return quit || recheck || spares.size() < spare_target; });
                if (quit) return;
                recheck = false;
                std::vector<std::string> files = hot;
                std::string for_key = key;
                lock.unlock();
                bool remade = refresh_image(files, for_key);
                lock.lock();
                // Spares of the image before lack what boots now load: with sixteen in the pool, a dozen
                // launches would otherwise boot without the prefetched chunks.
                if (remade) drop_spares(lock);
                if (spares.size() >= spare_target) continue;
                spare_heap* h = copy_image(lock);
                if (!h && !image) {   // no image: open a state the ordinary way
                    lock.unlock();
                    h = new spare_heap;
                    h->L = lua_newstate(spare_allocate, h);
                    spare_recipe recipe{&files};
                    if (h->L) build_spare(h->L, &recipe);
                    lock.lock();
                }
                if (!h || !h->L) {   // out of memory: the launches create their own states meanwhile
                    delete h;
                    cv.wait(lock, [this] { return quit; });
                    return;
                }
                spares.push_back(h);
            }
        });
    }
    ~spare_pool() {
        {
            std::lock_guard lock(mu);
            quit = true;
            cv.notify_all();
        }
        maker.join();
        std::unique_lock lock(mu);
        drop_spares(lock);
    }
};

spare_pool& spares() {
    static spare_pool pool;
    return pool;
}

// A boot loaded these files (in this order): what it shares with the boot before is what spares prefetch.
void note_boot_loads(std::vector<std::string>&& loads, std::string&& key) {
    auto& pool = spares();
    std::lock_guard lock(pool.mu);
    std::vector<std::string> common;
    for (const std::string& f : loads)
        if (std::find(pool.last_boot.begin(), pool.last_boot.end(), f) != pool.last_boot.end()) common.push_back(f);
    uint64_t generation = compile_cache_generation();
    bool changed = common != pool.hot || generation != pool.noted_generation || key != pool.key;
    pool.hot = std::move(common);
    pool.key = std::move(key);
    pool.last_boot = std::move(loads);
    pool.noted_generation = generation;
    if (changed) {
        pool.recheck = true;
        pool.cv.notify_one();
    }
}

// A spare for a launch: one the maker made, or else a copy of the image made here (~15 us), or nullptr.
spare_heap* take_spare() {
    auto& pool = spares();
    spare_heap* h = nullptr;
    {
        std::unique_lock lock(pool.mu);
        if (pool.spares.empty()) {
            h = pool.copy_image(lock);
        } else {
            h = pool.spares.back();
            pool.spares.pop_back();
        }
        if (pool.spares.size() >= spare_low) return h;
    }
    // Make more.  Told after the unlock, so that the maker does not wake only to wait for the mutex.
    pool.cv.notify_one();
    return h;
}

// A boot from a copy of img freed these blocks of its arena's head: img's copies put them in a tail.
void image_learned(const std::shared_ptr<const state_image>& img, const std::vector<uint32_t>& freed) {
    std::shared_ptr<const state_image> split = img->split(freed);
    auto& pool = spares();
    std::lock_guard lock(pool.mu);
    if (pool.image == img) pool.image = std::move(split);
}

// A boot from a copy of img that was to learn from it failed: another copy will.
void image_not_learned(const std::shared_ptr<const state_image>& img) {
    auto& pool = spares();
    std::lock_guard lock(pool.mu);
    if (pool.image == img) pool.image_learning = false;
}

}  // namespace

// While the boot learns for its image, a block of the arena's head it gives up (freed, or moved out by a
// resize) is noted; past the reserved capacity nothing is (the allocator must not throw).
void snlua::note_given_up(void* ptr) {
    if (learn_from_ && learned_.size() < learned_.capacity() && uintptr_t(ptr) - arena_.base < arena_.size)
        learned_.push_back(uint32_t(uintptr_t(ptr) - arena_.base));
}

void snlua::arena_freed(void* ptr, size_t osize) {
    note_given_up(ptr);
    arena_.freed(ptr, osize);
}

void* snlua::arena_resize(void* ptr, size_t osize, size_t nsize) {
    void* p = arena_.resize(ptr, osize, nsize);
    if (p && p != ptr) note_given_up(ptr);
    return p;
}

snlua::~snlua() {
    if (L_) lua_close(L_);
    arena_.release();
}

node& snlua::owner() const { return self().owner(); }

void snlua::no_service() const {
    if (building_) luaL_error(building_, "no service while a state image is built");
    std::abort();
}

snlua* snlua::of(lua_State* L) {
    lua_getfield(L, LUA_REGISTRYINDEX, context_key);
    auto* p = static_cast<snlua*>(lua_touserdata(L, -1));
    lua_pop(L, 1);
    if (!p) luaL_error(L, "Init skynet context first");
    return p;
}

// Every block of the service's Lua state comes and goes through here, some twenty times per message on
// busy paths, so the common case is one comparison: the growth that needs a look (over the memory limit,
// or past the next "Memory warning") is mem_check_ and above.  service::heap_bytes, which other services
// read, is published once per message (publish_memory) rather than per block.
void* snlua::allocate(void* ud, void* ptr, size_t osize, size_t nsize) {
    auto* l = static_cast<snlua*>(ud);
    // With ptr null, osize is the type of the object being created, not a size.
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        if (ptr) {
            if (!l->arena_.owns(ptr))
                release_block(ptr, osize);
            else
                l->arena_freed(ptr, osize);
            l->mem_ -= old;
        }
        return nullptr;
    }
    size_t mem = l->mem_ - old + nsize;
    if (mem > l->mem_check_ && !l->may_grow(mem, old, nsize)) return nullptr;
    void* p = !ptr                  ? std::malloc(nsize)
              : l->arena_.owns(ptr) ? l->arena_resize(ptr, osize, nsize)
                                    : std::realloc(ptr, nsize);
    if (!p) return nullptr;
    l->mem_ = mem;
    return p;
}

bool snlua::may_grow(size_t mem, size_t old, size_t nsize) {
    // Over the limit, a growing allocation fails: Lua turns that into a "not enough memory" error.
    if (mem_limit_ && mem > mem_limit_ && nsize > old && !limit_lifted) return false;
    if (mem > mem_report_) {
        mem_report_ *= 2;   // as skynet: one doubling a warning
        if (self_) owner().logf(self_->handle(), "Memory warning %.2f M", double(mem) / (1024 * 1024));
        update_mem_check();
    }
    return true;
}

void snlua::update_mem_check() {
    mem_check_ = mem_limit_ && mem_limit_ < mem_report_ ? mem_limit_ : mem_report_;
}

void snlua::publish_memory() {
    if (self_) self_->heap_bytes.store(mem_, std::memory_order_relaxed);
}

bool snlua::init(service& self, std::string_view args) {
    self_ = &self;
    args_ = std::string(args);
    spare_heap* h = take_spare();
    if (h && h->skynet &&
        (h->skynet->key != skynet_key(self.owner()) || service_folder_has_skynet(self.owner(), args))) {
        // skynet as this service would load it is not what the spare has loaded
        if (h->learn_from) image_not_learned(h->learn_from);
        close_spare(h);
        h = nullptr;
    }
    if (h) {
        // Adopt the spare: from now on its blocks are counted (and limited) as this service's.
        if (h->skynet) {
            h->image->bind(h->arena, &h->skynet->built, this);
            adopt_built(h->skynet->built);
            skynet_loaded_ = true;
        }
        L_ = h->L;
        mem_ = h->mem;
        arena_ = h->arena;
        if (h->learn_from) {
            learn_from_ = std::move(h->learn_from);
            learned_.reserve(4096);   // recorded by the allocator, which must not throw: what does not fit is not learned
        }
        delete h;
        lua_setallocf(L_, &snlua::allocate, this);
        publish_memory();
        opened_ = true;
    } else {
        L_ = lua_newstate(&snlua::allocate, this);
        if (L_) sched::clear_task_slot(L_);
    }
    if (!L_) return false;
    // The Lua side starts on a worker, like skynet: the first message of the service boots it.
    message m{self.handle(), 0, PTYPE_SYSTEM, nullptr, 0};
    self.mq().push(m);
    return true;
}

void snlua::fail_boot(const char* what, const char* why) {
    if (learn_from_) {   // what a failed boot freed says little of what boots free
        image_not_learned(learn_from_);
        learn_from_.reset();
    }
    owner().logf(self_->handle(), "%s : %s", what, why ? why : "?");
    // Tell the launcher the start failed, then end with reason "error".
    static const char err[] = "ERROR";
    owner().send_name(self_, self_->handle(), ".launcher", PTYPE_TEXT, 0, const_cast<char*>(err), sizeof err - 1);
    owner().retire(self_->handle(), end_reason::error, self_->handle());
}

void snlua::boot() {
    lua_State* L = L_;
    node& n = owner();
    if (!opened_) open_state(L);
    // The files this boot loads tell the spares what to prefetch, and its node's skynet_key how to load
    // skynet in them; what it did not take of a spare's prefetched chunks is dropped (garbage for the first
    // collection), however the boot ends.
    struct boot_record {
        lua_State* L;
        std::vector<std::string> loads;
        std::string key;   // set once the node's settings are read below
        explicit boot_record(lua_State* state) : L(state) { record_boot_loads(&loads); }
        ~boot_record() {
            record_boot_loads(nullptr);
            drop_prefetched(L);
            note_boot_loads(std::move(loads), std::move(key));
        }
    } record(L);

    if (!skynet_loaded_) open_service_modules(L, this);

    std::string path = env_or(n, "lua_path", default_lua_path);
    std::string cpath = env_or(n, "lua_cpath", default_lua_cpath);
    std::string service_path = env_or(n, "luaservice", default_luaservice);
    std::string loader = env_or(n, "lualoader", "./lualib/loader.lua");
    lua_pushstring(L, path.c_str());
    lua_setglobal(L, "LUA_PATH");
    lua_pushstring(L, cpath.c_str());
    lua_setglobal(L, "LUA_CPATH");
    lua_pushstring(L, service_path.c_str());
    lua_setglobal(L, "LUA_SERVICE");
    auto preload = n.environment().get("preload");
    if (preload) {
        lua_pushstring(L, preload->c_str());
        lua_setglobal(L, "LUA_PRELOAD");
    }
    record.key = skynet_key(path, cpath, preload.has_value());

    lua_pushcfunction(L, traceback);
    int trace = lua_gettop(L);
    if (load_file_cached(L, loader.c_str()) != LUA_OK) {
        std::string err = lua_tostring(L, -1) ? lua_tostring(L, -1) : "?";
        lua_settop(L, 0);
        fail_boot(("Can't load " + loader).c_str(), err.c_str());
        return;
    }
    lua_pushlstring(L, args_.data(), args_.size());
    if (lua_pcall(L, 1, 0, trace) != LUA_OK) {
        std::string err = lua_tostring(L, -1) ? lua_tostring(L, -1) : "?";
        lua_settop(L, 0);
        fail_boot("lua loader error", err.c_str());
        return;
    }
    lua_settop(L, 0);

    // skynet.memlimit is read after the main chunk, as in skynet.
    lua_getfield(L, LUA_REGISTRYINDEX, "memlimit");
    if (lua_isinteger(L, -1)) {
        lua_Integer limit = lua_tointeger(L, -1);
        if (limit > 0) {
            mem_limit_ = size_t(limit);
            update_mem_check();
            n.logf(self_->handle(), "Set memory limit to %.2f M", double(limit) / (1024 * 1024));
        }
    }
    lua_pop(L, 1);
    // Loading skynet.lua and the service's main chunk grew the main thread's stack to several KB, and a
    // generational collector never shrinks it (only an incremental propagate phase does), so every
    // idle service would keep it. Nothing runs on the main thread now, and the stack is empty: reset it
    // to its minimal size. Saves ~4.5 KB per service.
    lua_resetthread(L);
    lua_gc(L, LUA_GCRESTART, 0);
    // The boot's garbage goes now, in a minor collection: an explicit step of size 0 is one in generational
    // mode.  Left to the debt the boot ran up, the first step would be a major collection (the heap has more
    // than doubled since the libraries were opened) that whitens and marks every object of the state, most
    // of them made on the spare thread's core: sequential spawn ~10 % faster in alternating runs for the
    // same instructions, ~0.7 KB more per idle service (library values the boot replaced, old now, wait
    // for the first major collection).
    lua_gc(L, LUA_GCSTEP, 0);
    if (learn_from_) {   // what this boot freed of the image is what copies put in their arena's tail
        image_learned(learn_from_, learned_);
        learn_from_.reset();
        std::vector<uint32_t>().swap(learned_);
    }
}

void snlua::dispatch(service& self, message& m) {
    // The boot message normally comes first; should anything overtake it, boot on that and skip the marker
    // when it arrives.
    bool is_boot_marker = !boot_marker_seen_ && m.type == PTYPE_SYSTEM && m.source == self.handle() &&
                          m.session == 0 && !m.data;
    if (is_boot_marker) boot_marker_seen_ = true;
    if (!booted_) {
        booted_ = true;
        boot();
        publish_memory();
    }
    if (is_boot_marker || self.retired()) return;
    if (callback_ref_ == LUA_NOREF) {
        // No callback yet (the main chunk has not called skynet.start): like skynet, the message is dropped.
        return;
    }
    lua_State* L = L_;
    active.store(L, std::memory_order_relaxed);
    auto lean = m.type == PTYPE_RESPONSE
                    ? sched::lean_response(L, this, callback_ref_, m.session, m.data, m.size)
                    : sched::lean_result::not_taken;
    int nargs = 5;
    if (lean == sched::lean_result::not_taken) {
        lua_pushcfunction(L, traceback);
        lua_rawgeti(L, LUA_REGISTRYINDEX, callback_ref_);
        lua_pushinteger(L, m.type);
        lua_pushlightuserdata(L, m.data);
        lua_pushinteger(L, lua_Integer(m.size));
        lua_pushinteger(L, m.session);
        lua_pushinteger(L, m.source);
    } else if (lean == sched::lean_result::unfinished) {
        // [callback, continuation arguments...]: lean_response left a free slot for the handler
        nargs = lua_gettop(L) - 1;
        lua_pushcfunction(L, traceback);
        lua_insert(L, 1);
    }
    int r = lean == sched::lean_result::done ? LUA_OK : lua_pcall(L, nargs, 0, 1);
    active.store(nullptr, std::memory_order_relaxed);
    if (r != LUA_OK) {
        const char* err = lua_tostring(L, -1);
        owner().logf(self.handle(), "lua call [%x to :%x : %d msgsz = %zu] error : \x1b[31m%s\x1b[0m", m.source,
                     self.handle(), m.session, m.size, err ? err : "?");
    }
    lua_settop(L, 0);
    publish_memory();
    if (forward_) m.data = nullptr;   // forward mode: the Lua side owns the payload now
}

bool snlua::lua_side_fresh() const {
    return callback_ref_ == LUA_NOREF && pending.size() == 0 && tasks.empty() && anchors.high_water() == 0 &&
           parked_run == 0 && scalars.at(sched::st_pool_top) == 0 && profiled == 0 && !forward_;
}

void snlua::adopt_built(const snlua& built) {
    scalars = built.scalars;
    killhook_ref_ = built.killhook_ref_;
}

void snlua::set_callback(lua_State* L, int index, bool forward) {
    lua_pushvalue(L, index);
    int ref = luaL_ref(L, LUA_REGISTRYINDEX);
    if (callback_ref_ != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, callback_ref_);
    callback_ref_ = ref;
    forward_ = forward;
}

void snlua::set_killhook(lua_State* L, int index) {
    lua_pushvalue(L, index);
    int ref = luaL_ref(L, LUA_REGISTRYINDEX);
    if (killhook_ref_ != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, killhook_ref_);
    killhook_ref_ = ref;
}

void snlua::on_kill(service& self) {
    if (!L_ || killhook_ref_ == LUA_NOREF) return;
    // The state is closed right after: answering the requesters may take what the limit would refuse.
    mem_limit_ = 0;
    update_mem_check();
    lua_State* L = L_;
    lua_settop(L, 0);
    lua_pushcfunction(L, traceback);
    lua_rawgeti(L, LUA_REGISTRYINDEX, killhook_ref_);
    if (lua_pcall(L, 0, 0, 1) != LUA_OK) {
        const char* err = lua_tostring(L, -1);
        owner().logf(self.handle(), "kill hook error : %s", err ? err : "?");
    }
    lua_settop(L, 0);
}

void snlua::signal(service& self, int sig) {
    if (sig == 0) {
        // lua_sethook is the one Lua call that may be made from another thread while the state runs.
        lua_State* target = active.load(std::memory_order_relaxed);
        if (!target) target = L_;
        lua_sethook(target, signal_hook, LUA_MASKCOUNT, 1);
    } else if (sig == 1) {
        owner().logf(self.handle(), "Current Memory %.3fK", double(mem_) / 1024);
    }
}

std::unique_ptr<service_module> make_snlua() { return std::make_unique<snlua>(); }

}  // namespace skynet
