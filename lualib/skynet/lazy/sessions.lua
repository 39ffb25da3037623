-- Session allocation in Lua, for the paths that are not in C (skynet.dispatcher.api does send, call,
-- timeout, sleep and wait itself): the lazy parts' sends and timers, skynet.genid, the Lua wait used
-- while a thread is traced, and careful mode.  Loaded by skynet.lua on first use.
--
-- Careful mode survives the 2^31 rewind.  The core hands out sessions from one counter that wraps back
-- to 1.  Until it gets near the top, a fresh session can never equal a pending one, so sends simply
-- let the core allocate.  From DANGER on every allocation is checked against the pending sessions
-- (which may include very old sleeps or calls) until the counter has wrapped and climbed past all of
-- them.  S[CAREFUL] tells the C functions to come here for their sessions.
return function(_, I)
    local c = I.c
    local S = I.S
    local CAREFUL = I.slot.CAREFUL
    local RUNNING = I.slot.RUNNING
    local TRACING = I.slot.TRACING
    local session_id_coroutine = I.session_id_coroutine
    local session_coroutine_tracetag = I.session_coroutine_tracetag
    local sleep_session = I.sleep_session
    local wait_token = I.wait_token
    local watching_session = I.watching_session
    local csend = c.send
    local cgenid = c.genid
    local cintcommand = c.intcommand
    local ctrace = c.trace
    local coyield = coroutine.yield
    local corunning = coroutine.running

    local DANGER = 0x7fff0000
    local SESSION_MAX = 0x7fffffff
    local last_session = 0
    local wrap_top = nil

    local function observe(s)
        if s < last_session then
            -- Only pending sessions below DANGER can be met on this lap; those above it are met after
            -- the next climb to DANGER, which switches careful mode on again.
            local top = 0
            for k in pairs(session_id_coroutine) do
                if k > top and k < DANGER then
                    top = k
                end
            end
            wrap_top = top
        end
        last_session = s
        if wrap_top and s > wrap_top and s < DANGER then
            S[CAREFUL] = false
            wrap_top = nil
        end
    end

    local function free_session()
        while true do
            local s = cgenid()
            observe(s)
            if session_id_coroutine[s] == nil then
                return s
            end
        end
    end

    local function enter_careful(s)
        S[CAREFUL] = true
        last_session = s
    end

    -- TIMEOUT in careful mode: it takes the next session itself, so burn ids until the one after is free.
    local function careful_timeout(ti)
        while true do
            local probe = cgenid()
            observe(probe)
            local nxt = probe >= SESSION_MAX and 1 or probe + 1
            if session_id_coroutine[nxt] == nil then
                break
            end
        end
        local s = cintcommand("TIMEOUT", ti)
        observe(s)
        if session_id_coroutine[s] ~= nil then
            error("session " .. s .. " collides with a pending one")
        end
        return s
    end

    local function auxsend(addr, id, msg, sz)
        if S[CAREFUL] then
            return csend(addr, id, free_session(), msg, sz)
        end
        local s = csend(addr, id, nil, msg, sz)
        if s and s >= DANGER then
            enter_careful(s)
        end
        return s
    end

    local function auxtimeout(ti)
        if S[CAREFUL] then
            return careful_timeout(ti)
        end
        local s = cintcommand("TIMEOUT", ti)
        if s >= DANGER then
            enter_careful(s)
        end
        return s
    end

    local function auxgenid()
        if S[CAREFUL] then
            return free_session()
        end
        local s = cgenid()
        if s >= DANGER then
            enter_careful(s)
        end
        return s
    end

    -- Parks the running thread until the answer to a request sent with `session` comes back.
    local function yield_call(addr, session)
        watching_session[session] = addr
        session_id_coroutine[session] = S[RUNNING]
        local ok, msg, sz = coyield "SUSPEND"
        watching_session[session] = nil
        if not ok then
            error "call failed"
        end
        return msg, sz
    end

    -- skynet.wait is skynet.dispatcher.wait (C); this is what it does, and it does it this way itself
    -- while sessions are near the wrap (careful mode) or a thread is traced.  It is only ever called by
    -- that C function, whose frame sits between it and the caller of skynet.wait.
    local function lua_wait(token)
        local session = auxgenid()
        token = token or corunning()
        if sleep_session[token] ~= nil then
            error("token duplicative", 3)
        end
        local co = S[RUNNING]
        if S[TRACING] then
            local tag = session_coroutine_tracetag[co]
            if tag then
                ctrace(tag, "sleep", 3)   -- from the caller of skynet.wait, past the C frame
            end
        end
        session_id_coroutine[session] = co
        sleep_session[token] = session
        wait_token[token] = session
        coyield "SUSPEND"
        wait_token[token] = nil
        sleep_session[token] = nil
        session_id_coroutine[session] = nil
    end

    I.free_session = free_session
    I.enter_careful = enter_careful
    I.careful_timeout = careful_timeout
    I.auxsend = auxsend
    I.auxtimeout = auxtimeout
    I.auxgenid = auxgenid
    I.yield_call = yield_call
    I.lua_wait = lua_wait
end
