-- memory.lua: holds (or drops) a table of n small tables when asked, and answers after it did.
local skynet = require "skynet"

local held
skynet.start(function()
    skynet.dispatch("lua", function(_, _, cmd, n)
        if cmd == "hold" then
            held = {}
            for i = 1, n do held[i] = { i } end
        elseif cmd == "drop" then
            held = nil
            collectgarbage()
        elseif cmd == "exit" then
            skynet.exit()
            return
        end
        skynet.ret(skynet.pack(true))
    end)
end)
