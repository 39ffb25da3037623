// skynet.lua's session_id_coroutine and watching_session as the C functions use them: the service's
// pending_sessions (pending_sessions.h), whose threads and named addresses sit in the anchors array
// (skynet.lua's session_anchors, S[st_session_anchors]).  lua_sessions.cpp has these and the proxies
// through which Lua code reads and writes the same entries.
//
// `anchors` is the index of the anchors array: absolute or an upvalue's pseudo-index, never relative.
#pragma once
#include "lua/snlua.h"

namespace skynet::sched {

// session_id_coroutine[session] = the thread at co_index.
void wait_on(lua_State* L, snlua* l, int anchors, int32_t session, int co_index);

// session_id_coroutine[session] = "BREAK": the answer, when it comes, is dropped.
void break_session(lua_State* L, snlua* l, int anchors, int32_t session);

// session_id_coroutine[session] = nil.
void stop_waiting(lua_State* L, snlua* l, int anchors, int32_t session);

// When a thread waits on the session: pushes it, takes the session out (leaves "BREAK" when
// leave_break) and returns true.  Otherwise (no entry or "BREAK") pushes nothing, changes nothing and
// returns false.
bool take_waiting(lua_State* L, snlua* l, int anchors, int32_t session, bool leave_break);

// watching_session[session] = the address at addr_index (a handle, or a name).
void watch_session(lua_State* L, snlua* l, int anchors, int32_t session, int addr_index);

// watching_session[session] = nil.
void unwatch_session(lua_State* L, snlua* l, int anchors, int32_t session);

// sessions(anchors) -> session_id_coroutine, watching_session: the tables Lua code sees (lua_sessions.cpp).
int sessions_new(lua_State* L);

}  // namespace skynet::sched
