-- cdummy: the harbor slave of a single node, named .cslave by bootstrap.
--
-- Global names live in the core (GREG / GQUERY, docs/core-boundary.md): skynet.harbor.globalname
-- registers the name there and then sends REGISTER here, so this service only has to remember who
-- is waiting for a name and wake them. There is no other node, so the link commands have nothing
-- to wait for.
local skynet = require "skynet"
local c = require "skynet.core"

local waiting = {}      -- global name -> list of response closures of QUERYNAME waiting for it
local cmd = {}

-- The handle registered under a global name in the core, or nil.
local function global_handle(name)
    return c.addresscommand("GQUERY", name)
end

-- Sent (not called) by harbor.globalname after the core registered the name.
function cmd.REGISTER(name, handle)
    local queue = waiting[name]
    if queue then
        waiting[name] = nil
        local addr = global_handle(name) or handle
        for _, response in ipairs(queue) do
            response(true, addr)
        end
    end
end

-- harbor.queryname: the handle of a name; blocks until a global name is registered.
function cmd.QUERYNAME(name)
    if type(name) ~= "string" or name == "" then
        error("QUERYNAME needs a name, got " .. tostring(name))
    end
    if name:byte(1) == 46 then -- '.': a local name never "appears later" from another node
        return skynet.ret(skynet.pack(skynet.localname(name)))
    end
    local addr = global_handle(name)
    if addr then
        return skynet.ret(skynet.pack(addr))
    end
    local queue = waiting[name]
    if not queue then
        queue = {}
        waiting[name] = queue
    end
    queue[#queue + 1] = skynet.response()
end

-- harbor.link(id) waits while harbor `id` is connected. There is no other harbor here; answer at
-- once, as skynet's cdummy does.
function cmd.LINK()
    skynet.ret()
end

-- harbor.connect(id) waits until harbor `id` connects, which can never happen on a single node.
-- skynet's cdummy logs and leaves the caller hanging forever. We log the same line and fail the call
-- (spec §0.3): answering would tell the caller that harbor `id` is connected, and code such as
-- skynet's testharborlink would go on as if it were.
function cmd.CONNECT(id)
    skynet.error(string.format("Can't connect to other harbor in single node mode (harbor %s)", tostring(id)))
    skynet.response()(false)
end

-- harbor.linkmaster() waits until the link to the master drops, on a multi-node net. A single node
-- has no master. skynet's cdummy has no LINKMASTER at all, so there the call fails at once with
-- "call failed"; a skynet user therefore already sees an immediate error, never a silent forever-
-- wait, and code that treats the return as "master is down" is not misled into acting on it. We
-- keep that behaviour, with a log line saying why (rather than a stack trace).
function cmd.LINKMASTER()
    skynet.error("LINKMASTER: there is no master in single-node mode; the call fails")
    skynet.response()(false)
end

skynet.register_protocol {
    name = "text",
    id = skynet.PTYPE_TEXT,
    unpack = skynet.tostring,
    -- harbor text control messages have no meaning on a single node
    dispatch = function() end,
}

skynet.start(function()
    -- skynet's cdummy starts the C harbor service here; ours is an empty stand-in, launched so that the
    -- handles of the services booted after it (datacenterd, service_mgr, the start service) are the same
    -- as on skynet.
    require "skynet.manager"
    skynet.launch("harbor", 0, skynet.self())
    skynet.dispatch("lua", function(_, _, command, ...)
        local f = cmd[command]
        if not f then
            error("cdummy: unknown command " .. tostring(command))
        end
        f(...)
    end)
end)
