-- service_mgr: the registry behind skynet.uniqueservice / queryservice (spec §4.5), named .service.
--
-- Lua commands (all called); each answers `address` or `nil, error`:
--   LAUNCH(name, ...)          start `name` once per node; concurrent callers share the one launch
--   QUERY(name)                the address of `name`, waiting until someone has launched it
--   GLAUNCH(name, ...)         LAUNCH in the global table (names kept as "@name")
--   GQUERY(name, ...)          QUERY in the global table
--   LIST()                     name -> address / "Querying" / "Error: ..."
--   REPORT(mgr)                another node's service_mgr announcing itself (multi-node only)
-- snax services are kept as "snaxd.<snaxname>" ("@snaxd.<snaxname>" when global), so that each snax
-- type is unique on its own.
local skynet = require "skynet"
require "skynet.manager"    -- skynet.register

local cmd = {}

-- name -> address (number) once started; an error text (string) if the launch failed; or a table
-- while unresolved: the waiting coroutines, plus `launching = true` while a launch is running.
local service = {}

-- Resolves a pending entry and wakes everyone queued on it.
local function resolve(name, ok, result)
    local entry = service[name]
    if ok and type(result) == "number" then
        service[name] = result
    elseif ok then
        -- The service exited during its start: nothing to hand out. Forget the entry so that a later
        -- LAUNCH tries again, and tell the callers of now.
        service[name] = nil
        result = name .. " exited during its start"
        ok = false
    else
        -- As in skynet, a failed launch is remembered: later LAUNCH/QUERY of the name fail with it.
        result = tostring(result)
        service[name] = result
    end
    if type(entry) == "table" then
        entry.result = ok and result or false
        entry.err = not ok and result or nil
        for _, co in ipairs(entry) do
            skynet.wakeup(co)
        end
    end
    if not ok then
        error(result, 0)
    end
    return result
end

-- The `waitfor` of skynet's service_mgr: returns the address of `name`. The first caller that brings
-- a launcher function `func` runs it; everyone else waits for that launch (or, with no `func`, for
-- whoever launches the name later).
local function waitfor(name, func, ...)
    local entry = service[name]
    if type(entry) == "number" then
        return entry
    elseif type(entry) == "string" then
        error(entry, 0)
    elseif entry == nil then
        entry = {}
        service[name] = entry
    end

    if func and not entry.launching then
        entry.launching = true
        return resolve(name, pcall(func, ...))
    end

    entry[#entry + 1] = coroutine.running()
    skynet.wait()
    -- The entry table is the one that was resolved, even if the name has since been forgotten.
    if entry.result then
        return entry.result
    end
    error(entry.err or (name .. " was not launched"), 0)
end

-- "@name" is a global name: strip the marker to get the service to launch.
local function real_name(service_name)
    if service_name:byte(1) == 64 then -- '@'
        return service_name:sub(2)
    end
    return service_name
end

local function check_name(service_name)
    if type(service_name) ~= "string" or service_name == "" then
        error("service name expected, got " .. tostring(service_name), 0)
    end
end

local snax
local function snax_newservice(...)
    -- Loaded on first use: most nodes never start a unique snax service.
    snax = snax or require "skynet.snax"
    return snax.rawnewservice(...)
end

function cmd.LAUNCH(service_name, subname, ...)
    check_name(service_name)
    local realname = real_name(service_name)
    if realname == "snaxd" then
        check_name(subname)
        return waitfor(service_name .. "." .. subname, snax_newservice, subname, ...)
    end
    return waitfor(service_name, skynet.newservice, realname, subname, ...)
end

function cmd.QUERY(service_name, subname)
    check_name(service_name)
    local realname = real_name(service_name)
    if realname == "snaxd" then
        check_name(subname)
        return waitfor(service_name .. "." .. subname)
    end
    return waitfor(service_name)
end

local function list_service()
    local result = {}
    for name, v in pairs(service) do
        if type(v) == "string" then
            v = "Error: " .. v
        elseif type(v) == "table" then
            v = "Querying"
        else
            v = skynet.address(v)
        end
        result[name] = v
    end
    return result
end

-- This node keeps the global table (always, on a single node).
local function register_global()
    function cmd.GLAUNCH(name, ...)
        check_name(name)
        return cmd.LAUNCH("@" .. name, ...)
    end

    function cmd.GQUERY(name, ...)
        check_name(name)
        return cmd.QUERY("@" .. name, ...)
    end

    local managers = {}

    function cmd.REPORT(m)
        managers[m] = true
    end

    local function add_list(all, m)
        local harbor = "@" .. skynet.harbor(m)
        local result = skynet.call(m, "lua", "LIST")
        for k, v in pairs(result) do
            all[k .. harbor] = v
        end
    end

    function cmd.LIST()
        local result = {}
        for m in pairs(managers) do
            pcall(add_list, result, m)
        end
        for k, v in pairs(list_service()) do
            result[k] = v
        end
        return result
    end
end

-- Another node keeps the global table: global requests are forwarded to its SERVICE and the answer
-- cached here. Not reachable on a single node (bootstrap always sets standalone), kept so that the
-- service behaves as skynet's if someone runs it without standalone.
local function register_local()
    local function forward(command, name, ...)
        check_name(name)
        local global_name = "@" .. name
        local key = global_name
        if name == "snaxd" then
            key = global_name .. "." .. tostring((...))
        end
        return waitfor(key, skynet.call, "SERVICE", "lua", command, global_name, ...)
    end

    function cmd.GLAUNCH(...)
        return forward("LAUNCH", ...)
    end

    function cmd.GQUERY(...)
        return forward("QUERY", ...)
    end

    function cmd.LIST()
        return list_service()
    end

    skynet.call("SERVICE", "lua", "REPORT", skynet.self())
end

skynet.start(function()
    skynet.dispatch("lua", function(_, _, command, ...)
        local f = cmd[command]
        if f == nil then
            skynet.ret(skynet.pack(nil, "Invalid command " .. tostring(command)))
            return
        end
        local ok, r = pcall(f, ...)
        if ok then
            skynet.ret(skynet.pack(r))
        else
            skynet.ret(skynet.pack(nil, tostring(r)))
        end
    end)

    local other = skynet.localname ".service"
    if other then
        skynet.error(".service is already registered by " .. skynet.address(other))
        skynet.exit()
    end
    skynet.register ".service"

    if skynet.getenv "standalone" then
        skynet.register "SERVICE"
        register_global()
    else
        register_local()
    end
end)
