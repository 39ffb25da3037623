-- .launcher: starts services for skynet.newservice and keeps the list of what it started (spec §4.4).
--
-- A LAUNCH request is answered only when the child has finished its start function. The reply is held
-- with skynet.response() and released by whichever of these comes first:
--   LAUNCHOK (lua) or text ""            -> the child's address
--   ERROR    (lua) or text "ERROR"       -> error: the caller's newservice raises "call failed"
--   REMOVE(handle, kill)                 -> nil when the child called skynet.exit during its start,
--                                           an error when it was killed
--   the child ends (skynet.watch, §8)    -> the same as above; this is the safety net that guarantees a
--                                           newservice call never hangs, whatever way the child died
local skynet = require "skynet"
local core = require "skynet.core"
require "skynet.manager"    -- skynet.launch, skynet.kill

local services = {}     -- handle -> "module args" of every live service started here
local pending = {}      -- handle -> response closure of the LAUNCH still waiting for its start
local launch_session = {}   -- handle -> session of that LAUNCH request (for QUERY)
local command = {}

-- An ended service's records here (its entry, its watch, its reply) become garbage that the collector,
-- paced by allocation, leaves alone while the launcher is idle; the pages they share with the ended
-- services' memory then stay resident (10,000 services spawned and ended: ~80 MB of 480).  A full
-- collection each time the number of live services halves, once at least 64 have ended since the last
-- one, costs about two collections of the peak heap in all.
local live, high = 0, 0

local function forget(handle)
    if services[handle] ~= nil then
        services[handle] = nil
        live = live - 1
        if high - live >= 64 and live <= high // 2 then
            collectgarbage()
            high = live
        end
    end
end

-- Returned by a command that answers (or deliberately never answers) by itself.
local NORET = {}

-- Accepts a handle as a number or as the ":hex" text that debug tools pass around.
local function to_handle(h)
    if type(h) == "number" then
        return math.tointeger(h)
    elseif type(h) == "string" then
        if h:byte(1) == 58 then -- ':'
            return tonumber(h:sub(2), 16)
        end
        return tonumber(h)
    end
end

-- Releases the LAUNCH reply for `handle`, if one is still held. `ok` false sends an error; `ok` true
-- with no address gives the caller nil.
local function finish(handle, ok, addr)
    local response = pending[handle]
    if response then
        pending[handle] = nil
        launch_session[handle] = nil
        if ok then
            response(true, addr)
        else
            response(false)
        end
    end
end

-- Called (in a new coroutine) when a service started here has ended, however it ended.
local function on_service_end(handle, reason)
    forget(handle)
    -- A child that called skynet.exit already sent REMOVE(handle, false), so its caller got nil; a
    -- reply still held here means the child died without telling us: that is a failed launch.
    finish(handle, reason == "exit")
end

local watch_failed = false

local function watch(handle)
    local ok, err = pcall(skynet.watch, handle, on_service_end)
    if not ok and not watch_failed then
        -- Launches still work through LAUNCHOK / ERROR / REMOVE; only the safety net is missing.
        watch_failed = true
        skynet.error("launcher: cannot watch launched services: " .. tostring(err))
    end
end

function command.LIST()
    local list = {}
    for handle, desc in pairs(services) do
        list[skynet.address(handle)] = desc
    end
    return list
end

-- Sends the debug command `...` to every service in `targets` at once and collects the answers.
-- `ti` (centiseconds, optional) bounds the wait, so one stuck service cannot stall the whole list:
-- it shows as "TIMEOUT", a service that failed to answer shows as "ERROR".
local function collect(targets, ti, format, ...)
    local result = {}
    local waiting = {}
    local req = skynet.request()
    for handle in pairs(targets) do
        local r = { handle, "debug", ... }
        req:add(r)
        waiting[r] = handle
    end
    for r, resp in req:select(ti) do
        local handle = waiting[r]
        waiting[r] = nil
        if resp then
            result[skynet.address(handle)] = format(handle, nil, table.unpack(resp, 1, resp.n))
        else
            result[skynet.address(handle)] = format(handle, "ERROR")
        end
    end
    for _, handle in pairs(waiting) do
        result[skynet.address(handle)] = format(handle, "TIMEOUT")
    end
    return result
end

