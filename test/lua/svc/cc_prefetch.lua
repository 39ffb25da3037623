-- Loads <dir>/pf_mod.lua in its main chunk (so during its boot, where a spare state may have it prefetched)
-- and answers with what it returned, and whether two loads of it give two functions
-- (test/lua/compile_cache.lua).
local skynet = require "skynet"

local dir = ...
local path = dir .. "/pf_mod.lua"
local value = assert(loadfile(path))()
local f1, f2 = assert(loadfile(path)), assert(loadfile(path))

skynet.start(function()
    skynet.dispatch("lua", function()
        skynet.retpack(value, f1 ~= f2 and f1() == f2())
        skynet.exit()
    end)
end)
