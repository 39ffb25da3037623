-- The end of a service (spec §0.3, §3.4): skynet.exit, a failed start, and the kill hook.  Loaded by
-- skynet.lua when the service ends, or by skynet.memlimit (a service at its limit could not load it
-- then).
return function(skynet, I)
    local c = I.c
    local S = I.S
    local RUNNING, FORK_HEAD, FORK_TAIL = I.slot.RUNNING, I.slot.FORK_HEAD, I.slot.FORK_TAIL
    local session_id_coroutine = I.session_id_coroutine
    local session_coroutine_id = I.session_coroutine_id
    local session_coroutine_address = I.session_coroutine_address
    local watching_session = I.watching_session
    local unresponse = I.unresponse
    local fork_queue, fork_body = I.fork_queue, I.fork_body
    local csend = c.send
    local coclose = coroutine.close
    local PTYPE_RESPONSE = skynet.PTYPE_RESPONSE
    local PTYPE_ERROR = skynet.PTYPE_ERROR

    -- Answers every request still held and tells every service being called that we are gone, so
    -- nobody waits for us forever.  Shared by skynet.exit and the kill hook.
    local function abandon_all()
        for i = S[FORK_HEAD], S[FORK_TAIL] do
            fork_queue[i] = nil
            fork_body[i] = nil
        end
        S[FORK_HEAD], S[FORK_TAIL] = 1, 0
        for co, session in pairs(session_coroutine_id) do
            local addr = session_coroutine_address[co]
            if session ~= 0 and addr then
                csend(addr, PTYPE_ERROR, session, "")
            end
            -- answered now: a to-be-closed handler calling ret later must find no session
            session_coroutine_id[co] = nil
        end
        for _, co in pairs(session_id_coroutine) do
            if type(co) == "thread" and co ~= S[RUNNING] then
                -- runs their to-be-closed variables; a thread that is not closable is left alone
                pcall(coclose, co)
            end
        end
        for resp in pairs(unresponse) do
            resp(false)
        end
        local called = {}
        for _, addr in pairs(watching_session) do
            called[addr] = true
        end
        for addr in pairs(called) do
            csend(addr, PTYPE_ERROR, 0, "")
        end
    end
    I.abandon_all = abandon_all

    -- After exit anything addressed to us that expects an answer gets an error (never a response or
    -- an error message: replying to those would hit an unrelated session of the sender).
    local function refuse(prototype, _, _, session, source)
        if session ~= 0 and source ~= 0 and prototype ~= PTYPE_RESPONSE and prototype ~= PTYPE_ERROR then
            csend(source, PTYPE_ERROR, session, "")
        end
    end

    local function exit_service(reason)
        skynet.send(".launcher", "lua", "REMOVE", skynet.self(), false)
        abandon_all()
        c.callback(refuse)
        c.command("EXIT", reason)
        if coroutine.isyieldable() then
            coroutine.yield "QUIT"
        end
        -- called from the main chunk: unwind it, the service is gone anyway
        error("service exited", 0)
    end
    I.exit_service = exit_service

    function skynet.exit()
        exit_service(nil)
    end
end
