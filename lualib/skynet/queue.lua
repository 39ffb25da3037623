-- skynet.queue(): a critical section for the threads of one service (spec §1.2).
--
--   local cs = queue()
--   cs(f, ...)   -- runs f(...) when no other thread is inside; re-entrant for the owner
--
-- Waiters sleep with skynet.wait and are let in one by one, in arrival order.  The section is
-- released by a to-be-closed guard, so an error in f, skynet.exit or killthread never leaves it
-- locked.

local skynet = require "skynet"

local corunning = coroutine.running
local setmetatable = setmetatable

local function queue()
    local owner = nil
    local depth = 0
    local waiting = {}
    local head, tail = 1, 0

    local function leave()
        depth = depth - 1
        if depth > 0 then
            return
        end
        owner = nil
        -- hand the section to the next waiter that is still alive
        while head <= tail do
            local co = waiting[head]
            waiting[head] = nil
            head = head + 1
            if skynet.wakeup(co) then
                owner = co
                depth = 0
                return
            end
        end
        head, tail = 1, 0
    end

    local guard = setmetatable({}, { __close = leave })

    return function(f, ...)
        local me = corunning()
        if owner ~= nil and owner ~= me then
            tail = tail + 1
            waiting[tail] = me
            skynet.wait(me)
            -- leave() made us the owner before waking us
        end
        owner = me
        depth = depth + 1
        local _ <close> = guard
        return f(...)
    end
end

skynet.queue = queue

return queue
