-- Helper for the lualib tests: calls skynet.exit inside its start function, so newservice
-- returns nil.  The code after exit must never run: if it did, it would tell `witness`.
local skynet = require "skynet"
local witness = tonumber((...))

skynet.start(function()
    skynet.exit()
    if witness then
        skynet.send(witness, "lua", "after_exit")
    end
    error("ll_exitinit: code after skynet.exit ran")
end)
