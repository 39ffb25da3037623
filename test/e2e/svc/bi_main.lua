-- Start service of test/e2e/test_bad_input.py: the Lua API probes, a debug console with HTTP off and one
-- with HTTP on, the length-prefixed frame reader (socket.limit) and the gate watchdog of the network tests.
local skynet = require "skynet"

skynet.start(function()
    skynet.newservice("debug_console", "127.0.0.1", 0)
    skynet.newservice("debug_console", "127.0.0.1", 0, "http")
    skynet.newservice("net_frame_reader")
    skynet.newservice("net_gate_watchdog")
    skynet.newservice("bi_probe")
end)
