-- skynet.task, skynet.uniqtask and skynet.killthread: loaded on first use by skynet.lua (the debug
-- console's task, uniqtask and killtask commands use them).
return function(skynet, I)
    local traceback = debug.traceback
    local string_format = string.format
    local session_id_coroutine = I.session_id_coroutine
    local sleep_session = I.sleep_session
    local wait_token = I.wait_token
    local watching_session = I.watching_session
    local S = I.S
    local FORK_HEAD, FORK_TAIL = I.slot.FORK_HEAD, I.slot.FORK_TAIL
    local TIMEOUT_TRACEBACK = I.slot.TIMEOUT_TRACEBACK   -- a table while trace_timeout is on, else false
    local fork_queue, fork_body = I.fork_queue, I.fork_body

    -- Takes a fork that has not started yet out of the queue.
    local function unfork(thread)
        local tail = S[FORK_TAIL]
        for i = S[FORK_HEAD], tail do
            if fork_queue[i] == thread then
                table.move(fork_queue, i + 1, tail, i)
                table.move(fork_body, i + 1, tail, i)
                fork_queue[tail] = nil
                fork_body[tail] = nil
                S[FORK_TAIL] = tail - 1
                return true
            end
        end
        return false
    end

    function skynet.task(ret)
        if ret == nil then
            local n = 0
            for _, co in pairs(session_id_coroutine) do
                if co ~= "BREAK" then
                    n = n + 1
                end
            end
            return n
        end
        if ret == "init" then
            local init_thread = S[I.slot.INIT_THREAD]
            if init_thread then
                return traceback(init_thread)
            end
            return
        end
        local t = type(ret)
        if t == "table" then
            local timeout_traceback = S[TIMEOUT_TRACEBACK]
            for session, co in pairs(session_id_coroutine) do
                local key = string_format("%s session: %d", tostring(co), session)
                if co == "BREAK" then
                    ret[key] = "BREAK"
                elseif timeout_traceback and timeout_traceback[co] then
                    ret[key] = timeout_traceback[co]
                else
                    ret[key] = traceback(co)
                end
            end
            return
        elseif t == "number" then
            local co = session_id_coroutine[ret]
            if co == nil then
                return "No session"
            elseif co == "BREAK" then
                return "BREAK"
            end
            return traceback(co)
        elseif t == "thread" then
            for session, co in pairs(session_id_coroutine) do
                if co == ret then
                    return session
                end
            end
        end
    end

    -- Pending tasks grouped by identical stack: "<count>\tsessions:[s1,s2,...]\n" -> stack
    function skynet.uniqtask()
        local groups = {}
        for session, co in pairs(session_id_coroutine) do
            local stack = co == "BREAK" and "BREAK" or traceback(co)
            local g = groups[stack]
            if g == nil then
                g = { count = 0, sessions = {} }
                groups[stack] = g
            end
            g.count = g.count + 1
            if g.count <= 10 then
                g.sessions[#g.sessions + 1] = session
            end
        end
        local result = {}
        for stack, g in pairs(groups) do
            local list = table.concat(g.sessions, ",")
            if g.count > 10 then
                list = list .. "..."
            end
            result[string_format("%d\tsessions:[%s]\n", g.count, list)] = stack
        end
        return result
    end

    function skynet.killthread(thread)
        local session
        if type(thread) == "string" then
            for s, co in pairs(session_id_coroutine) do
                if co ~= "BREAK" and tostring(co):find(thread, 1, true) then
                    session = s
                    break
                end
            end
        else
            -- a fork that has not started yet is simply taken out of the queue
            if unfork(thread) then
                return thread
            end
            for s, co in pairs(session_id_coroutine) do
                if co == thread then
                    session = s
                    break
                end
            end
        end
        if session == nil then
            return
        end
        local co = session_id_coroutine[session]
        I.fail_request(co)
        local token
        for t, s in pairs(sleep_session) do
            if s == session then
                token = t
                break
            end
        end
        if token ~= nil and wait_token[token] == session then
            -- nothing will ever answer a wait session
            wait_token[token] = nil
            session_id_coroutine[session] = nil
        else
            -- a call's answer or a timer's expiry is still coming: swallow it silently
            session_id_coroutine[session] = "BREAK"
        end
        if token ~= nil then
            sleep_session[token] = nil
        end
        watching_session[session] = nil
        local timeout_traceback = S[TIMEOUT_TRACEBACK]
        if timeout_traceback then
            timeout_traceback[co] = nil
        end
        coroutine.close(co)
        return co
    end
end
