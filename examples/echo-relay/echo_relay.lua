-- The relay: registered under a global name (config key echo_relay_name, default "relay").
--
-- For every "echo" message it starts a worker service, watches it with skynet.watch and hands it the
-- text and the client's address; the worker answers the client itself. Before a worker ends it sends
-- its result here, so when the watch fires the relay logs the exit together with that result. A
-- forked coroutine logs the counters every echo_stats_interval seconds.
--
-- Commands (protocol "lua"):
--   send "echo", id, text      -> a worker answers the sender with "echo_response", id, {data, worker}
--   send "result", value       -> a worker's result, sent just before it exits
--   call "stats"               -> the counters
--   call "drain"               -> waits until every worker has ended, logs and returns the counters
local skynet = require "skynet"

local stats = {
    messages = 0,           -- echo messages received
    workers_spawned = 0,    -- workers started
    workers_exited = 0,     -- exits reported by skynet.watch
}

local results = {}          -- worker handle -> the result it reported before exiting
local active = 0            -- workers started and not yet ended
local drain_waiters = {}    -- tokens of "drain" callers waiting for active == 0

local function stats_line(prefix)
    return string.format("%s messages=%d workers_spawned=%d workers_exited=%d active=%d", prefix,
        stats.messages, stats.workers_spawned, stats.workers_exited, active)
end

local function stats_reporter(interval)
    while true do
        skynet.sleep(interval)
        skynet.error(stats_line("stats"))
    end
end

-- Runs in its own coroutine (skynet.watch) when a worker has ended.
local function worker_exited(worker, reason)
    local result = results[worker]
    results[worker] = nil
    active = active - 1
    stats.workers_exited = stats.workers_exited + 1
    skynet.error(string.format("worker exited from=%s reason=%s result=%s", skynet.address(worker), reason,
        tostring(result)))
    if active == 0 then
        for _, token in ipairs(drain_waiters) do
            skynet.wakeup(token)
        end
        drain_waiters = {}
    end
end

local CMD = {}

function CMD.echo(client, id, text)
    stats.messages = stats.messages + 1
    local ok, worker = pcall(skynet.newservice, "echo_worker")
    if not ok or not worker then
        skynet.error("spawn failed: " .. tostring(worker))
        return
    end
    stats.workers_spawned = stats.workers_spawned + 1
    active = active + 1
    -- The worker only ends after it got its job, so the watch is in place in time; and if it were
    -- not, watch reports "dead" at once.
    skynet.watch(worker, worker_exited)
    skynet.send(worker, "lua", "work", client, id, text)
end

function CMD.result(worker, value)
    results[worker] = value
end

function CMD.stats(_)
    return stats
end

function CMD.drain(_)
    if active > 0 then
        local token = {}
        drain_waiters[#drain_waiters + 1] = token
        skynet.wait(token)
    end
    skynet.error(stats_line("final stats"))
    return stats
end

skynet.start(function()
    local name = skynet.getenv("echo_relay_name") or "relay"
    local interval = math.floor((tonumber(skynet.getenv("echo_stats_interval")) or 5) * 100)

    skynet.dispatch("lua", function(session, source, cmd, ...)
        local f = CMD[cmd]
        if not f then
            skynet.error(string.format("unknown command %s from %s", tostring(cmd), skynet.address(source)))
            if session ~= 0 then
                skynet.response()(false)
            end
            return
        end
        if session == 0 then
            f(source, ...)
        else
            skynet.retpack(f(source, ...))
        end
    end)

    skynet.register(name)
    skynet.error(string.format("relay started as %s (%s)", name, skynet.address(skynet.self())))
    skynet.fork(stats_reporter, interval)
end)
