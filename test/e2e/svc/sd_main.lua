-- Start service of the shutdown and SIGHUP cases of test/e2e/test_faults.py: `sd_workers` workers that
-- call each other and log numbered lines until the node is stopped. Prints "sd: running" on stdout.
local skynet = require "skynet"

local n = math.tointeger(tonumber(skynet.getenv "sd_workers")) or 100
local burst = math.tointeger(tonumber(skynet.getenv "sd_burst")) or 20

skynet.start(function()
    local workers = {}
    for i = 1, n do workers[i] = skynet.newservice("sd_worker", i, burst) end
    for i = 1, n do skynet.send(workers[i], "lua", "peers", workers) end
    for i = 1, n do skynet.send(workers[i], "lua", "run") end
    io.stdout:write("sd: running\n")
    io.stdout:flush()
end)
