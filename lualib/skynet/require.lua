-- Coroutine-aware require and the skynet.init hooks (spec §1.2 `init`, §4.6 step 6).
--
-- A module loaded from a skynet thread may block (skynet.call at its top level).  Two threads that
-- require the same module at once must not both run its chunk: the second one waits until the
-- first finishes.  Functions registered with skynet.init while a module's chunk runs are called
-- right after that chunk; those registered from the service's main chunk wait for skynet.start.

local M = {}

local plain_require = require
local loaded = package.loaded
local corunning = coroutine.running

-- init functions registered from the main thread, until start runs them (then nil)
local main_hooks = {}
-- thread -> list of init functions collected while that thread runs a module chunk.  The main thread's
-- list is apart: a table keyed by a thread from the moment this file loads would keep a state from being
-- copied (snlua's spare states are copies of one with skynet loaded, state_image.h).
local init_lists = {}
-- module name -> threads waiting for another thread to finish loading it
local loading = {}

local function run_all(list)
    for i = 1, #list do
        list[i]()
    end
end

function M.require(name)
    local m = loaded[name]
    if m ~= nil then
        return m
    end
    local co, ismain = corunning()
    if ismain then
        -- nothing can yield here; init hooks go to the main list and run at start
        return plain_require(name)
    end
    local filename = package.searchpath(name, package.path)
    if filename == nil then
        -- C modules, preloads, or a missing module: the standard message is the best one
        return plain_require(name)
    end

    local waiting = loading[name]
    if waiting then
        waiting[#waiting + 1] = co
        plain_require("skynet").wait(co)
        m = loaded[name]
        if m == nil then
            error(string.format("require %s failed", name), 2)
        end
        return m
    end

    local chunk, err = loadfile(filename)
    if chunk == nil then
        error(string.format("error loading module '%s' from file '%s':\n\t%s", name, filename, err), 2)
    end

    waiting = {}
    loading[name] = waiting
    local outer = init_lists[co]
    local hooks = {}
    init_lists[co] = hooks

    local ok, result = xpcall(function()
        local r = chunk(name, filename)
        run_all(hooks)
        if r == nil then
            -- a module may have set package.loaded itself
            r = loaded[name]
            if r == nil then
                r = true
            end
        end
        loaded[name] = r
        return r
    end, debug.traceback)

    init_lists[co] = outer
    loading[name] = nil
    if #waiting > 0 then
        local skynet = plain_require "skynet"
        for i = 1, #waiting do
            skynet.wakeup(waiting[i])
        end
    end
    if not ok then
        error(result, 0)
    end
    return result
end

-- Runs the hooks collected in the main thread (called by skynet.init_service before start's f).
function M.init_all()
    local list = main_hooks
    main_hooks = nil
    if list then
        run_all(list)
    end
end

function M.init(f)
    if type(f) ~= "function" then
        error("skynet.init needs a function", 2)
    end
    local co, ismain = corunning()
    local list
    if ismain then
        list = main_hooks
    else
        list = init_lists[co]
    end
    if list then
        list[#list + 1] = f
    else
        -- no module chunk is running in this thread and start has passed: nothing to wait for
        f()
    end
end

return M
