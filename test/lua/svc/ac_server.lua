-- Service for test/lua/api_c.lua: answers in the ways skynet.ret and skynet.retpack allow.
--   lua "retpack", ...  -> ... (retpack)
--   lua "raw"           -> "raw text", answered with ret of a packed string
--   lua "empty"         -> nothing: ret() with no message
--   lua "ret_on_send"   sent, not called: records what ret returns (false: nobody waits)
--   lua "twice"         -> "first"; records the error of a second ret
--   lua "last"          -> what the last ret_on_send or twice recorded
local skynet = require "skynet"

local last

local cmd = {}

function cmd.retpack(...)
    skynet.retpack(...)
end

function cmd.raw()
    skynet.ret(skynet.packstring("raw text"))
end

function cmd.empty()
    skynet.ret()
end

function cmd.ret_on_send()
    last = skynet.ret(skynet.pack("nobody reads this"))
end

function cmd.twice()
    skynet.retpack("first")
    local ok, err = pcall(skynet.ret, skynet.pack("second"))
    last = ok and "no error" or tostring(err)
end

function cmd.last()
    skynet.retpack(last)
end

skynet.start(function()
    skynet.dispatch("lua", function(_, _, name, ...)
        cmd[name](...)
    end)
end)
