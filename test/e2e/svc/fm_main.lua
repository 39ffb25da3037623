-- Start service of the memory case of test/e2e/test_faults.py: a service grows to `fm_mib` MiB of Lua heap
-- (no memlimit) while another one keeps answering pings. Logs (for the test):
--   "memory: hog reached N MiB", "memory: freed, heap N KiB", "memory: P pings answered, F failed",
--   "memory: done"
local skynet = require "skynet"

local mib = math.tointeger(tonumber(skynet.getenv "fm_mib")) or 1040

skynet.start(function()
    local hog = skynet.newservice("fm_hog")
    local other = skynet.newservice("fm_hog")
    skynet.fork(function()
        local growing = true
        local pings, failed = 0, 0
        skynet.fork(function()
            while growing do
                if pcall(skynet.call, other, "lua", "echo", pings) then
                    pings = pings + 1
                else
                    failed = failed + 1
                end
                skynet.sleep(1)
            end
        end)
        local reached = skynet.call(hog, "lua", "grow", mib)
        skynet.error(string.format("memory: hog reached %d MiB", reached))
        growing = false
        skynet.error(string.format("memory: freed, heap %d KiB", skynet.call(hog, "lua", "free")))
        skynet.error(string.format("memory: %d pings answered, %d failed", pings, failed))
        assert(skynet.call(hog, "lua", "echo", "alive") == "alive")
        skynet.error("memory: done")
    end)
end)
