-- Names, addresses, time, environment, statistics and the service manager's calls: loaded on first use
-- by skynet.lua.
return function(skynet, I)
    local c = I.c
    local cintcommand = c.intcommand
    local S = I.S
    local RUNNING = I.slot.RUNNING
    local proto = I.proto
    local session_coroutine_id = I.session_coroutine_id
    local session_coroutine_address = I.session_coroutine_address

    function skynet.address(addr)
        if type(addr) == "number" then
            return string.format(":%08x", addr)
        end
        return tostring(addr)
    end

    -- The request the running thread handles: its session and source.
    function skynet.context()
        local co = S[RUNNING]
        return session_coroutine_id[co], session_coroutine_address[co]
    end

    function skynet.ignoreret()
        session_coroutine_id[S[RUNNING]] = nil
    end

    function skynet.genid()
        return I.auxgenid()
    end

    -- skynet itself fails with "attempt to index a nil value" here; name the protocol instead.
    local function protocol_id(typename)
        local p = proto[typename]
        if p == nil then
            error("unknown protocol " .. tostring(typename), 3)
        end
        return p.id
    end

    function skynet.rawsend(addr, typename, msg, sz)
        return c.send(addr, protocol_id(typename), 0, msg, sz)
    end

    function skynet.redirect(dest, source, typename, ...)
        return c.redirect(dest, source, protocol_id(typename), ...)
    end

    local starttime
    function skynet.starttime()
        if not starttime then
            starttime = cintcommand "STARTTIME"
        end
        return starttime
    end

    function skynet.time()
        return c.now() / 100 + (starttime or skynet.starttime())
    end

    function skynet.localname(name)
        return c.addresscommand("QUERY", name)
    end

    function skynet.getenv(key)
        return (c.command("GETENV", key))
    end

    function skynet.newservice(name, ...)
        return skynet.call(".launcher", "lua", "LAUNCH", "snlua", name, ...)
    end

    -- Extension §8: the handle behind a local (.x) or global name, nil when none.
    function skynet.query(name)
        local first = name:sub(1, 1)
        if first == "." then
            return c.addresscommand("QUERY", name)
        elseif first == ":" then
            return tonumber(name:sub(2), 16)
        end
        return c.addresscommand("GQUERY", name)
    end

    -- A global name has no leading dot; the harbor module registers it (§4.3).
    local function globalname(name, handle)
        local first = name:sub(1, 1)
        if first == ":" then
            error("can't name a service " .. name, 3)
        end
        if first == "." then
            return false
        end
        if #name >= 16 then
            error("global name " .. name .. " is too long (max 15)", 3)
        end
        if tonumber(name) ~= nil then
            error("global name can't be a number: " .. name, 3)
        end
        require("skynet.harbor").globalname(name, handle)
        return true
    end

    -- skynet.register / skynet.name work without skynet.manager (extension §8).
    function skynet.register(name)
        if not globalname(name) then
            c.command("REG", name)
        end
    end

    function skynet.name(name, handle)
        if not globalname(name, handle) then
            c.command("NAME", name .. " " .. skynet.address(handle))
        end
    end

    function skynet.harbor(addr)
        return c.harbor(addr)
    end

    function skynet.setenv(key, value)
        -- the core would abort the whole process on an existing key; refuse here instead
        if c.command("GETENV", key) ~= nil then
            error("Can't setenv exist key : " .. key, 2)
        end
        c.command("SETENV", key .. " " .. value)
    end

    function skynet.endless()
        return cintcommand("STAT", "endless") == 1
    end

    function skynet.mqlen()
        return cintcommand("STAT", "mqlen")
    end

    function skynet.stat(what)
        return cintcommand("STAT", what)
    end

    local memlimit_set = false
    function skynet.memlimit(bytes)
        if memlimit_set then
            error("skynet.memlimit can be set only once", 2)
        end
        memlimit_set = true
        debug.getregistry().memlimit = bytes
        -- A service at its limit cannot load code: what answers requesters when a handler dies or the
        -- service ends (lazy/errors.lua, lazy/exit.lua) is loaded now, while it still can.
        local _ = I.thread_failed, I.abandon_all
    end

    function skynet.uniqueservice(global, ...)
        if global == true then
            return assert(skynet.call(".service", "lua", "GLAUNCH", ...))
        end
        return assert(skynet.call(".service", "lua", "LAUNCH", global, ...))
    end

    function skynet.queryservice(global, ...)
        if global == true then
            return assert(skynet.call(".service", "lua", "GQUERY", ...))
        end
        return assert(skynet.call(".service", "lua", "QUERY", global, ...))
    end
end
