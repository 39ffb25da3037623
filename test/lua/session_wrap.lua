-- Sessions across the 2^31 wrap (skynet.lua's "careful mode"): each service allocates sessions from a
-- counter in the core that goes from 0x7fffffff back to 1.  From DANGER (0x7fff0000) on, skynet.lua checks
-- every allocation against the sessions still pending and skips them, until the counter has wrapped and
-- climbed past all of them.
--
-- Each case starts a fresh test/lua/svc/sw_worker (and an sw_peer it talks to), whose counter the
-- worker moves with the core's NEXTSESSION command (a testing aid, docs/core-boundary.md); the worker
-- runs the scenario and returns what it saw, and the case judges it here.
local skynet = require "skynet"
local test = require "testlib"

local TOP <const> = 0x7fffffff
local DANGER <const> = 0x7fff0000

-- Runs scenario `name` in a fresh worker; returns what it saw.
local function run(name)
    local peer = skynet.newservice("sw_peer")
    local worker = skynet.newservice("sw_worker")
    local obs = skynet.call(worker, "lua", "run", name, peer)
    skynet.kill(worker)
    skynet.kill(peer)
    if obs.error then
        error("the scenario raised: " .. obs.error, 2)
    end
    return obs
end

-- n sessions as the counter hands them out from `from` on, skipping those in the set `skip`.
local function counting(from, n, skip)
    local list, s = {}, from
    while #list < n do
        if not (skip and skip[s]) then
            list[#list + 1] = s
        end
        s = s == TOP and 1 or s + 1
    end
    return list
end

local function same_list(actual, expected, what)
    test.eq(#actual, #expected, what .. ": how many")
    for i = 1, #expected do
        if actual[i] ~= expected[i] then
            error(string.format("%s: item %d is %s, expected %s (got %s)", what, i, tostring(actual[i]),
                tostring(expected[i]), table.concat(actual, ",", math.max(1, i - 3), math.min(#actual, i + 3))), 2)
        end
    end
end

local function set_of(list)
    local set = {}
    for _, v in ipairs(list) do
        set[v] = true
    end
    return set
end

local function no_unknown_responses(obs)
    test.eq(#obs.unknown, 0, "responses to sessions nobody waited for (" .. table.concat(obs.unknown, ",") .. ")")
end

-- What make_pending in sw_worker leaves pending at 3, 5, 6 and 7, and how each one ended.
local function check_pending_setup(obs)
    test.eq(obs.pending.timeout, 3, "the pending timeout's session")
    test.eq(obs.yield_session, 4, "the sleep(0) that let the forks run")
    test.eq(obs.pending.call, 5, "the held call's session")
    test.eq(obs.pending.sleep, 6, "the long sleep's session")
    test.eq(obs.pending.wait, 7, "the wait's session")
    return { [3] = true, [5] = true, [6] = true, [7] = true }
end

local function check_pending_answers(obs)
    test.eq(obs.released, 1, "held requests the peer answered")
    test.eq(obs.held and obs.held.n, 3, "the held call returned (\"held\", its tag, its session)")
    test.eq(obs.held[1], "held", "the held call's answer")
    test.eq(obs.held[2], "old call", "the held call's answer is its own")
    test.eq(obs.held[3], 5, "the peer saw the held call under session 5")
    test.eq(obs.woke_sleep, true, "wakeup of the long sleep")
    test.eq(obs.slept, "BREAK", "the long sleep returned")
    test.eq(obs.woke_wait, true, "wakeup of the wait")
    test.eq(obs.waited, true, "the wait returned")
    test.eq(obs.timeout_fired, nil, "the timeout far ahead did not fire")
end

test.case("NEXTSESSION sets and answers the caller's next session and refuses bad parameters", function()
    local obs = run("nextsession")
    test.eq(math.type(obs.first), "integer", "the first answer is an integer")
    test.eq(obs.set, TOP - 1, "intcommand with a session answers it")
    test.eq(obs.query, tostring(TOP - 1), "command without a parameter answers the next session as text")
    same_list(obs.ids, { TOP - 1, TOP, 1 }, "genids after NEXTSESSION 2147483646")
    test.eq(obs.after, 2, "the next session after those")
    local rule = "NEXTSESSION: the session must be an integer from 1 to 2147483647, got "
    local expected = { '"0"', '"-1"', '"0"', '"2147483648"', '"abc"', '"1.5"', '"12 13"', '"-7"' }
    test.eq(#obs.refused, #expected, "bad parameters tried")
    for i, r in ipairs(obs.refused) do
        test.eq(r.ok, false, "NEXTSESSION " .. tostring(r.param) .. " raised")
        test.eq(r.err, rule .. expected[i], "the error for NEXTSESSION " .. tostring(r.param))
    end
    test.eq(obs.unchanged, 2, "a refused parameter leaves the counter alone")
    no_unknown_responses(obs)
end)

test.case("(a) calls keep working across the wrap, one at a time and eight at once", function()
    local obs = run("calls")
    test.eq(#obs.wrong, 0, "wrong answers (" .. table.concat(obs.wrong, "; ") .. ")")
    -- one after the other: the sessions the core hands out, wrapping from the top to 1
    same_list(obs.seq, counting(TOP - 9, 200), "sessions of 200 calls from 9 below the top")
    -- eight threads: the main thread's wait took the first session, the 200 calls all the next ones
    test.eq(obs.conc_wait, TOP - 19, "the session of the wait for the threads")
    test.eq(#obs.conc, 200, "calls answered")
    local sorted = table.move(obs.conc, 1, #obs.conc, 1, {})
    table.sort(sorted, function(a, b)
        -- in the order the counter hands them out: the top of the lap first
        local ka, kb = a >= DANGER and a - TOP or a, b >= DANGER and b - TOP or b
        return ka < kb
    end)
    same_list(sorted, counting(TOP - 18, 200), "sessions of the concurrent calls")
    no_unknown_responses(obs)
end)

test.case("(b) pending low sessions are skipped after the wrap, and they and the new ones get their answers", function()
    local obs = run("pending")
    local pending = check_pending_setup(obs)
    local sessions = {}
    for i, op in ipairs(obs.ops) do
        sessions[i] = op.session
        local what = string.format("op %d (%s, session %d)", i, op.kind, op.session)
        test.eq(pending[op.session], nil, what .. " reuses a pending session")
        if op.kind == "genid" then
            test.eq(op.taken, op.session, what .. ": the session the core handed out last")
        else
            test.eq(op.echoed, op.session, what .. ": the session the peer saw")
            test.eq(op.answer, op.expect, what .. ": the answer")
        end
    end
    -- from 4 below the top: 0x7ffffffb .. 0x7fffffff, 1, 2, 4, 8, 9, ...: exactly the pending ones skipped
    same_list(sessions, counting(TOP - 4, 30, pending), "sessions of the calls, rawcalls and genids")
    check_pending_answers(obs)
    no_unknown_responses(obs)
end)

test.case("(c) wait/wakeup, sleep and timeout work in careful mode and skip pending sessions", function()
    local obs = run("parking")
    local pending = check_pending_setup(obs)
    for _, s in ipairs(obs.obstacles) do
        pending[s] = true
    end
    local seen = {}
    local crossed, confronted = false, {}
    for i, op in ipairs(obs.ops) do
        local what = string.format("op %d (%s, phase %d)", i, op.kind, op.phase)
        test.eq(op.ok, true, what .. " got its answer")
        for _, s in ipairs(op.sessions) do
            test.eq(s >= DANGER or s < 300, true, what .. ": session " .. s .. " is in the range it should be")
            test.eq(pending[s], nil, what .. " took the pending session " .. s)
            test.eq(seen[s], nil, what .. " took session " .. s .. " a second time")
            seen[s] = true
            if op.phase == 1 and s < DANGER then
                crossed = true
            end
        end
        if op.phase == 2 then
            test.eq(pending[op.before + op.lead], true, what .. " started just before a pending session")
            confronted[op.kind] = (confronted[op.kind] or 0) + 1
        end
    end
    test.eq(obs.ops[1].sessions[1] >= DANGER, true, "phase 1 started at or above DANGER (careful mode on)")
    test.eq(crossed, true, "phase 1 crossed the wrap")
    for _, kind in ipairs { "wait", "sleep", "sleep1", "timeout", "timeout_lead", "sleep_break" } do
        test.eq(confronted[kind], 2, kind .. " operations that met a pending session")
    end
    test.eq(obs.next_at_end < 300, true, "careful mode lasted to the end (the counter is below the last pending)")
    check_pending_answers(obs)
    no_unknown_responses(obs)
end)

test.case("(d) careful mode ends once the counter passed the pending sessions, and starts again next lap", function()
    local obs = run("careful_ends")
    local skip = { [3] = true, [40] = true }
    test.eq(obs.held_session, TOP - 1, "the held call was made at the top")
    -- lap 1: still careful after passing 3 (40 is skipped too), plain from 41 on
    same_list(obs.lap1, counting(TOP, 50, skip), "genids of lap 1")
    test.eq(obs.probe1, 3, "after lap 1 genid hands out what the core gives (careful mode is off)")
    -- lap 2: careful again from the top: the call still pending at TOP - 1 is skipped, and 3 and 40 again
    same_list(obs.lap2, counting(TOP - 4, 50, { [TOP - 1] = true, [3] = true, [40] = true }), "genids of lap 2")
    test.eq(obs.probe2, 3, "after lap 2 careful mode is off again")
    test.eq(obs.released, 1, "held requests the peer answered")
    test.eq(obs.held and obs.held[2], "top call", "the call made at the top got its answer after two laps")
    test.eq(obs.held[3], TOP - 1, "under its own session")
    no_unknown_responses(obs)
end)

test.run()
