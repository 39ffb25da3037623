-- Logs `n` numbered lines (config key log_lines), then says it is done.
local skynet = require "skynet"

skynet.start(function()
    local n = tonumber(skynet.getenv "log_lines") or 1000
    for i = 1, n do
        skynet.error("line " .. i)
    end
    skynet.error("burst done")
end)
