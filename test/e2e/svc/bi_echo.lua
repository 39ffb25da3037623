-- Answers every lua request with its arguments (test/e2e/test_bad_input.py).
local skynet = require "skynet"

skynet.start(function()
    skynet.dispatch("lua", function(_, _, ...)
        skynet.retpack(...)
    end)
end)
