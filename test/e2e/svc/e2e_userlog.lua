-- A Lua log service (logservice = "snlua", logger = "e2e_userlog"): prefixes each line with "USERLOG".
local skynet = require "skynet"

skynet.register_protocol {
    name = "text",
    id = skynet.PTYPE_TEXT,
    unpack = skynet.tostring,
    dispatch = function(_, address, msg)
        io.write(string.format("USERLOG [:%08x] %s\n", address, msg))
        io.stdout:flush()
    end,
}

skynet.register_protocol {
    name = "SYSTEM",
    id = skynet.PTYPE_SYSTEM,
    unpack = function(...) return ... end,
    dispatch = function()
        io.write("USERLOG reopen\n")
        io.stdout:flush()
    end,
}

skynet.start(function() end)
