-- skynet.datacenter: a node-wide tree of values kept by datacenterd (global name DATACENTER).
--
--   datacenter.get(k1, k2, ...)          -> the value at that path, or nil
--   datacenter.set(k1, ..., kn, value)   -> stores value at the path (branches are created) and
--                                           returns the old value
--   datacenter.wait(k1, k2, ...)         -> the value at that path, blocking until someone sets it
local skynet = require "skynet"

local datacenter = {}

-- Called by name, so that it also works in services started before DATACENTER existed: a call to a
-- global name waits for the name to be registered.
local DATACENTER = "DATACENTER"

function datacenter.get(...)
    return skynet.call(DATACENTER, "lua", "QUERY", ...)
end

function datacenter.set(...)
    return skynet.call(DATACENTER, "lua", "UPDATE", ...)
end

function datacenter.wait(...)
    return skynet.call(DATACENTER, "lua", "WAIT", ...)
end

return datacenter
