// skynet.lua's session tables as the C functions use them: session_id_coroutine, watching_session and the
// wait mark behind wait_token are the service's pending_sessions (pending_sessions.h); session_coroutine_id
// and session_coroutine_address are its task records.  Their threads and named addresses sit in the anchors
// array (skynet.lua's session_anchors, S[st_session_anchors]).  lua_sessions.cpp has these and the proxies
// through which Lua code reads and writes the same entries.
//
// `anchors` is the index of the anchors array: absolute or an upvalue's pseudo-index, never relative.
#pragma once
#include <cstring>

#include "lua/snlua.h"

namespace skynet::sched {

// session_id_coroutine[session] = the thread at co_index.
void wait_on(lua_State* L, snlua* l, int anchors, int32_t session, int co_index);

// session_id_coroutine[session] = "BREAK": the answer, when it comes, is dropped.
void break_session(lua_State* L, snlua* l, int anchors, int32_t session);

// session_id_coroutine[session] = nil.
void stop_waiting(lua_State* L, snlua* l, int anchors, int32_t session);

// When a thread waits on the session: pushes it, takes the session out (leaves "BREAK" when
// leave_break) and returns true.  Otherwise (no entry or "BREAK", or room > 0 and the thread's stack
// cannot grow by room values) pushes nothing, changes nothing and returns false.
bool take_waiting(lua_State* L, snlua* l, int anchors, int32_t session, bool leave_break, int room = 0);

// Marks the session as a skynet.wait's (on) or no longer (off): what wait_token[token] = session / nil
// says, for the token that sleep_session maps to the session.
void set_wait(snlua* l, int32_t session, bool on);

// watching_session[session] = the address at addr_index (a handle, or a name).
void watch_session(lua_State* L, snlua* l, int anchors, int32_t session, int addr_index);

// watching_session[session] = nil.
void unwatch_session(lua_State* L, snlua* l, int anchors, int32_t session);

// ---- Requests: session_coroutine_id and session_coroutine_address ---------------------------------------
// A thread handling a request is anchored like a waiting thread, and carries the anchor slot's number in
// its extra space (lua_getextraspace), where its record is found without a table look-up: 0 means none.
// A new thread copies the main thread's extra space, which clear_task_slot zeroes when the state is made.
static_assert(LUA_EXTRASPACE >= sizeof(uint32_t), "a thread's extra space holds its task slot");

inline uint32_t task_slot(lua_State* co) {
    uint32_t slot;
    std::memcpy(&slot, lua_getextraspace(co), sizeof slot);
    return slot;
}

inline void set_task_slot(lua_State* co, uint32_t slot) { std::memcpy(lua_getextraspace(co), &slot, sizeof slot); }

// For a new state's main thread, before any other thread is made.
inline void clear_task_slot(lua_State* L) { set_task_slot(L, 0); }

// The record of the thread, or nullptr.  Valid until the next change of l->tasks.
task_record* find_task(snlua* l, lua_State* co);

// session_coroutine_id[co] = session; session_coroutine_address[co] = source (co at co_index).
void start_task(lua_State* L, snlua* l, int anchors, int co_index, lua_State* co, int32_t session, uint32_t source);

// session_coroutine_id[co] = nil and session_coroutine_address[co] = nil.
void end_task(lua_State* L, snlua* l, int anchors, lua_State* co);

// sessions(anchors, sleep_session) -> session_id_coroutine, watching_session, session_coroutine_id,
// session_coroutine_address, wait_token: the tables Lua code sees (lua_sessions.cpp).
int sessions_new(lua_State* L);

}  // namespace skynet::sched
