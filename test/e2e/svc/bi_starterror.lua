-- Its start function raises (test/e2e/test_bad_input.py).
local skynet = require "skynet"

skynet.start(function()
    error("bi_starterror: start failure")
end)
