-- Helper of test/lua/patterns.lua: a stand-in for the data_source and slow_service of examples/patterns
-- whose answers wait until the test lets them go, so that a case checks the order of events (who was
-- asked, who answered first) instead of how long they took.
--   skynet.newservice("pt_held", name)
--   call "query", q        -> "<name>:<q>" (as data_source), once released
--   call "work", x         -> x (as slow_service), once released
--   call "held"            -> how many calls wait now, how many came in all
--   call "release" [, n]   -> answers the n calls that came first (all of them without n); how many
-- A released call is answered before "release" is: once "release" returns, its answer is on its way.
local skynet = require "skynet"

local name = ...
local held = {}     -- { resp, value } of the calls not answered yet, in the order they came
local arrived = 0

local function hold(value)
    arrived = arrived + 1
    held[#held + 1] = { resp = skynet.response(), value = value }
end

local CMD = {}

function CMD.query(q)
    hold(name .. ":" .. tostring(q))
end

function CMD.work(x)
    hold(x)
end

function CMD.held()
    skynet.retpack(#held, arrived)
end

function CMD.release(n)
    n = math.min(n or #held, #held)
    for _ = 1, n do
        local h = table.remove(held, 1)
        h.resp(true, h.value)
    end
    skynet.retpack(n)
end

skynet.start(function()
    skynet.dispatch("lua", function(_, _, cmd, ...)
        local f = CMD[cmd]
        if f == nil then
            error("pt_held: unknown command " .. tostring(cmd))
        end
        f(...)
    end)
end)
