-- The service whose session counter test/lua/session_wrap.lua takes to the wrap.  Each case starts a fresh
-- sw_worker (no session pending, skynet.lua not in careful mode) and asks it to run one scenario:
--   run(name, peer) -> obs
-- where peer is an sw_peer and obs a table of what the scenario saw (obs.error: it raised); the test
-- judges obs.  The counter is moved with NEXTSESSION, a testing aid of the core (docs/core-boundary.md).
local skynet = require "skynet"
local core = require "skynet.core"

local TOP <const> = 0x7fffffff   -- the last session before the counter wraps back to 1
local FAR <const> = 100000       -- centiseconds: a timer that stays pending for the whole test

local peer
-- Sessions of responses that found nobody waiting: a session handed out twice shows up here.
local unknown = {}
skynet.dispatch_unknown_response(function(session)
    unknown[#unknown + 1] = session
end)

-- The session the core hands out next (NEXTSESSION without a parameter takes none).
local function next_session()
    return core.intcommand("NEXTSESSION")
end

local function set_next(n)
    assert(core.intcommand("NEXTSESSION", n) == n)
end

-- The session before n, as the counter goes.
local function prev(n)
    return n == 1 and TOP or n - 1
end

-- The session taken last.
local function last_taken()
    return prev(next_session())
end

-- Sessions that stay pending while the counter wraps, each of another kind: 3 a timeout far ahead,
-- 5 a call the peer holds, 6 a long sleep, 7 a wait (4 is a sleep(0) that lets the forks run; it ends at
-- once, so 4 is free again).  Returns the function that ends them all; each must get its own answer.
local function make_pending(obs)
    local p = {}
    obs.pending = p
    set_next(3)
    p.timeout = next_session()
    skynet.timeout(FAR, function()
        obs.timeout_fired = true
    end)
    local sleep_token, wait_token = {}, {}
    skynet.fork(function()
        p.call = next_session()
        obs.held = table.pack(skynet.call(peer, "lua", "hold", "old call"))
    end)
    skynet.fork(function()
        p.sleep = next_session()
        obs.slept = skynet.sleep(FAR, sleep_token)
    end)
    skynet.fork(function()
        p.wait = next_session()
        skynet.wait(wait_token)
        obs.waited = true
    end)
    obs.yield_session = next_session()
    skynet.sleep(0)   -- the forks run (and park) once this thread is parked
    return function()
        obs.woke_sleep = skynet.wakeup(sleep_token)
        obs.woke_wait = skynet.wakeup(wait_token)
        -- the woken threads run while this call waits; the held answer arrives before release's own
        obs.released = skynet.call(peer, "lua", "release")
    end
end

local scenario = {}

-- The command itself: set, query, and what a bad parameter does (nothing but the error).
function scenario.nextsession(obs)
    obs.first = next_session()
    obs.set = core.intcommand("NEXTSESSION", TOP - 1)
    obs.query = core.command("NEXTSESSION")
    obs.ids = { skynet.genid(), skynet.genid(), skynet.genid() }
    obs.after = next_session()
    obs.refused = {}
    local bad = { 0, -1, "0", "2147483648", "abc", "1.5", "12 13" }
    for i, param in ipairs(bad) do
        local ok, err = pcall(core.intcommand, "NEXTSESSION", param)
        obs.refused[i] = { param = param, ok = ok, err = err }
    end
    local ok, err = pcall(core.command, "NEXTSESSION", "-7")
    obs.refused[#obs.refused + 1] = { param = "-7", ok = ok, err = err, by_command = true }
    obs.unchanged = next_session()
end

-- (a) Round trips across the wrap: 200 calls one after the other, then 8 threads of 25 calls each, so that
-- calls are outstanding on both sides of the wrap.  The peer echoes the session each call came with.
function scenario.calls(obs)
    obs.wrong = {}
    set_next(TOP - 9)
    obs.seq = {}
    for i = 1, 200 do
        local s, a, b = skynet.call(peer, "lua", "echo", i, "x" .. i)
        obs.seq[i] = s
        if a ~= i or b ~= "x" .. i then
            obs.wrong[#obs.wrong + 1] = string.format("call %d answered %s %s", i, tostring(a), tostring(b))
        end
    end
    set_next(TOP - 19)
    obs.conc = {}
    local token, left = {}, 8
    for t = 1, 8 do
        skynet.fork(function()
            for i = 1, 25 do
                local s, a, b = skynet.call(peer, "lua", "echo", t, i)
                obs.conc[#obs.conc + 1] = s
                if a ~= t or b ~= i then
                    obs.wrong[#obs.wrong + 1] = string.format("thread %d call %d answered %s %s", t, i,
                        tostring(a), tostring(b))
                end
            end
            left = left - 1
            if left == 0 then
                skynet.wakeup(token)
            end
        end)
    end
    obs.conc_wait = next_session()
    skynet.wait(token)
end

-- (b) Low sessions pending across the wrap: 30 calls, rawcalls and genids from 5 below the top on must
-- skip them; then the pending ones get their answers.
function scenario.pending(obs)
    local finish = make_pending(obs)
    set_next(TOP - 4)
    obs.ops = {}
    local kinds = { "call", "rawcall", "genid" }
    for i = 1, 30 do
        local op = { kind = kinds[(i - 1) % 3 + 1] }
        if op.kind == "call" then
            op.expect = "call " .. i
            op.echoed, op.answer = skynet.call(peer, "lua", "echo", op.expect)
            op.session = last_taken()
        elseif op.kind == "rawcall" then
            op.expect = "rawcall " .. i
            op.echoed, op.answer = skynet.unpack(skynet.rawcall(peer, "lua", skynet.pack("echo", op.expect)))
            op.session = last_taken()
        else
            op.session = skynet.genid()
            op.taken = last_taken()
        end
        obs.ops[i] = op
    end
    finish()
end

-- (c) The operations that park a thread, in careful mode.  Each records the sessions it took (op.sessions)
-- and whether it got its answer (op.ok).
local park = {}

function park.wait(op)
    local token, mark = {}, nil
    skynet.fork(function()
        mark = next_session()   -- runs once the waiter is parked: its session is the one before
        skynet.wakeup(token)
    end)
    skynet.wait(token)
    op.sessions = { prev(mark) }
    op.ok = last_taken() == prev(mark)   -- woken by the wakeup, nothing else allocated meanwhile
end

function park.sleep(op)
    local r = table.pack(skynet.sleep(0))
    op.sessions = { last_taken() }
    op.ok = r.n == 0
end

function park.sleep1(op)   -- through the timer wheel
    local r = table.pack(skynet.sleep(1))
    op.sessions = { last_taken() }
    op.ok = r.n == 0
end

function park.sleep_break(op)   -- woken early: its timer stays pending ("BREAK") for the rest of the test
    local token, mark = {}, nil
    skynet.fork(function()
        mark = next_session()
        skynet.wakeup(token)
    end)
    local r = skynet.sleep(FAR, token)
    op.sessions = { prev(mark) }
    op.ok = r == "BREAK"
end

function park.timeout(op)
    local token, fired, mark = {}, false, nil
    skynet.timeout(0, function()
        fired = true
        mark = next_session()
        skynet.wakeup(token)
    end)
    local s = last_taken()
    skynet.wait(token)   -- until the timeout's function ran
    op.sessions = { s, prev(mark) }
    op.ok = fired
end
park.timeout_lead = park.timeout   -- the same, started one session before a pending one

local park_kinds = { "wait", "sleep", "sleep1", "timeout", "timeout_lead", "sleep_break" }

-- Phase 1 starts 6 below the top, one operation of each kind: they cross the wrap.  Phase 2 runs each
-- kind twice, each time when the next session (the one after it, for timeout_lead: a timeout's probe
-- takes one first) is pending; besides those of make_pending, timeouts at 10, 20, ..., 300 are pending.
function scenario.parking(obs)
    local finish = make_pending(obs)
    obs.obstacles = {}
    for s = 10, 300, 10 do
        set_next(s)
        skynet.timeout(FAR, function() end)
        obs.obstacles[#obs.obstacles + 1] = s
    end
    local pending = {}
    for _, s in pairs(obs.pending) do
        pending[s] = true
    end
    for _, s in ipairs(obs.obstacles) do
        pending[s] = true
    end
    obs.ops = {}
    set_next(TOP - 6)
    for _, kind in ipairs(park_kinds) do
        local op = { kind = kind, phase = 1, before = next_session() }
        park[kind](op)
        obs.ops[#obs.ops + 1] = op
    end
    for _ = 1, 2 do
        for _, kind in ipairs(park_kinds) do
            local lead = kind == "timeout_lead" and 1 or 0
            local burnt = 0
            while not pending[next_session() + lead] do
                skynet.genid()
                burnt = burnt + 1
                assert(burnt < 1000, "no pending session ahead")
            end
            local op = { kind = kind, phase = 2, before = next_session(), lead = lead }
            park[kind](op)
            obs.ops[#obs.ops + 1] = op
        end
    end
    obs.next_at_end = next_session()
    finish()
end

-- (d) Careful mode ends once the counter climbed past the pending sessions below DANGER (3 and 40, two
-- timeouts), even though a call made at the top of the lap (TOP - 1, held by the peer) is still pending;
-- and it starts again at the next lap.  The only thing careful mode changes is that an allocation skips
-- pending sessions, so that is what the probe shows: it moves the counter back onto session 3 (still
-- pending) and takes a genid, which careful mode would not give out.
function scenario.careful_ends(obs)
    set_next(3)
    skynet.timeout(FAR, function() end)
    set_next(40)
    skynet.timeout(FAR, function() end)
    set_next(TOP - 2)
    skynet.fork(function()
        obs.held_session = next_session()
        obs.held = table.pack(skynet.call(peer, "lua", "hold", "top call"))
    end)
    skynet.sleep(0)   -- takes TOP - 2; the fork's call takes TOP - 1
    local function lap(n)
        local ids = {}
        for i = 1, n do
            ids[i] = skynet.genid()
        end
        return ids
    end
    local function probe()
        local resume_at = next_session()
        set_next(3)
        local id = skynet.genid()
        set_next(resume_at)
        return id
    end
    obs.lap1 = lap(50)
    obs.probe1 = probe()
    set_next(TOP - 4)
    obs.lap2 = lap(50)
    obs.probe2 = probe()
    obs.released = skynet.call(peer, "lua", "release")
end

skynet.start(function()
    skynet.dispatch("lua", function(_, _, cmd, name, p)
        assert(cmd == "run", cmd)
        peer = p
        local obs = {}
        local ok, err = xpcall(assert(scenario[name], name), debug.traceback, obs)
        if not ok then
            obs.error = err
        end
        obs.unknown = unknown
        skynet.retpack(obs)
    end)
end)
