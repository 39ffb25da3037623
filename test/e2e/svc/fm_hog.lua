-- Grows its Lua heap without a memlimit. Requests: "grow", mib -> the heap in MiB once it holds `mib` MiB
-- of strings; "free" -> the heap in KiB after dropping them and collecting; "echo", x -> x.
local skynet = require "skynet"

local hold

skynet.start(function()
    skynet.dispatch("lua", function(_, _, cmd, arg)
        if cmd == "grow" then
            hold = {}
            local chunk = string.rep("m", 1024 * 1024 - 32)
            for i = 1, arg do
                -- a distinct 1 MiB string each time (the concatenation makes a new one)
                hold[i] = chunk .. string.format("%031d", i)
                if i % 64 == 0 then skynet.yield() end
            end
            skynet.retpack(collectgarbage("count") // 1024)
        elseif cmd == "free" then
            hold = nil
            collectgarbage()
            collectgarbage()
            skynet.retpack(collectgarbage("count") // 1)
        else
            skynet.retpack(arg)
        end
    end)
end)
