-- Helper for the lualib tests: calls skynet.exit inside its start function, so newservice
-- returns nil; the line after exit must never run.
local skynet = require "skynet"

skynet.start(function()
    skynet.exit()
    error("ll_exitinit: code after skynet.exit ran")
end)
