-- The debug protocol (PTYPE_DEBUG = 9): skynet.lua registers it in every service and loads this
-- handler with the first debug message (or when skynet.info_func is set).
--
-- Tools (debug_console, the launcher) talk to any service with skynet.call(addr, "debug", CMD, ...).
-- Commands added with reg_debugcmd are shared by every caller of this module in the service.

local M = {}

local extra_commands = {}

function M.reg_debugcmd(name, fn)
    extra_commands[name] = fn
end

function M.init(skynet, export)
    local info_func

    function skynet.info_func(f)
        info_func = f
    end

    local cmd = {}

    function cmd.MEM()
        skynet.retpack(collectgarbage "count")
    end

    function cmd.GC()
        collectgarbage "collect"
        -- callers may use send (no answer) or call (the memory left, in KB)
        skynet.retpack(collectgarbage "count")
    end

    function cmd.STAT()
        skynet.retpack {
            task = skynet.task(),
            mqlen = skynet.stat "mqlen",
            cpu = skynet.stat "cpu",
            message = skynet.stat "message",
        }
    end

    function cmd.TASK(session)
        if session then
            skynet.retpack(skynet.task(session))
        else
            local t = {}
            skynet.task(t)
            skynet.retpack(t)
        end
    end

    function cmd.UNIQTASK()
        skynet.retpack(skynet.uniqtask())
    end

    function cmd.KILLTASK(threadname)
        local co = skynet.killthread(threadname)
        if co then
            skynet.error(string.format("Kill %s", tostring(co)))
            skynet.ret()
        else
            skynet.error(string.format("Kill %s : Not found", tostring(threadname)))
            skynet.retpack "Not found"
        end
    end

    function cmd.INFO(...)
        if info_func then
            skynet.retpack(info_func(...))
        else
            skynet.retpack(nil)
        end
    end

    function cmd.EXIT()
        skynet.exit()
    end

    function cmd.RUN(source, filename, ...)
        local inject = require "skynet.inject"
        local ok, output = inject(skynet, source, filename, export.internal, export.dispatch,
            skynet.register_protocol)
        collectgarbage "collect"
        skynet.retpack(ok, table.concat(output, "\n"))
    end

    function cmd.TERM(service)
        skynet.term(service)
    end

    function cmd.SUPPORT(pname)
        skynet.retpack(skynet.dispatch(pname) ~= nil)
    end

    function cmd.PING()
        skynet.ret()
    end

    -- Never answered while we live: skynet.exit fails it, which tells the linker we are gone.
    function cmd.LINK()
        skynet.response()
    end

    function cmd.TRACELOG(protoname, flag)
        if type(protoname) ~= "string" then
            flag = protoname
            protoname = "lua"
        end
        skynet.error(string.format("Turn trace log %s for %s", tostring(flag), protoname))
        skynet.traceproto(protoname, flag)
        skynet.ret()
    end

    local function dispatch(_, _, name, ...)
        local f = cmd[name] or extra_commands[name]
        if f == nil then
            error("Unknown debug command " .. tostring(name))
        end
        return f(...)
    end

    return dispatch
end

return M
