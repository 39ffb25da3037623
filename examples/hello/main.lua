-- The default node's start service: says hello, starts a small echo service, calls it, and keeps running
-- (a skynet node runs until it is stopped with Ctrl-C or skynet.abort()).
local skynet = require "skynet"

skynet.start(function()
    skynet.error("Server start")
    local echo = skynet.newservice("hello_echo")
    local reply = skynet.call(echo, "lua", "hello", "world")
    skynet.error("hello_echo answered:", reply)
    skynet.error("Node running; press Ctrl-C to stop")
end)
