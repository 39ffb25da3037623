-- Helper for the lualib tests: started with skynet.filter; the filter counts messages and rewrites
-- protocol 204 into "lua".
local skynet = require "skynet"
require "skynet.manager"

local seen = 0
skynet.filter(function(ptype, msg, sz, session, source)
    seen = seen + 1
    if ptype == 204 then
        ptype = skynet.PTYPE_LUA
    end
    return ptype, msg, sz, session, source
end, function()
    skynet.dispatch("lua", function()
        skynet.retpack("filtered", seen)
    end)
end)
