-- Start service of test/e2e/test_churn.py: a debug console (to read netstat and the service list), then
-- the service named by the config key churn_service (the echo example's echo_main).
local skynet = require "skynet"

skynet.start(function()
    skynet.newservice("debug_console", "127.0.0.1", 0)
    skynet.newservice(skynet.getenv "churn_service")
end)
