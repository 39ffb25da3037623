-- service_cell: the body of a skynet.service service. service_provider sends it `init(code, ...)`:
-- `code` is the bytecode of the creator's mainfunc, run here as if it were the main chunk of a
-- service file (its skynet.start function runs right after it, before init answers).
local skynet = require "skynet"

local service_name = (...)
local cmd = {}

function cmd.init(code, ...)
    local start_func
    -- The mainfunc is not a real main chunk: catch its skynet.start instead of letting it install a
    -- second start.
    skynet.start = function(f)
        start_func = f
    end
    -- Until mainfunc installs its own dispatch, lua requests have nothing to serve them.
    skynet.dispatch("lua", function()
        error("No dispatch function in service " .. tostring(service_name))
    end)
    local mainfunc, err = load(code, "=" .. tostring(service_name), "b")
    if not mainfunc then
        error(err, 0)
    end
    mainfunc(...)
    if start_func then
        start_func()
    end
    skynet.ret()
end

skynet.start(function()
    skynet.dispatch("lua", function(_, _, command, ...)
        local f = cmd[command]
        if not f then
            error("service_cell: unknown command " .. tostring(command))
        end
        f(...)
    end)
end)
