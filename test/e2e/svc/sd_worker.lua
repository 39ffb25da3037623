-- A worker of test/e2e/test_faults.py: once told "run", it calls a random peer and logs a numbered line
-- ("line W S") in a loop, pausing a tick every `burst` lines. After each skynet.error it writes "M W S" to
-- stderr (unbuffered), so the test knows which lines were logged - and must be in the log file - even
-- when the node is stopped in the middle.
local skynet = require "skynet"

local index, burst = ...
index = math.tointeger(tonumber(index))
burst = math.tointeger(tonumber(burst))

local peers = {}

local function run()
    local seq = 0
    while true do
        seq = seq + 1
        if #peers > 0 then
            pcall(skynet.call, peers[math.random(#peers)], "lua", "ping")
        end
        skynet.error(string.format("line %d %d", index, seq))
        io.stderr:write(string.format("M %d %d\n", index, seq))
        if seq % burst == 0 then skynet.sleep(1) end
    end
end

skynet.start(function()
    skynet.dispatch("lua", function(_, _, cmd, arg)
        if cmd == "ping" then
            skynet.retpack("pong")
        elseif cmd == "peers" then
            peers = arg
        elseif cmd == "run" then
            skynet.fork(run)
        end
    end)
end)
