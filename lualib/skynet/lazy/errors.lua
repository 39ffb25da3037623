-- What skynet.lua does when things go wrong: a thread that dies or yields something unknown, a request
-- whose message cannot be unpacked or that is never answered, PTYPE_ERROR messages and "service down"
-- (spec §3.6, §3.4).  Loaded by skynet.lua the first time one of these happens, or by skynet.memlimit
-- (a service at its limit could not load it then).
return function(skynet, I)
    local c = I.c
    local S = I.S
    local RUNNING, UNPACKING, BUSY = I.slot.RUNNING, I.slot.UNPACKING, I.slot.BUSY
    local ERR_TAIL, FLUSH = I.slot.ERR_TAIL, I.slot.FLUSH
    local session_id_coroutine = I.session_id_coroutine
    local session_coroutine_id = I.session_coroutine_id
    local session_coroutine_address = I.session_coroutine_address
    local session_coroutine_tracetag = I.session_coroutine_tracetag
    local watching_session = I.watching_session
    local unresponse = I.unresponse
    local error_queue = I.error_queue
    local csend = c.send
    local ctrace = c.trace
    local coclose = coroutine.close
    local traceback = debug.traceback
    local PTYPE_ERROR = skynet.PTYPE_ERROR

    local function push_error(session)
        local t = S[ERR_TAIL] + 1
        S[ERR_TAIL] = t
        error_queue[t] = session
        S[BUSY] = true
    end

    -- Fails every call waiting on `addr` and forgets the response() closures that would answer it.
    local function service_down(addr)
        for resp, a in pairs(unresponse) do
            if a == addr then
                unresponse[resp] = nil
            end
        end
        for session, a in pairs(watching_session) do
            if a == addr then
                push_error(session)
            end
        end
    end

    -- The dispatch function of the "error" protocol (PTYPE_ERROR).
    function I.error_dispatch(error_session, error_source)
        session_coroutine_id[S[RUNNING]] = nil   -- skynet.ignoreret()
        if error_session == 0 then
            service_down(error_source)
        elseif watching_session[error_session] then
            push_error(error_session)
        elseif session_id_coroutine[error_session] == "BREAK" then
            -- an abandoned call failed: nothing else will ever arrive for it
            session_id_coroutine[error_session] = nil
        end
    end

    function skynet.term(service)
        return service_down(service)
    end

    -- A request handler ended without answering.
    function I.forgot_response(co, session, body)
        local info = debug.getinfo(body, "S")
        c.error(string.format("Maybe forgot response session %s from %s : %s:%d", session,
            skynet.address(session_coroutine_address[co]), info.source, info.linedefined))
    end

    -- The request thread co is handling will never be answered: its requester gets an error (unless it
    -- was a send) and the thread's request bookkeeping goes.
    local function fail_request(co)
        local session = session_coroutine_id[co]
        if session and session ~= 0 then
            csend(session_coroutine_address[co], PTYPE_ERROR, session, "")
        end
        session_coroutine_id[co] = nil
        session_coroutine_address[co] = nil
        session_coroutine_tracetag[co] = nil
    end
    I.fail_request = fail_request

    -- The message could not be unpacked: answer the requester and drop the thread.
    function I.abort_unpacking()
        local co = S[UNPACKING]
        S[UNPACKING] = nil
        fail_request(co)
        coclose(co)
    end

    -- One error text for a message's handler and the forks and wakeups that failed after it.
    function I.join_error(ok, err, more)
        if ok then
            return false, tostring(more)
        end
        return false, tostring(err) .. "\n" .. tostring(more)
    end

    -- suspend's unusual cases: a thread that yielded something other than "SUSPEND", "QUIT" or nothing
    -- (ok true), or that died with an error (ok false).  Raises in both.
    function I.thread_failed(co, ok, cmd)
        if ok then
            if cmd == "USER" then
                error("Call skynet.coroutine.yield out of skynet.coroutine.resume\n" .. traceback(co))
            end
            error("Unknown command : " .. tostring(cmd) .. "\n" .. traceback(co))
        end
        -- The requester (if any) gets PTYPE_ERROR so it doesn't hang; a traced one sees why first.
        local session = session_coroutine_id[co]
        local tag = session_coroutine_tracetag[co]
        if tag and session and session ~= 0 then
            ctrace(tag, "error")
        end
        fail_request(co)
        S[FLUSH] = true
        S[BUSY] = true
        local tb = traceback(co, tostring(cmd))
        -- closing runs the thread's to-be-closed variables
        coclose(co)
        error(tb, 0)
    end
end
