-- Names, environment, statistics and the service manager's calls: loaded on first use by skynet.lua.
return function(skynet, I)
    local c = I.c
    local cintcommand = c.intcommand

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
