-- memory.lua: reports the allocator's count and Lua's own count of its heap, both taken on its first line.
local memory = require "skynet.memory"
local counted, lua_count = memory.current(), math.floor(collectgarbage("count") * 1024)
local skynet = require "skynet"

skynet.start(function()
    skynet.dispatch("lua", function(_, _, cmd)
        if cmd == "exit" then
            skynet.exit()
        else
            skynet.ret(skynet.pack(counted, lua_count))
        end
    end)
end)
