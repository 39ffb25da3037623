-- Start service of test/e2e/test_overload.py: a debug console, one consumer and `ov_producers` producers
-- that send it `ov_messages` messages in all, faster than it handles them. Logs (for the test):
--   "overload: consumer :xxxxxxxx"           the flooded service
--   "overload: flood started"                once every producer runs
--   "overload: delivered N of M, K out of order"  when the consumer has handled everything
local skynet = require "skynet"

local total = math.tointeger(tonumber(skynet.getenv "ov_messages")) or 5000000
local producers = math.tointeger(tonumber(skynet.getenv "ov_producers")) or 2

skynet.start(function()
    skynet.newservice("debug_console", "127.0.0.1", 0)
    local consumer = skynet.newservice("ov_consumer")
    skynet.error("overload: consumer " .. skynet.address(consumer))
    local share = total // producers
    local list = {}
    for i = 1, producers do
        list[i] = skynet.newservice("ov_producer", consumer, i == producers and total - share * (i - 1) or share)
    end
    skynet.fork(function()
        local done = 0
        for i = 1, producers do
            skynet.fork(function()
                skynet.call(list[i], "lua", "run")
                done = done + 1
            end)
        end
        skynet.error("overload: flood started")
        while done < producers do skynet.sleep(10) end
        -- Queued behind every message of the flood, so it is answered once all of them were handled.
        local count, disorder = skynet.call(consumer, "lua", "count")
        skynet.error(string.format("overload: delivered %d of %d, %d out of order", count, total, disorder))
    end)
end)
