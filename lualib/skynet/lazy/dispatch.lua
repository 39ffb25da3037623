-- The messages the C dispatcher (skynet.dispatcher, lua_dispatch.cpp) leaves to Lua: unknown and
-- abandoned sessions, PTYPE_SYSTEM watch notices, trace tags, protocols without a plain dispatch
-- function, and every message while a thread is traced or profiled.  This is the definition of the
-- dispatch behaviour; the C fast path takes the same steps for the common cases.  Loaded by skynet.lua
-- the first time such a message arrives (or skynet.dispatch_unknown_request/response is used).
return function(skynet, I)
    local c = I.c
    local S = I.S
    local RUNNING, UNPACKING, TRACING = I.slot.RUNNING, I.slot.UNPACKING, I.slot.TRACING
    local POOL_TOP = I.slot.POOL_TOP
    local proto = I.proto
    local session_id_coroutine = I.session_id_coroutine
    local session_coroutine_id = I.session_coroutine_id
    local session_coroutine_address = I.session_coroutine_address
    local session_coroutine_tracetag = I.session_coroutine_tracetag
    local coroutine_pool = I.coroutine_pool
    local pooled_entry = I.pooled_entry
    local suspend = I.suspend
    local cresume = I.cresume
    local csend = c.send
    local ctrace = c.trace
    local cocreate = coroutine.create
    local string_format = string.format

    local PTYPE_RESPONSE = skynet.PTYPE_RESPONSE
    local PTYPE_SYSTEM = skynet.PTYPE_SYSTEM
    local PTYPE_ERROR = skynet.PTYPE_ERROR
    local PTYPE_TRACE = skynet.PTYPE_TRACE

    -- next request's trace tag, sent ahead by a PTYPE_TRACE message from that source
    local trace_source = {}
    local trace_pending = 0   -- entries in trace_source: requests check it before looking there

    local function unknown_request(session, address, msg, sz, prototype)
        c.error(string_format("Unknown request (%s): %s", prototype, tostring((c.tostring(msg, sz)))))
        error(string_format("Unknown session : %d from %x", session, address))
    end

    local function unknown_response(session, address, msg, sz)
        c.error(string_format("Response message : %s", tostring((c.tostring(msg, sz)))))
        error(string_format("Unknown session : %d from %x", session, address))
    end

    function skynet.dispatch_unknown_request(f)
        local old = unknown_request
        unknown_request = f
        return old
    end

    function skynet.dispatch_unknown_response(f)
        local old = unknown_response
        unknown_response = f
        return old
    end

    -- Takes the tag sent ahead by source, if any.
    local function take_trace_tag(source)
        local tag = trace_source[source]
        if tag ~= nil then
            trace_source[source] = nil
            trace_pending = trace_pending - 1
        end
        return tag
    end

    -- Tracing decisions for a request; only when the protocol has a trace flag or a trace tag was sent.
    local function trace_request(co, p, source)
        local traceflag = p.trace
        if traceflag == false then
            take_trace_tag(source)
            S[TRACING] = true
            session_coroutine_tracetag[co] = false
        else
            local tag = take_trace_tag(source)
            if tag then
                ctrace(tag, "request")
                S[TRACING] = true
                session_coroutine_tracetag[co] = tag
            elseif traceflag then
                S[RUNNING] = co
                skynet.trace()
            end
        end
    end

    function I.raw_dispatch_message(prototype, msg, sz, session, source)
        if prototype == PTYPE_RESPONSE then
            local co = session_id_coroutine[session]
            if co == nil then
                return unknown_response(session, source, msg, sz)
            end
            session_id_coroutine[session] = nil
            if co == "BREAK" then
                return
            end
            if S[TRACING] then
                local tag = session_coroutine_tracetag[co]
                if tag then
                    ctrace(tag, "resume")
                end
            end
            S[RUNNING] = co
            return suspend(co, cresume(co, true, msg, sz, session))
        end

        if prototype == PTYPE_SYSTEM then
            local watch_message = rawget(I, "watch_message")   -- set by lazy/watch.lua
            if watch_message and watch_message(msg, sz, source) then
                return
            end
        end

        local p = proto[prototype]
        if p == nil then
            if prototype == PTYPE_TRACE then
                if trace_source[source] == nil then
                    trace_pending = trace_pending + 1
                end
                S[TRACING] = true   -- from now on the C++ dispatcher leaves every message to us
                trace_source[source] = c.tostring(msg, sz)
            elseif session ~= 0 then
                csend(source, PTYPE_ERROR, session, "")
            else
                unknown_request(session, source, msg, sz, prototype)
            end
            return
        end

        local f = p.dispatch
        if f == nil then
            take_trace_tag(source)
            if session ~= 0 then
                csend(source, PTYPE_ERROR, session, "")
            else
                unknown_request(session, source, msg, sz, p.name)
            end
            return
        end

        -- a parked thread from the pool (the snlua keeps its top; the collector may have emptied some
        -- slots below it), or a new one
        local n = S[POOL_TOP]
        local co
        while n > 0 and not co do
            co = coroutine_pool[n]
            coroutine_pool[n] = nil
            n = n - 1
        end
        S[POOL_TOP] = n
        if not co then
            co = cocreate(pooled_entry)
        end
        session_coroutine_id[co] = session
        session_coroutine_address[co] = source
        if trace_pending > 0 or p.trace ~= nil then
            trace_request(co, p, source)
        end
        -- until suspend clears it, an error means p.unpack failed (see finish_message)
        S[UNPACKING] = co
        S[RUNNING] = co
        return suspend(co, cresume(co, f, session, source, p.unpack(msg, sz)))
    end
end
