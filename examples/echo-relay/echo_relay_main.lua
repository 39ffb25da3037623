-- The start service of the echo relay node: starts the relay, then the CLI that talks to it.
--
-- skynet.newservice returns once the new service's start function has returned, so the relay has
-- registered its name before the CLI sends the first line (the seed's CLI sleeps 200 ms for this).
local skynet = require "skynet"

skynet.start(function()
    skynet.newservice("echo_relay")
    skynet.newservice("echo_cli")
    skynet.exit()
end)
