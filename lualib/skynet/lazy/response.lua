-- skynet.response, skynet.rawcall and skynet.tracecall: loaded on first use by skynet.lua.
return function(skynet, I)
    local c = I.c
    local csend = c.send
    local ctrace = c.trace
    local proto = I.proto
    local S, RUNNING = I.S, I.slot.RUNNING
    local auxsend = I.auxsend
    local yield_call = I.yield_call
    local session_coroutine_id = I.session_coroutine_id
    local session_coroutine_address = I.session_coroutine_address
    local session_coroutine_tracetag = I.session_coroutine_tracetag
    local unresponse = I.unresponse
    local PTYPE_RESPONSE, PTYPE_ERROR, PTYPE_TRACE = skynet.PTYPE_RESPONSE, skynet.PTYPE_ERROR, skynet.PTYPE_TRACE

    local function noop() end

    function skynet.response(pack)
        pack = pack or c.pack
        local co = S[RUNNING]
        local session = session_coroutine_id[co]
        if session == nil then
            error("no session", 2)
        end
        session_coroutine_id[co] = nil
        if session == 0 then
            return noop
        end
        local addr = session_coroutine_address[co]
        local function response(ok, ...)
            if ok == "TEST" then
                return unresponse[response] ~= nil
            end
            if not pack then
                error "Can't response more than once"
            end
            local delivered = false
            if unresponse[response] then
                if ok then
                    -- pack first: if it raises, the closure is still usable
                    local msg, sz = pack(...)
                    unresponse[response] = nil
                    local r = csend(addr, PTYPE_RESPONSE, session, msg, sz)
                    if r == false then
                        csend(addr, PTYPE_ERROR, session, "")
                    end
                    delivered = r and true or false
                else
                    unresponse[response] = nil
                    delivered = csend(addr, PTYPE_ERROR, session, "") ~= nil
                end
            end
            pack = nil
            return delivered
        end
        unresponse[response] = addr
        return response
    end

    -- Sends an already packed request for rawcall and tracecall; errors point at their caller.
    local function send_request(addr, typename, msg, sz)
        local p = proto[typename]
        if p == nil then
            error("unknown protocol " .. tostring(typename), 3)
        end
        local session = auxsend(addr, p.id, msg, sz)
        if not session then
            error("call to invalid address", 3)
        end
        return session
    end

    function skynet.rawcall(addr, typename, msg, sz)
        local tag = session_coroutine_tracetag[S[RUNNING]]
        if tag then
            ctrace(tag, "call", 2)
            csend(addr, PTYPE_TRACE, 0, tag)
        end
        return yield_call(addr, send_request(addr, typename, msg, sz))
    end

    function skynet.tracecall(tag, addr, typename, msg, sz)
        ctrace(tag, "tracecall begin")
        csend(addr, PTYPE_TRACE, 0, tag)
        local rmsg, rsz = yield_call(addr, send_request(addr, typename, msg, sz))
        ctrace(tag, "tracecall end")
        return rmsg, rsz
    end
end
