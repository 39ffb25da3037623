-- Its start function takes 3 seconds, long enough to be killed while its launch is pending.
local skynet = require "skynet"
skynet.start(function()
    skynet.sleep(300)
end)
