-- skynet.snax: client side of snax services (service/snaxd.lua runs them).
--
--   local obj = snax.newservice(name, ...)     start a snax service; its init(...) runs first
--   obj.post.method(...)                        accept.method, no reply
--   obj.req.method(...)                         response.method, returns its results
--   snax.uniqueservice / globalservice(name, ...), snax.queryservice / queryglobal(name)
--   snax.kill(obj, ...)                         runs exit(...) in the service, which then ends
--   snax.self(), snax.exit(...)                 inside a snax service
--   snax.hotfix(obj, source, ...)               patch methods of a running service (snax/hotfix.lua)
--   snax.bind(handle, name), snax.interface(name), snax.printf(fmt, ...), snax.profile_info(obj)
--
-- Messages use PTYPE_SNAX with skynet.pack; the first value is the method id, which the caller learns
-- by loading the same snax file (snax.interface) with a dummy environment.
local skynet = require "skynet"
require "skynet.manager"    -- skynet.kill
local snax_interface = require "snax.interface"

local snax = {}
local typeclass = {}

-- The environment the caller loads snax files in, to learn their method ids. Only the definitions
-- matter there, so `require` is a no-op unless the config names a module (snax_interface_g) that
-- provides a richer environment.
local G
do
    local interface_g = skynet.getenv "snax_interface_g"
    if interface_g then
        G = require(interface_g)
    else
        G = { require = function() end }
    end
end

skynet.register_protocol {
    name = "snax",
    id = skynet.PTYPE_SNAX,
    pack = skynet.pack,
    unpack = skynet.unpack,
}

-- name -> { name, accept = {method -> id}, response = {...}, system = {...} }
function snax.interface(name)
    local t = typeclass[name]
    if t then
        return t
    end
    local funcs = snax_interface(name, G)
    t = { name = name, accept = {}, response = {}, system = {} }
    for _, desc in ipairs(funcs) do
        local id, group, mname = desc[1], desc[2], desc[3]
        t[group][mname] = id
    end
    typeclass[name] = t
    return t
end

local object_meta = {
    __tostring = function(obj)
        return string.format("[%s:%x]", obj.type, obj.handle)
    end,
}

local function gen_post(t, handle)
    return setmetatable({}, {
        __index = function(_, k)
            local id = t.accept[k]
            if not id then
                error(string.format("post %s:%s no exist", t.name, tostring(k)), 2)
            end
            return function(...)
                skynet.send(handle, "snax", id, ...)
            end
        end,
    })
end

local function gen_req(t, handle)
    return setmetatable({}, {
        __index = function(_, k)
            local id = t.response[k]
            if not id then
                error(string.format("request %s:%s no exist", t.name, tostring(k)), 2)
            end
            return function(...)
                return skynet.call(handle, "snax", id, ...)
            end
        end,
    })
end

-- One object per handle; weak, so objects of dead services go away.
local handle_cache = setmetatable({}, { __mode = "kv" })

function snax.bind(handle, name)
    local obj = handle_cache[handle]
    if obj then
        if obj.type ~= name then
            error(string.format("snax.bind: %s is a %s service, not %s", skynet.address(handle),
                obj.type, tostring(name)))
        end
        return obj
    end
    local t = snax.interface(name)
    obj = setmetatable({
        post = gen_post(t, handle),
        req = gen_req(t, handle),
        type = name,
        handle = handle,
    }, object_meta)
    handle_cache[handle] = obj
    return obj
end

-- Starts a snaxd running `name`, runs its init(...), and returns the handle.
function snax.rawnewservice(name, ...)
    local t = snax.interface(name)
    local handle = skynet.newservice("snaxd", name)
    if not handle then
        error("snax service " .. tostring(name) .. " exited during its start")
    end
    local ok, err = pcall(skynet.call, handle, "snax", t.system.init, ...)
    if not ok then
        -- A service whose init failed can never serve anything: don't leave it running.
        skynet.kill(handle)
        error(err, 0)
    end
    return handle
end

function snax.newservice(name, ...)
    return snax.bind(snax.rawnewservice(name, ...), name)
end

local function service_mgr(command, ...)
    local handle, err = skynet.call(".service", "lua", command, "snaxd", ...)
    if not handle then
        error(err or ("snax " .. command .. " failed"), 0)
    end
    return handle
end

function snax.uniqueservice(name, ...)
    return snax.bind(service_mgr("LAUNCH", name, ...), name)
end

function snax.globalservice(name, ...)
    return snax.bind(service_mgr("GLAUNCH", name, ...), name)
end

function snax.queryservice(name)
    return snax.bind(service_mgr("QUERY", name), name)
end

function snax.queryglobal(name)
    return snax.bind(service_mgr("GQUERY", name), name)
end

-- Runs the service's exit(...); the service replies and then ends.
function snax.kill(obj, ...)
    local t = snax.interface(obj.type)
    skynet.call(obj.handle, "snax", t.system.exit, ...)
end

-- Inside a snax service (snaxd sets SERVICE_NAME to the snax name).
function snax.self()
    return snax.bind(skynet.self(), SERVICE_NAME)
end

function snax.exit(...)
    snax.kill(snax.self(), ...)
end

local function hotfix_result(ok, ...)
    if ok then
        return ...
    end
    error((...), 0)
end

function snax.hotfix(obj, source, ...)
    local t = snax.interface(obj.type)
    return hotfix_result(skynet.call(obj.handle, "snax", t.system.hotfix, source, ...))
end

function snax.printf(fmt, ...)
    skynet.error(string.format(fmt, ...))
end

function snax.profile_info(obj)
    local t = snax.interface(obj.type)
    return skynet.call(obj.handle, "snax", t.system.profile)
end

return snax
