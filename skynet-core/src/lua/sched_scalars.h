// The scalar slots of skynet.lua's table S (tracing, busy, the queues' indexes, careful, the pool's top,
// flush), kept in the service's snlua instead of in the table.
//
// The C functions of the scheduler test these flags several times per message; as table slots each test
// was a lua_rawgeti, a conversion and a pop (three Lua API calls and a table look-up), now it is a load.
// skynet.lua leaves these slots empty in S, so that Lua code reading or writing S[TRACING] and the like
// goes through S's metatable (made by skynet.dispatcher.scheduler), which reads and writes these values:
// both sides see one set of values, as before.
#pragma once
#include <lua.hpp>

namespace skynet::sched {

class scalars {
public:
    // The slots kept here: flags (booleans to Lua) and queue indexes (integers).
    enum kind : unsigned char { not_scalar, flag, index };
    static constexpr int first = 3, last = 27;

    static kind kind_of(int n) {
        static constexpr kind kinds[last + 1] = {
            not_scalar, not_scalar, not_scalar,
            flag,                     // 3: tracing
            flag,                     // 4: busy
            index, index, index, index,   // 5..8: wakeup queue head, tail; error queue head, tail
            flag,                     // 9: careful
            index, index,             // 10, 11: fork queue head, tail
            not_scalar, not_scalar,   // 12, 13: tables
            index,                    // 14: coroutine_pool's top (scheduler_shared.h, take_pooled_thread)
            not_scalar, not_scalar, not_scalar, not_scalar, not_scalar, not_scalar, not_scalar, not_scalar,
            not_scalar, not_scalar, not_scalar,   // 15..25: tables
            not_scalar,               // 26: timeout_traceback (a table or false)
            flag,                     // 27: flush
        };
        return n >= first && n <= last ? kinds[n] : not_scalar;
    }

    bool flag_at(int n) const { return value_[n] != 0; }
    lua_Integer at(int n) const { return value_[n]; }
    void set(int n, lua_Integer v) { value_[n] = v; }
    void set_flag(int n, bool v) { value_[n] = v; }

private:
    // Queues start empty: head 1, tail 0 (skynet.lua's rewind).
    lua_Integer value_[last + 1] = {0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 1, 0};
};

}  // namespace skynet::sched
