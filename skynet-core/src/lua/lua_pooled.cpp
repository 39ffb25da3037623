// skynet.dispatcher.pooled_entry: the body every pooled thread of a Lua service runs (docs/core-boundary.md).
//
// skynet.lua's pooled_run, in C with continuations: a pooled thread is resumed as (body, args...), calls
// body(args...), drops the request's bookkeeping, parks itself in coroutine_pool and yields "SUSPEND"; the
// next resume brings the next body.  Done in C, a task costs no vararg Lua frames and no tail call.  Any
// bookkeeping beyond the plain case (a request left unanswered, a traced thread) is skynet.lua's
// release(co, body), so the messages and traces stay the Lua side's.
#include "lua/scheduler_shared.h"
#include "lua/session_table.h"

namespace skynet::sched {

namespace {

enum pooled_slot : int {
    ps_context = 1,   // the snlua (light userdata)
    ps_anchors,       // session_anchors (session_table.h)
    ps_pool,
    ps_release,   // release(co, body)
    ps_suspend,   // the string "SUSPEND" (pushing an upvalue costs no string hashing)
    ps_count = ps_suspend,
};

int pooled_start(lua_State* co);

// A new task, after the thread was parked: the resume's values (body, args...) are the stack.
int pooled_resumed(lua_State* co, int, lua_KContext) { return pooled_start(co); }

// body returned: stack = [body].
int pooled_done(lua_State* co, int, lua_KContext) {
    lua_settop(co, 1);
    lua_pushthread(co);   // 2: co
    auto* l = static_cast<snlua*>(lua_touserdata(co, lua_upvalueindex(ps_context)));
    // a session left (session_coroutine_id[co]): 0 (a send, nobody waits) is plain; anything else was
    // never answered
    const task_record* t = find_task(l, co);
    bool plain = (!t || !t->has_session || t->session == 0) && !state_flag(l, st_tracing);
    if (plain) {
        end_task(co, l, lua_upvalueindex(ps_anchors), co);
    } else {
        lua_pushvalue(co, lua_upvalueindex(ps_release));
        lua_pushvalue(co, 2);
        lua_pushvalue(co, 1);
        lua_call(co, 2, 0);
    }
    // coroutine_pool[top + 1] = co, the top kept by the snlua (S[14])
    park_thread(co, l, lua_upvalueindex(ps_pool));   // pops co
    lua_settop(co, 0);
    lua_pushvalue(co, lua_upvalueindex(ps_suspend));
    return lua_yieldk(co, 1, 0, pooled_resumed);
}

// stack = [body, args...]
int pooled_start(lua_State* co) {
    int nargs = lua_gettop(co) - 1;
    if (nargs < 0) return luaL_error(co, "a pooled thread resumed without a body");
    lua_pushvalue(co, 1);
    lua_insert(co, 2);   // body stays at 1 for release's "Maybe forgot response" line
    lua_callk(co, nargs, 0, 0, pooled_done);
    return pooled_done(co, LUA_OK, 0);
}

}  // namespace

// pooled_entry(session_anchors, coroutine_pool, release) -> the function a pooled thread is created with.
int pooled_entry_new(lua_State* L) {
    for (int i = 1; i <= 2; ++i) luaL_checktype(L, i, LUA_TTABLE);
    luaL_checktype(L, 3, LUA_TFUNCTION);
    insert_context(L, 3);
    lua_pushliteral(L, "SUSPEND");
    lua_pushcclosure(L, pooled_start, ps_count);
    return 1;
}

}  // namespace skynet::sched