function command.STAT(_, ti)
    return collect(services, tonumber(ti), function(_, err, stat)
        return err or stat
    end, "STAT")
end

function command.MEM(_, ti)
    return collect(services, tonumber(ti), function(handle, err, kb)
        local desc = tostring(services[handle])
        if err or type(kb) ~= "number" then
            return string.format("%s (%s)", tostring(err or kb), desc)
        end
        return string.format("%.2f Kb (%s)", kb, desc)
    end, "MEM")
end

function command.GC(addr, ti)
    for handle in pairs(services) do
        skynet.send(handle, "debug", "GC")
    end
    return command.MEM(addr, ti)
end

function command.KILL(_, handle)
    local h = to_handle(handle)
    if not h then
        error("KILL: invalid address " .. tostring(handle))
    end
    local desc = services[h]
    skynet.kill(h)
    forget(h)
    return { [skynet.address(h)] = tostring(desc) }
end

-- Sent by skynet.exit (kill = false) and skynet.kill (kill = true) before the service goes away.
-- Never answered: the sender may already be gone.
function command.REMOVE(_, handle, kill)
    handle = to_handle(handle)
    if handle then
        forget(handle)
        finish(handle, not kill)
    end
    return NORET
end

-- Debug tools ask which service a LAUNCH request (by its session) is starting.
function command.QUERY(_, request_session)
    for handle, session in pairs(launch_session) do
        if session == request_session then
            return handle
        end
    end
end

-- Every argument becomes a string and they are joined with spaces (spec §1.2 newservice). Trailing
-- nils are dropped; a nil in the middle is written "nil" rather than silently shifting the others.
local function join_args(...)
    local n = select("#", ...)
    while n > 0 and select(n, ...) == nil do
        n = n - 1
    end
    local parts = {}
    for i = 1, n do
        parts[i] = tostring((select(i, ...)))
    end
    return table.concat(parts, " ")
end

local function launch_service(service, ...)
    local session = skynet.context()
    local response = skynet.response()
    if type(service) ~= "string" or service == "" then
        skynet.error("launcher: LAUNCH needs a module name, got " .. tostring(service))
        response(false)
        return nil
    end
    local param = join_args(...)
    local ok, inst = pcall(skynet.launch, service, param)
    if not ok or not inst then
        if not ok then
            skynet.error(string.format("launcher: launch %s %s failed: %s", service, param, tostring(inst)))
        end
        response(false)
        return nil
    end
    services[inst] = service .. " " .. param
    live = live + 1
    if live > high then
        high = live
    end
    pending[inst] = response
    launch_session[inst] = session
    watch(inst)
    return inst
end

function command.LAUNCH(_, service, ...)
    launch_service(service, ...)
    return NORET
end

-- As LAUNCH, and the core also logs every message of the new service (LOGON).
function command.LOGLAUNCH(_, service, ...)
    local inst = launch_service(service, ...)
    if inst then
        core.command("LOGON", skynet.address(inst))
    end
    return NORET
end

-- The child's start failed (sent by skynet.lua's init_service, or by snlua when loading failed).
function command.ERROR(address)
    forget(address)
    finish(address, false)
    return NORET
end

-- The child's start function returned.
function command.LAUNCHOK(address)
    finish(address, true, address)
    return NORET
end

-- C services (and snlua itself, when the loader fails) report with PTYPE_TEXT: "" means started,
-- "ERROR" means failed. An empty text arrives as no data at all, hence the nil.
skynet.register_protocol {
    name = "text",
    id = skynet.PTYPE_TEXT,
    unpack = skynet.tostring,
    dispatch = function(_, address, cmd)
        if cmd == nil or cmd == "" then
            command.LAUNCHOK(address)
        elseif cmd == "ERROR" then
            command.ERROR(address)
        else
            skynet.error(string.format("launcher: invalid text command %q from %s", cmd,
                skynet.address(address)))
        end
    end,
}

skynet.dispatch("lua", function(_, address, cmd, ...)
    local f = type(cmd) == "string" and command[cmd:upper()]
    if f then
        local ret = f(address, ...)
        if ret ~= NORET then
            skynet.ret(skynet.pack(ret))
        end
    else
        skynet.ret(skynet.pack { "Unknown command" })
    end
end)

skynet.start(function() end)
