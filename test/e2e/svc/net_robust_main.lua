-- Start service of the robustness test: the echo example, the frame reader and the gate in one node.
local skynet = require "skynet"

skynet.start(function()
    skynet.newservice("net_frame_reader")
    skynet.newservice("net_gate_watchdog")
    skynet.newservice("echo_main")
end)
