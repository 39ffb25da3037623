-- A kill-storm worker: answers "ping" (sometimes after calling a random peer, sometimes after a short
-- sleep) and, once told to "run", keeps calling random peers, counting how each call ended.
local skynet = require "skynet"

local coordinator = tonumber(...)
local peers = {}
local running = false
local pending = 0          -- calls this worker has in flight
local stats = { ok = 0, failed = 0, invalid = 0, other = 0, last_other = nil }

local function random_peer()
    if #peers == 0 then return nil end
    return peers[math.random(#peers)]
end

local function call_peer(depth)
    local peer = random_peer()
    if not peer then return end
    pending = pending + 1
    local ok, err = pcall(skynet.call, peer, "lua", "ping", depth)
    pending = pending - 1
    if ok then
        stats.ok = stats.ok + 1
    elseif tostring(err):find("call failed", 1, true) then
        stats.failed = stats.failed + 1
    elseif tostring(err):find("call to invalid address", 1, true) then
        stats.invalid = stats.invalid + 1
    else
        stats.other = stats.other + 1
        stats.last_other = tostring(err)
    end
end

local commands = {}

function commands.ping(depth)
    depth = depth or 0
    local r = math.random(4)
    if r == 1 and depth < 2 then
        call_peer(depth + 1)
    elseif r == 2 then
        skynet.sleep(math.random(0, 2))
    end
    return "pong"
end

function commands.peers(list)
    peers = list
end

function commands.run()
    running = true
    skynet.fork(function()
        while running do
            call_peer(0)
            skynet.sleep(math.random(0, 3))
            if math.random(50) == 1 then
                local ok, list = pcall(skynet.call, coordinator, "lua", "peers")
                if ok and list then peers = list end
            end
        end
    end)
end

function commands.stop()
    running = false
end

function commands.stats()
    return stats, pending
end

skynet.start(function()
    skynet.dispatch("lua", function(_, _, cmd, ...)
        local f = commands[cmd]
        if cmd == "peers" or cmd == "run" or cmd == "stop" then
            f(...)
            return   -- sent, not called
        end
        skynet.retpack(f(...))
    end)
end)
