-- Pattern 5.2, connection pooling: at most max_connections connections (db_connection services),
-- created when needed and reused. A query takes a free connection, or creates one while there are
-- fewer than the maximum, or else waits in line (first come, first served) for one to be released.
--   skynet.newservice("connection_pool", max_connections, latency_cs)   (defaults 10 and 0)
--   call "query", sql  -> the connection's answer
--   call "stats"       -> { created, open, busy, peak_busy, waiting, served }
--
-- Fixes to the tutorial's code: it counts the pool with #connection_pool, which is always 0 for a
-- table keyed by connection, so it never stops creating connections; and it gives up (nil) when all
-- are busy, where a pool usually makes the caller wait. A connection whose query fails is dropped
-- (and a new one made next time) instead of going back to the pool.
local skynet = require "skynet"
require "skynet.manager"    -- skynet.kill

local max_connections, latency = ...
max_connections = math.tointeger(tonumber(max_connections)) or 10
latency = math.tointeger(tonumber(latency)) or 0

local connection_pool = {}  -- connection -> busy (true/false)
local open = 0              -- connections in connection_pool
local waiting = {}          -- tokens of queries waiting for a connection, oldest first
local stats = { created = 0, busy = 0, peak_busy = 0, served = 0 }

local function create_new_connection()
    stats.created = stats.created + 1
    return skynet.newservice("db_connection", latency)
end

local function take(conn)
    connection_pool[conn] = true
    stats.busy = stats.busy + 1
    if stats.busy > stats.peak_busy then
        stats.peak_busy = stats.busy
    end
    return conn
end

local function get_connection()
    while true do
        for conn, busy in pairs(connection_pool) do
            if not busy then
                return take(conn)
            end
        end
        if open < max_connections then
            open = open + 1     -- counted before newservice yields, so nobody else overshoots
            local ok, conn = pcall(create_new_connection)
            if ok then
                return take(conn)
            end
            open = open - 1
            error(conn)
        end
        local token = {}
        waiting[#waiting + 1] = token
        skynet.wait(token)
    end
end

local function wake_one()
    local token = table.remove(waiting, 1)
    if token then
        skynet.wakeup(token)
    end
end

local function release_connection(conn)
    connection_pool[conn] = false
    stats.busy = stats.busy - 1
    wake_one()
end

local function drop_connection(conn)
    connection_pool[conn] = nil
    open = open - 1
    stats.busy = stats.busy - 1
    skynet.kill(conn)
    wake_one()
end

skynet.start(function()
    skynet.dispatch("lua", function(_, _, cmd, ...)
        if cmd == "query" then
            local conn = get_connection()
            local ok, result = pcall(skynet.call, conn, "lua", "query", ...)
            if ok then
                release_connection(conn)
                stats.served = stats.served + 1
                skynet.ret(skynet.pack(result))
            else
                drop_connection(conn)
                error(result)
            end
        elseif cmd == "stats" then
            skynet.ret(skynet.pack({
                created = stats.created, open = open, busy = stats.busy, peak_busy = stats.peak_busy,
                waiting = #waiting, served = stats.served,
            }))
        else
            error("unknown command " .. tostring(cmd))
        end
    end)
end)
