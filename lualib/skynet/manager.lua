-- skynet.manager: service management functions added to the skynet table (spec §1.2).
-- skynet.register and skynet.name already live in skynet.lua (extension §8); requiring this
-- module adds the rest and returns the same table.

local skynet = require "skynet"
local c = require "skynet.core"

local dispatch_message = skynet.dispatch_message

-- Starts a service directly through the core, without the launcher (so no LAUNCHOK wait).
function skynet.launch(...)
    local addr = c.command("LAUNCH", table.concat({ ... }, " "))
    if addr then
        return tonumber(addr:sub(2), 16)
    end
end

function skynet.kill(name)
    if type(name) == "thread" then
        -- the value returned by skynet.timeout: cancel that timeout (extension §8)
        return skynet.killthread(name)
    end
    if type(name) == "number" then
        skynet.send(".launcher", "lua", "REMOVE", name, true)
        name = skynet.address(name)
    end
    c.command("KILL", name)
end

function skynet.abort()
    c.command "ABORT"
end

local function start_later(start_func)
    skynet.timeout(0, function()
        skynet.init_service(start_func)
    end)
end

-- Messages of the types in `map` are dispatched as the mapped type and their buffer is left to
-- whoever takes it over (the core does not free it in forward mode); other buffers are freed here.
function skynet.forward_type(map, start_func)
    c.callback(function(ptype, msg, sz, ...)
        local mapped = map[ptype]
        if mapped then
            dispatch_message(mapped, msg, sz, ...)
        else
            local ok, err = pcall(dispatch_message, ptype, msg, sz, ...)
            c.trash(msg, sz)
            if not ok then
                error(err, 0)
            end
        end
    end, true)
    start_later(start_func)
end

function skynet.filter(f, start_func)
    c.callback(function(...)
        dispatch_message(f(...))
    end)
    start_later(start_func)
end

function skynet.monitor(service, query)
    local monitor
    if query then
        monitor = skynet.queryservice(true, service)
    else
        monitor = skynet.uniqueservice(true, service)
    end
    assert(monitor, "Monitor launch failed")
    c.command("MONITOR", string.format(":%08x", monitor))
    return monitor
end

return skynet
