-- Start service of the debug console test: a console without HTTP, one with HTTP enabled, and a
-- target service for call / kill.
local skynet = require "skynet"

skynet.start(function()
    skynet.newservice("debug_console", "127.0.0.1", 0)
    skynet.newservice("debug_console", "127.0.0.1", 0, "http")
    local target = skynet.newservice("net_console_target")
    print(string.format("TARGET %s", skynet.address(target)))
    io.stdout:flush()
end)
