-- skynet.request(...):select(timeout): parallel calls answered in the order they arrive.
-- Loaded on first use by skynet.lua.
return function(skynet, I)
    local c = I.c
    local csend = c.send
    local ctrace = c.trace
    local proto = I.proto
    local S, RUNNING = I.S, I.slot.RUNNING
    local auxsend = I.auxsend
    local auxtimeout = I.auxtimeout
    local cresume = I.cresume
    local session_id_coroutine = I.session_id_coroutine
    local session_coroutine_tracetag = I.session_coroutine_tracetag
    local watching_session = I.watching_session
    local cocreate = coroutine.create
    local coyield = coroutine.yield
    local table_pack = table.pack
    local table_unpack = table.unpack
    local PTYPE_TRACE = skynet.PTYPE_TRACE

    local request_meta = {}
    request_meta.__index = request_meta

    function request_meta:add(obj)
        if type(obj) ~= "table" then
            error("request:add needs a table { addr, typename, ... }", 2)
        end
        if self._thread then
            error("request already selected", 2)
        end
        self[#self + 1] = obj
        return self
    end

    request_meta.__call = request_meta.add

    local function unpack_response(p, ok, msg, sz)
        if not ok then
            return false
        end
        local r = table_pack(pcall(p.unpack, msg, sz))
        if not r[1] then
            return false
        end
        return table_pack(table_unpack(r, 2, r.n))
    end

    -- One collector thread receives every answer of a select and wakes the iterating thread.
    local function collector(self)
        while true do
            local ok, msg, sz, session = coyield "SUSPEND"
            if session == self._timeout_session then
                self._timeout_session = nil
                self.timeout = true
            else
                watching_session[session] = nil
                local req = self._sessions[session]
                if req then
                    self._resp[session] = unpack_response(proto[req[2]], ok, msg, sz)
                end
            end
            skynet.wakeup(self)
        end
    end

    local function request_iter(self)
        local bad = self._bad
        if bad then
            local i = self._bad_next
            local req = bad[i]
            if req then
                self._bad_next = i + 1
                return req, nil
            end
            self._bad = nil
        end
        while true do
            local resp = self._resp
            local session, r = next(resp)
            if session ~= nil then
                resp[session] = nil
                local req = self._sessions[session]
                self._sessions[session] = nil
                self._pending = self._pending - 1
                return req, r
            end
            if self._pending <= 0 or self.timeout then
                return nil
            end
            skynet.wait(self)
        end
    end

    function request_meta:close()
        local sessions = self._sessions
        if sessions then
            local resp = self._resp
            for session in pairs(sessions) do
                if resp[session] == nil then
                    session_id_coroutine[session] = "BREAK"
                    watching_session[session] = nil
                end
            end
            self._sessions = {}
            self._resp = {}
            self._pending = 0
        end
        local t = self._timeout_session
        if t then
            session_id_coroutine[t] = "BREAK"
            self._timeout_session = nil
        end
    end

    request_meta.__close = request_meta.close

    function request_meta:select(timeout)
        if self._thread then
            error("request already selected", 2)
        end
        local thread = cocreate(collector)
        self._thread = thread
        local sessions, bad, pending = {}, nil, 0
        self._sessions = sessions
        self._resp = {}
        local tag = session_coroutine_tracetag[S[RUNNING]]
        for i = 1, #self do
            local req = self[i]
            local addr = req[1]
            local p = proto[req[2]]
            if p == nil then
                error("unknown protocol " .. tostring(req[2]), 2)
            end
            if tag then
                ctrace(tag, "call", 2)
                csend(addr, PTYPE_TRACE, 0, tag)
            end
            local session = auxsend(addr, p.id, p.pack(table_unpack(req, 3, req.n)))
            if session then
                sessions[session] = req
                watching_session[session] = addr
                session_id_coroutine[session] = thread
                pending = pending + 1
            else
                bad = bad or {}
                bad[#bad + 1] = req
            end
        end
        self._pending = pending
        self._bad = bad
        self._bad_next = 1
        if timeout then
            local s = auxtimeout(timeout)
            self._timeout_session = s
            session_id_coroutine[s] = thread
        end
        -- run the collector up to its first yield
        cresume(thread, self)
        return request_iter, self, nil, self
    end

    function skynet.request(obj)
        local r = setmetatable({}, request_meta)
        if obj then
            r:add(obj)
        end
        return r
    end
end
