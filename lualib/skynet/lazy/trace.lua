-- skynet.trace, tracetag, tracelog and traceproto: loaded on first use by skynet.lua.
return function(skynet, I)
    local ctrace = I.c.trace
    local proto = I.proto
    local running = I.running
    local session_coroutine_tracetag = I.session_coroutine_tracetag
    local traceid = 0

    function skynet.trace(info)
        local co = running()
        skynet.error("TRACE", session_coroutine_tracetag[co])
        if session_coroutine_tracetag[co] == false then
            return
        end
        traceid = traceid + 1
        local tag = string.format(":%08x-%d", skynet.self(), traceid)
        I.start_tracing()
        session_coroutine_tracetag[co] = tag
        if info then
            ctrace(tag, "trace " .. info)
        else
            ctrace(tag, "trace")
        end
    end

    function skynet.tracetag()
        return session_coroutine_tracetag[running()]
    end

    skynet.tracelog = ctrace

    function skynet.traceproto(name, flag)
        local p = proto[name]
        if p == nil then
            error("unknown protocol " .. tostring(name), 2)
        end
        p.trace = flag
    end
end
