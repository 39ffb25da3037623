-- Counts what the producers send and checks each producer's numbers arrive in order; a little work per
-- message makes it slower than the producers, so its mailbox grows.
local skynet = require "skynet"

local count, disorder = 0, 0
local last = {}

skynet.start(function()
    skynet.dispatch("lua", function(session, source, seq)
        if session ~= 0 then
            assert(seq == "count")
            skynet.retpack(count, disorder)
            return
        end
        count = count + 1
        if seq ~= (last[source] or 0) + 1 then disorder = disorder + 1 end
        last[source] = seq
        local x = 0
        for k = 1, 50 do x = x + k end
    end)
end)
