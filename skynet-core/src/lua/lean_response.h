// A response to a thread that waits on its session, resumed without the protected call of the message
// callback (lua_dispatch.cpp).  lua_resume is protected itself, and the steps around it in the plain case
// (find the thread, take it from its anchor, note it as the running thread, clear the unpacking mark)
// neither raise nor allocate, so a timer's expiry or a call's answer need not pay for lua_pcall, the
// callback's five arguments and the dispatcher's own prologue.  Whatever is not plain after the resume
// (the thread died or yielded something else, or wakeups, errors or forks were queued) still runs in a
// protected call: the dispatcher is called with a continuation marker and finishes it there.
#pragma once
#include <cstddef>
#include <cstdint>

#include <lua.hpp>

namespace skynet {

class snlua;

namespace sched {

enum class lean_result {
    not_taken,    // nothing was changed and L's stack is empty: dispatch the message the usual way
    done,         // handled; L's stack is empty
    unfinished,   // L's stack is [callback, continuation arguments...]: call it protected
};

// For a PTYPE_RESPONSE message, with L's stack empty.  callback_ref is the registry reference of the
// service's message callback; only skynet.dispatcher's callback has a lean path.
lean_result lean_response(lua_State* L, snlua* l, int callback_ref, int32_t session, void* msg, size_t size);

}  // namespace sched

}  // namespace skynet
