-- Loads the user C module e2e_usermod from lua_cpath and logs what it computes.
local skynet = require "skynet"
require "skynet.manager"

skynet.start(function()
    local mod = require "e2e_usermod"
    skynet.error("usermod twice(21) = " .. mod.twice(21))
    skynet.abort()
end)
