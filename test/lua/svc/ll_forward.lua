-- Helper for the lualib tests: started with skynet.forward_type, mapping protocol 203 onto "lua"
-- (the core must not free those buffers); everything else is dispatched normally and freed.
local skynet = require "skynet"
require "skynet.manager"

skynet.forward_type({ [203] = skynet.PTYPE_LUA }, function()
    skynet.dispatch("lua", function(_, _, ...)
        skynet.retpack("forwarded", ...)
    end)
end)
