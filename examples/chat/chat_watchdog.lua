-- chat_watchdog: the chat's TCP front door. It listens, and gives every connection its own chat_agent
-- (the agent owns the socket from then on and reads its lines). It plays the parts that service/gate and
-- the watchdog play in a skynet server with a framed protocol; see README.md for why no gate here.
--
--   skynet.call(watchdog, "lua", "start", { host =, port =, maxclient =, backlog = })
--       -> address, port (really bound)
--   skynet.call(watchdog, "lua", "stop")    stops accepting; the connected clients stay
--   skynet.call(watchdog, "lua", "count")   -> connected clients
--   skynet.send(watchdog, "lua", "gone", fd)    from an agent whose connection ended
local skynet = require "skynet"
local socket = require "skynet.socket"

local listen_id
local maxclient = 1024
local agents = {}   -- fd -> agent
local count = 0
local guests = 0

local function accept(fd, addr)
    if count >= maxclient then
        -- never started, so this service may write and close it (the bytes are sent first)
        socket.write(fd, "error: the chat is full (" .. maxclient .. " clients), try again later\n")
        socket.close_fd(fd)
        return
    end
    count = count + 1
    guests = guests + 1
    local ok, agent = pcall(skynet.newservice, "chat_agent")
    if ok then
        agents[fd] = agent
        local started, err = pcall(skynet.call, agent, "lua", "start", {
            fd = fd,
            addr = addr,
            watchdog = skynet.self(),
            guest = guests,
        })
        if started then
            return
        end
        skynet.error(string.format("chat: the agent of %s failed: %s", addr, tostring(err)))
        agents[fd] = nil
        skynet.kill(agent)
    else
        skynet.error(string.format("chat: cannot start an agent for %s: %s", addr, tostring(agent)))
    end
    count = count - 1
    socket.close_fd(fd)
end

local CMD = {}

function CMD.start(conf)
    assert(listen_id == nil, "chat_watchdog: already started")
    maxclient = conf.maxclient or maxclient
    -- A deep accept queue: with skynet's default of 32, a burst of connections overflows it and the
    -- kernel drops the handshakes it cannot queue, so those clients wait seconds for their welcome.
    local id, addr, port = socket.listen(conf.host or "0.0.0.0", conf.port or 0, conf.backlog or 1024)
    listen_id = id
    socket.start(id, accept)
    return addr, port
end

function CMD.stop()
    if listen_id then
        socket.close(listen_id)
        listen_id = nil
    end
end

function CMD.count()
    return count
end

function CMD.gone(fd)
    if agents[fd] then
        agents[fd] = nil
        count = count - 1
    end
end

skynet.start(function()
    skynet.dispatch("lua", function(session, _, cmd, ...)
        local f = assert(CMD[cmd], "chat_watchdog: unknown command " .. tostring(cmd))
        if session == 0 then
            f(...)
        else
            skynet.ret(skynet.pack(f(...)))
        end
    end)
end)
