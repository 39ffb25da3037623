-- skynet.service: named services built from a Lua function instead of a file.
--
--   local addr = service.new(name, mainfunc, ...)   -- once per node: later calls return the same
--   local addr = service.query(name)                 -- waits until `name` has been created
--   service.close(name)                              -- kills it; true if there was one
--
-- mainfunc is sent as bytecode (string.dump) to a fresh service_cell and run there with `...` as its
-- arguments, like the main chunk of a service file: it may call skynet.start and skynet.dispatch. It
-- therefore cannot use the caller's local variables, only globals (require, ...).
local skynet = require "skynet"
require "skynet.manager"    -- skynet.kill

local service = {}
local cache = {}
local provider

local function get_provider()
    provider = provider or skynet.uniqueservice "service_provider"
    return provider
end

-- string.dump keeps no upvalue values, so the function may only reach its globals (_ENV).
local function check(func)
    if type(func) ~= "function" then
        error("service.new: mainfunc must be a function, got " .. type(func), 3)
    end
    local info = debug.getinfo(func, "uS")
    if info.what == "C" then
        error("service.new: mainfunc must be a Lua function", 3)
    end
    for i = 1, info.nups do
        local name = debug.getupvalue(func, i)
        if name ~= "_ENV" then
            error(string.format("service.new: mainfunc must not use the local variable '%s' of its "
                .. "creator (only globals); require what it needs inside it", tostring(name)), 3)
        end
    end
end

function service.new(name, mainfunc, ...)
    local p = get_provider()
    local addr, booting = skynet.call(p, "lua", "test", name)
    if not addr then
        if booting then
            addr = skynet.call(p, "lua", "query", name)
        else
            check(mainfunc)
            addr = skynet.call(p, "lua", "launch", name, string.dump(mainfunc), ...)
        end
    end
    cache[name] = addr
    return addr
end

function service.query(name)
    local addr = cache[name]
    if not addr then
        addr = skynet.call(get_provider(), "lua", "query", name)
        cache[name] = addr
    end
    return addr
end

function service.close(name)
    local addr = skynet.call(get_provider(), "lua", "close", name)
    cache[name] = nil
    if addr then
        skynet.kill(addr)
        return true
    end
    return false
end

return service
