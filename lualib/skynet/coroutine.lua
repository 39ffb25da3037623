-- User coroutines that may block in skynet (call, sleep, wait) while they run (spec §1.2).
--
-- A plain Lua coroutine cannot: a skynet blocking call yields "SUSPEND" to the scheduler, and a
-- plain coroutine.resume would swallow that yield.  Here `resume` tells the two apart: a yield made
-- by skynet.coroutine.yield carries the marker "USER" and goes back to the resumer; any other yield
-- is the scheduler's, so it is passed up to the skynet thread and the answer is handed back down.

local coroutine = coroutine
local cocreate = coroutine.create
local coresume = coroutine.resume
local coyield = coroutine.yield
local costatus = coroutine.status
local corunning = coroutine.running
local coclose = coroutine.close
local select = select
local error = error

local M = {}

-- Our coroutines: true while resumable by the user, false while blocked inside skynet.
local state = setmetatable({}, { __mode = "k" })
-- coroutine -> the skynet thread at the root of the chain that resumed it
local root_of = setmetatable({}, { __mode = "k" })

M.running = corunning
M.isyieldable = coroutine.isyieldable

function M.create(f)
    local co = cocreate(f)
    state[co] = true
    return co
end

local relay

local function continue(co, ...)
    state[co] = true
    return relay(co, coresume(co, ...))
end

function relay(co, ok, ...)
    if not ok then
        return false, ...
    end
    if costatus(co) == "dead" then
        state[co] = nil
        return true, ...
    end
    if (...) == "USER" then
        return true, select(2, ...)
    end
    -- Blocked in the framework: yield the same values from the current thread and resume the
    -- coroutine with whatever the scheduler answers.
    state[co] = false
    return continue(co, coyield(...))
end

function M.resume(co, ...)
    local s = state[co]
    if s == nil then
        if costatus(co) == "dead" then
            -- gives the standard "cannot resume dead coroutine"
            return coresume(co, ...)
        end
        return false, "cannot resume none skynet coroutine"
    end
    if s == false then
        return false, "cannot resume a skynet coroutine suspend by skynet framework"
    end
    local from = corunning()
    root_of[co] = root_of[from] or from
    return relay(co, coresume(co, ...))
end

function M.yield(...)
    return coyield("USER", ...)
end

function M.status(co)
    local s = costatus(co)
    if s == "suspended" and state[co] == false then
        return "blocked"
    end
    return s
end

-- The skynet thread that runs `co` (default: the running coroutine), and whether `co` is itself
-- such a thread rather than one of ours.
function M.thread(co)
    co = co or corunning()
    if state[co] ~= nil then
        return root_of[co], false
    end
    return co, true
end

function M.close(co)
    if state[co] == false then
        -- its skynet thread still waits for an answer on its behalf
        return false, "cannot close a skynet coroutine suspend by skynet framework"
    end
    state[co] = nil
    return coclose(co)
end

local function unwrap(ok, ...)
    if ok then
        return ...
    end
    error((...), 0)
end

function M.wrap(f)
    local co = M.create(f)
    return function(...)
        return unwrap(M.resume(co, ...))
    end
end

return M
