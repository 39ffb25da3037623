-- Helper for the lualib tests: its start function fails, after sleeping `ti` centiseconds (so a
-- watcher can be installed first when the service is started with skynet.launch).
local skynet = require "skynet"
local ti = tonumber((...)) or 0

skynet.start(function()
    if ti > 0 then
        skynet.sleep(ti)
    end
    error("ll_initfail: start fails on purpose")
end)
