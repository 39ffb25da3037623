-- service_provider: keeps the named services of skynet.service (a unique service).
--
-- Lua commands, all called:
--   test(name)                   -> address; or nil, true while it is booting; nil if unknown;
--                                   raises if its launch failed
--   launch(name, code, ...)      -> address, starting a service_cell with `code` unless one exists
--                                   (concurrent launches of a name share one boot)
--   query(name)                  -> address, waiting until the name has been launched
--   close(name)                  -> address of the service it forgot (the caller kills it), or nil
local skynet = require "skynet"

local provider = {}

-- name -> { address?, booting?, error?, queue = {response...} (while not ready), init?, time? }
local svr = setmetatable({}, {
    __index = function(t, name)
        local s = { queue = {} }
        t[name] = s
        return s
    end,
})

local function reply(addr)
    skynet.ret(skynet.pack(addr))
end

function provider.query(name)
    local s = svr[name]
    if s.queue then
        s.queue[#s.queue + 1] = skynet.response()
    elseif s.address then
        reply(s.address)
    else
        error(s.error)
    end
end

local function boot(addr, name, code, ...)
    local s = svr[name]
    skynet.call(addr, "lua", "init", code, ...)
    local args = table.pack(...)
    for i = 1, args.n do
        args[i] = tostring(args[i])
    end
    if args.n > 0 then
        s.init = table.concat(args, ",", 1, args.n)
    end
    s.time = skynet.time()
end

-- Forgets a service that ended by itself (or was killed), so that service.new can start it again.
local function watch(name, addr)
    local ok, err = pcall(skynet.watch, addr, function()
        if rawget(svr, name) and svr[name].address == addr then
            svr[name] = nil
        end
    end)
    if not ok then
        skynet.error("service_provider: cannot watch " .. name .. ": " .. tostring(err))
    end
end

function provider.launch(name, code, ...)
    local s = svr[name]
    if s.address then
        return reply(s.address)
    end
    if s.booting then
        s.queue[#s.queue + 1] = skynet.response()
        return
    end
    if s.error then
        error(s.error)
    end
    s.booting = true
    local ok, addr = pcall(skynet.newservice, "service_cell", name)
    local err
    if ok and addr then
        ok, err = xpcall(boot, debug.traceback, addr, name, code, ...)
    else
        err = ok and (name .. " exited during its start") or addr
        ok, addr = false, nil
    end
    s.booting = nil
    local queue = s.queue
    s.queue = nil
    if ok then
        s.address = addr
        watch(name, addr)
        for _, response in ipairs(queue) do
            response(true, addr)
        end
        return reply(addr)
    end
    if addr then
        skynet.send(addr, "debug", "EXIT")
    end
    -- As in skynet, the failure is remembered: later launches and queries of the name fail with it.
    s.error = tostring(err)
    for _, response in ipairs(queue) do
        response(false)
    end
    error(s.error)
end

function provider.test(name)
    local s = rawget(svr, name)
    if s == nil then
        return skynet.ret()
    end
    if s.booting then
        skynet.ret(skynet.pack(nil, true))
    elseif s.address then
        reply(s.address)
    elseif s.error then
        error(s.error)
    else
        skynet.ret()
    end
end

function provider.close(name)
    local s = rawget(svr, name)
    if s and s.address then
        svr[name] = nil
        return reply(s.address)
    end
    skynet.ret()
end

skynet.start(function()
    skynet.dispatch("lua", function(_, _, cmd, ...)
        local f = provider[cmd]
        if not f then
            error("service_provider: unknown command " .. tostring(cmd))
        end
        f(...)
    end)
    if skynet.info_func then
        skynet.info_func(function()
            local info = {}
            for name, s in pairs(svr) do
                local status
                if s.booting then
                    status = "booting"
                elseif s.queue then
                    status = "waiting(" .. #s.queue .. ")"
                elseif s.error then
                    status = "error"
                end
                info[s.address and skynet.address(s.address) or name] = {
                    init = s.init,
                    name = name,
                    time = s.time and os.date("%Y %b %d %T %z", math.floor(s.time)),
                    status = status,
                }
            end
            return info
        end)
    end
end)
