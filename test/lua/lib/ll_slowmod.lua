-- Helper module for the lualib tests: blocks while loading and registers a skynet.init hook, so
-- that concurrent requires from two threads can be checked.
local skynet = require "skynet"

local M = { loads = 0, log = {} }
M.loads = M.loads + 1
_G.LL_SLOWMOD_LOADS = (_G.LL_SLOWMOD_LOADS or 0) + 1
skynet.init(function()
    M.log[#M.log + 1] = "init"
end)
M.log[#M.log + 1] = "chunk"
skynet.sleep(2)
M.log[#M.log + 1] = "chunk done"
return M
