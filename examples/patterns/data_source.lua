-- Pattern 3.3, aggregation: one of the sources the fanout aggregator asks. It answers "query" after
-- a delay, like a remote shard would.
--   skynet.newservice("data_source", name, delay_cs)
--   call "query", q  -> "<name>:<q>"
local skynet = require "skynet"

local name, delay = ...
delay = math.tointeger(tonumber(delay)) or 0

skynet.start(function()
    skynet.dispatch("lua", function(_, _, cmd, q)
        if cmd ~= "query" then
            error("unknown command " .. tostring(cmd))
        end
        if delay > 0 then
            skynet.sleep(delay)
        end
        skynet.ret(skynet.pack(name .. ":" .. tostring(q)))
    end)
end)
