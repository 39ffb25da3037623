-- Exits inside skynet.start while requests wait: it registers `name` (its argument) so that callers can
-- find it, holds every lua request it receives, sleeps `ticks` and then exits from the start function.
local skynet = require "skynet"
require "skynet.manager"

local name, ticks = ...

skynet.start(function()
    skynet.dispatch("lua", function()
        skynet.wait()
    end)
    skynet.register(name)
    skynet.sleep(tonumber(ticks))
    skynet.exit()
end)
