-- testlib: the harness of the Lua integration tests.
--
--   local test = require "testlib"
--   test.case("ret twice raises No session", function() ... assert(...) end)
--   test.run()          -- instead of skynet.start: runs every case in order, then ends the node
--
-- Each case runs in its own coroutine with a deadline (TEST_CASE_TIMEOUT centiseconds, default 1000);
-- a case that raises or passes its deadline fails. The runner (test/run_all.py) reads the lines
--   CASE PASS <name>        CASE FAIL <name>: <reason>        TESTS DONE <file>
-- from stdout; a file that ends without "TESTS DONE" counts as one more failure.
local skynet = require "skynet"
require "skynet.manager"

local test = {}
local cases = {}

-- TEST_CASE in the environment runs only the cases whose name contains it (plain text).
local only = os.getenv("TEST_CASE")

function test.case(name, f, timeout)
    if only and not name:find(only, 1, true) then
        return
    end
    cases[#cases + 1] = { name = name, f = f, timeout = timeout }
end

local function out(line)
    io.write(line .. "\n")   -- one write, so no other output lands inside the line
    io.stdout:flush()
end

-- Fails with a message naming both values.
function test.eq(actual, expected, what)
    if actual ~= expected then
        error(string.format("%s: expected %s, got %s", what or "value",
            tostring(expected), tostring(actual)), 2)
    end
end

-- Runs f, which must raise an error whose text contains `pattern` (plain find).
function test.raises(pattern, f, ...)
    local ok, err = pcall(f, ...)
    if ok then
        error("expected an error containing '" .. pattern .. "', got none", 2)
    end
    if not tostring(err):find(pattern, 1, true) then
        error("expected an error containing '" .. pattern .. "', got: " .. tostring(err), 2)
    end
    return err
end

-- Polls cond() every centisecond until it is true or `ticks` centiseconds passed.
function test.wait_until(cond, ticks, what)
    ticks = ticks or 300
    for _ = 1, ticks do
        if cond() then return end
        skynet.sleep(1)
    end
    error("timed out waiting for " .. (what or "condition"), 2)
end

local function run_case(c)
    local default_timeout = tonumber(skynet.getenv "test_case_timeout") or 1000
    local done, ok, err = false, false, nil
    local me = coroutine.running()
    skynet.fork(function()
        ok, err = xpcall(c.f, debug.traceback)
        done = true
        skynet.wakeup(me)
    end)
    skynet.sleep(c.timeout or default_timeout, me)
    if not done then
        return false, "timed out after " .. (c.timeout or default_timeout) .. " cs"
    end
    return ok, err
end

function test.run(setup)
    skynet.start(function()
        skynet.fork(function()
            if setup then setup() end
            local name = SERVICE_NAME
            for _, c in ipairs(cases) do
                local ok, err = run_case(c)
                if ok then
                    out("CASE PASS " .. c.name)
                else
                    out("CASE FAIL " .. c.name .. ": " .. tostring(err):gsub("\n", " | "))
                end
            end
            out("TESTS DONE " .. tostring(name))
            skynet.abort()
        end)
    end)
end

return test
