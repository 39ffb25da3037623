-- skynet.watch and skynet.unwatch (§8): loaded on first use by skynet.lua. The core sends
-- PTYPE_SYSTEM "WATCH <id> <reason>" from the watched handle when it ends; skynet.lua hands those
-- messages to internal.watch_message, which this part installs.
return function(skynet, I)
    local c = I.c
    local watchers = {}   -- watched handle -> { [id] = token }

    function I.watch_message(msg, sz, source)
        local text = c.tostring(msg, sz)
        if text == nil then
            return false
        end
        local id, reason = text:match "^WATCH (%d+) (%S+)"
        if id == nil then
            return false
        end
        id = tonumber(id)
        local byid = watchers[source]
        local token = byid and byid[id]
        if token then
            byid[id] = nil
            if next(byid) == nil then
                watchers[source] = nil
            end
            skynet.fork(token.f, source, reason)
        end
        return true
    end

    local function to_handle(addr)
        if type(addr) == "number" then
            return addr
        end
        if type(addr) == "string" then
            local first = addr:sub(1, 1)
            if first == ":" then
                return tonumber(addr:sub(2), 16)
            end
            return skynet.query(addr)
        end
        error("invalid service address " .. tostring(addr), 3)
    end

    function skynet.watch(addr, f)
        if type(f) ~= "function" then
            error("skynet.watch needs a function", 2)
        end
        local handle = to_handle(addr)
        if handle == nil then
            -- a name that resolves to nothing: it is as dead as a vanished handle
            skynet.fork(f, addr, "dead")
            return { addr = addr }
        end
        local r = c.command("WATCH", string.format(":%x", handle))
        local id = tonumber(r)
        if id == nil then
            error("the core refused WATCH " .. skynet.address(handle) .. " (" .. tostring(r) .. ")", 2)
        end
        local token = { addr = handle, id = id, f = f }
        local byid = watchers[handle]
        if byid == nil then
            byid = {}
            watchers[handle] = byid
        end
        byid[id] = token
        return token
    end

    function skynet.unwatch(token)
        local handle, id = token.addr, token.id
        if id == nil then
            return
        end
        local byid = watchers[handle]
        if byid and byid[id] == token then
            byid[id] = nil
            if next(byid) == nil then
                watchers[handle] = nil
            end
            c.command("UNWATCH", string.format(":%x %d", handle, id))
        end
    end
end
