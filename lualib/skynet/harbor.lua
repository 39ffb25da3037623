-- Global names on a single node (spec §4.3).
--
-- The core keeps the global name table (GREG / GQUERY).  Registration is made in the core first,
-- synchronously, so the name works the moment this returns; .cslave is told afterwards so that the
-- callers blocked in its QUERYNAME are answered.

local skynet = require "skynet"
local c = require "skynet.core"

local harbor = {}

function harbor.globalname(name, handle)
    handle = handle or skynet.self()
    c.command("GREG", name .. " " .. skynet.address(handle))
    skynet.send(".cslave", "lua", "REGISTER", name, handle)
end

-- The handle of a global name; blocks until somebody registers it.
function harbor.queryname(name)
    local handle = c.addresscommand("GQUERY", name)
    if handle then
        return handle
    end
    return skynet.call(".cslave", "lua", "QUERYNAME", name)
end

function harbor.link(id)
    skynet.call(".cslave", "lua", "LINK", id)
end

function harbor.connect(id)
    skynet.call(".cslave", "lua", "CONNECT", id)
end

function harbor.linkmaster()
    skynet.call(".cslave", "lua", "LINKMASTER")
end

return harbor
