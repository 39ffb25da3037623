-- skynet.queue(): a critical section for the threads of one service (spec §1.2).
--
--   local cs = queue()
--   cs(f, ...)   -- runs f(...) when no other thread is inside; re-entrant for the owner
--
-- Built on skynet.queue2's scope lock: waiters are let in one by one, in arrival order, and the
-- section is released by a to-be-closed guard, so an error in f, skynet.exit or killthread never
-- leaves it locked.

local skynet = require "skynet"
local queue2 = require "skynet.queue2"

local function queue()
    local lock = queue2()
    return function(f, ...)
        local _ <close> = lock()
        return f(...)
    end
end

skynet.queue = queue

return queue
