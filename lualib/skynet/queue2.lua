-- skynet.queue2(): the critical section of skynet.queue as a scope lock.
--
--   local lock = queue2()
--   local _ <close> = lock()   -- held until the variable goes out of scope; re-entrant for the owner
--
-- Waiters sleep with skynet.wait and are let in one by one, in arrival order.  Releasing happens in
-- __close, so an error, skynet.exit or killthread in the locked scope never leaves it locked.

local skynet = require "skynet"

local corunning = coroutine.running
local setmetatable = setmetatable

local function queue2()
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

    -- one guard serves every entry: closing it is what counts, not which value was returned
    local guard = setmetatable({}, { __close = leave })

    return function()
        local me = corunning()
        if owner ~= nil and owner ~= me then
            tail = tail + 1
            waiting[tail] = me
            skynet.wait(me)
            -- leave() made us the owner before waking us
        end
        owner = me
        depth = depth + 1
        return guard
    end
end

skynet.queue2 = queue2

return queue2
