-- Logs `log_lines` lines as fast as it can, then aborts the node at once: every line must still be written.
local skynet = require "skynet"
require "skynet.manager"

skynet.start(function()
    local n = tonumber(skynet.getenv "log_lines") or 20000
    for i = 1, n do
        skynet.error("flood " .. i)
    end
    skynet.abort()
end)
