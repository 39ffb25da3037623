-- skynet.trace, tracetag, tracelog, traceproto and trace_timeout, and the trace lines of traced tasks:
-- loaded on first use by skynet.lua.
return function(skynet, I)
    local ctrace = I.c.trace
    local proto = I.proto
    local S, RUNNING, TRACING = I.S, I.slot.RUNNING, I.slot.TRACING
    local session_coroutine_tracetag = I.session_coroutine_tracetag
    local traceid = 0

    function skynet.trace(info)
        local co = S[RUNNING]
        skynet.error("TRACE", session_coroutine_tracetag[co])
        if session_coroutine_tracetag[co] == false then
            return
        end
        traceid = traceid + 1
        local tag = string.format(":%08x-%d", skynet.self(), traceid)
        S[TRACING] = true   -- from now on the C functions look for trace tags
        session_coroutine_tracetag[co] = tag
        if info then
            ctrace(tag, "trace " .. info)
        else
            ctrace(tag, "trace")
        end
    end

    function skynet.tracetag()
        return session_coroutine_tracetag[S[RUNNING]]
    end

    skynet.tracelog = ctrace

    function skynet.traceproto(name, flag)
        local p = proto[name]
        if p == nil then
            error("unknown protocol " .. tostring(name), 2)
        end
        p.trace = flag
    end

    -- The trace line `what` of thread co, when it is traced.
    local function trace_line(co, what)
        local tag = session_coroutine_tracetag[co]
        if tag then
            ctrace(tag, what)
        end
    end

    -- A traced task ended (skynet.lua's release).
    function I.end_trace(co)
        trace_line(co, "end")
        session_coroutine_tracetag[co] = nil
    end

    -- The "resume" trace line of a woken traced thread (the C wake loop calls it while tracing is on).
    function I.trace_resume(co)
        trace_line(co, "resume")
    end

    -- While trace_timeout is on, S[TIMEOUT_TRACEBACK] maps each skynet.timeout thread to where it was
    -- set, in skynet's wording: when, for how long, and the stack of whoever set it.  Called by the C
    -- timeout, whose frame sits between this function and that caller.
    local TIMEOUT_TRACEBACK = I.slot.TIMEOUT_TRACEBACK
    function I.note_timeout(co, ti)
        local text = string.format("TIMER %d+%s : ", I.c.now(), math.tointeger(ti) or ti)
        S[TIMEOUT_TRACEBACK][co] = debug.traceback(text, 3)
    end

    function skynet.trace_timeout(on)
        if on then
            S[TIMEOUT_TRACEBACK] = S[TIMEOUT_TRACEBACK] or setmetatable({}, { __mode = "k" })
        else
            S[TIMEOUT_TRACEBACK] = false
        end
    end
end
