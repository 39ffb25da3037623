-- Pattern 5.2, connection pooling: what the pool hands out. A stand-in for a database connection:
-- one query at a time, each taking `latency` centiseconds.
--   skynet.newservice("db_connection", latency_cs)
--   call "query", sql  -> { connection = address, sql = sql, served = n }
local skynet = require "skynet"

local latency = math.tointeger(tonumber((...))) or 0
local served = 0

skynet.start(function()
    skynet.dispatch("lua", function(_, _, cmd, sql)
        if cmd ~= "query" then
            error("unknown command " .. tostring(cmd))
        end
        if latency > 0 then
            skynet.sleep(latency)
        end
        served = served + 1
        skynet.ret(skynet.pack({ connection = skynet.self(), sql = sql, served = served }))
    end)
end)
