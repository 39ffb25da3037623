-- Helper for the lualib tests: started with skynet.forward_type, mapping protocol 203 onto a raw protocol
-- (the core must not free those buffers, so the handler owns them and frees them itself, as a forwarding
-- agent would by passing them on); everything else is dispatched normally and freed by the core.
local skynet = require "skynet"
require "skynet.manager"

skynet.register_protocol {
    name = "ll_forwarded",
    id = 205,
    unpack = function(msg, sz) return msg, sz end,
    dispatch = function(_, _, msg, sz)
        local text = skynet.unpack(msg, sz)
        skynet.trash(msg, sz)
        skynet.retpack("forwarded", text)
    end,
}

skynet.forward_type({ [203] = 205 }, function()
    skynet.dispatch("lua", function(_, _, ...)
        skynet.retpack("forwarded", ...)
    end)
end)
