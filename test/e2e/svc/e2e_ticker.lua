-- Logs "tick N" every centisecond, `ticks` times (config key ticks), then "ticker done".
local skynet = require "skynet"

skynet.start(function()
    local n = tonumber(skynet.getenv "ticks") or 300
    skynet.fork(function()
        for i = 1, n do
            skynet.error("tick " .. i)
            skynet.sleep(1)
        end
        skynet.error("ticker done")
    end)
end)
