-- The service whose exits test/lua/exit_paths.lua provokes. Requests (lua protocol):
--   "echo", x          -> x
--   "hold"             -> suspends until "release" (or until the service exits)
--   "release"          -> wakes every held request, which then answers "late"
--   "held"             -> how many requests are held
--   "quit"             -> skynet.exit() inside the handler
--   "fork_quit", ticks -> answers "forked"; a forked coroutine exits after `ticks`
--   "relay", peer      -> calls peer "hold" and answers what it got (exits while calling)
--   "work"             -> sleeps a tick then answers "done"; the `limit`-th work request (the service's
--                         argument) makes the service exit from inside its handler
--   "spin_until", n    -> busy until its own mailbox holds n messages (at most 20 s), then answers the
--                         length it saw; the worker then finds them all queued at once
--   "flood", n         -> busy until its own mailbox holds n messages (at most 20 s), tells the requester
--                         the length it saw (a "mqlen" send), then exits inside the handler
local skynet = require "skynet"

local limit = tonumber((...)) or math.huge

local held = {}
local works = 0

local command = {}

function command.echo(x)
    skynet.retpack(x)
end

function command.hold()
    local co = coroutine.running()
    held[#held + 1] = co
    skynet.wait(co)
    skynet.retpack("late")
end

function command.release()
    local list = held
    held = {}
    for _, co in ipairs(list) do
        skynet.wakeup(co)
    end
    skynet.retpack(#list)
end

function command.held()
    skynet.retpack(#held)
end

function command.quit()
    skynet.exit()
end

function command.fork_quit(ticks)
    skynet.fork(function()
        skynet.sleep(ticks)
        skynet.exit()
    end)
    skynet.retpack("forked")
end

function command.relay(peer)
    skynet.retpack(skynet.call(peer, "lua", "hold"))
end

function command.work()
    works = works + 1
    if works == limit then
        skynet.exit()
    end
    skynet.sleep(1)
    skynet.retpack("done")
end

function command.spin_until(n)
    local deadline = os.time() + 20
    local len = skynet.mqlen()
    while len < n and os.time() < deadline do
        len = skynet.mqlen()
    end
    skynet.retpack(len)
end

function command.flood(n)
    local _, source = skynet.context()
    local deadline = os.time() + 20
    local len = skynet.mqlen()
    while len < n and os.time() < deadline do
        len = skynet.mqlen()
    end
    skynet.send(source, "lua", "mqlen", len)
    skynet.exit()
end

skynet.start(function()
    skynet.dispatch("lua", function(_, _, cmd, ...)
        command[cmd](...)
    end)
end)
