-- Behaviour found different from skynet when skynet's own test services ran on this node
-- (docs/compatibility.md): trace_timeout's task text, skynet.queue2.
local skynet = require "skynet"
require "skynet.manager"
local test = require "testlib"

test.case("skynet.task with trace_timeout names each timer as skynet does: TIMER <now>+<ti>", function()
    skynet.trace_timeout(true)
    local now = skynet.now()
    local co = skynet.timeout(50, function() end)
    local info = {}
    skynet.task(info)
    skynet.trace_timeout(false)
    local text
    for key, v in pairs(info) do
        if key:find(tostring(co), 1, true) then
            text = v
        end
    end
    test.eq(type(text), "string", "task entry of the timer")
    local at, ti = text:match "^TIMER (%d+)%+(%d+) : \nstack traceback:"
    test.eq(ti, "50", "timeout in the text (" .. text .. ")")
    test.eq(tonumber(at) >= now, true, "time the timer was set")
    -- the first frame is whoever called skynet.timeout: this file
    test.eq(text:find("compat.lua", 1, true) ~= nil, true, "caller's frame in " .. text)
    skynet.killthread(co)
end)

test.case("skynet.queue2: a scope lock, serialising threads in arrival order", function()
    local queue2 = require "skynet.queue2"
    test.eq(skynet.queue2, queue2, "skynet.queue2 is the module")
    local lock = queue2()
    local log = {}
    local function worker(name, ticks)
        local _ <close> = lock()
        log[#log + 1] = name .. " in"
        skynet.sleep(ticks)
        log[#log + 1] = name .. " out"
    end
    local done = 0
    for _, w in ipairs { { "a", 5 }, { "b", 1 }, { "c", 1 } } do
        skynet.fork(function()
            worker(w[1], w[2])
            done = done + 1
        end)
    end
    test.wait_until(function() return done == 3 end, 200, "the three workers")
    test.eq(table.concat(log, ","), "a in,a out,b in,b out,c in,c out", "order")
end)

test.case("skynet.queue2: re-entrant for the owner, released by an error", function()
    local lock = require "skynet.queue2"()
    local inner = false
    do
        local _ <close> = lock()
        local _ <close> = lock()   -- the owner enters again without waiting
        inner = true
    end
    test.eq(inner, true, "nested entry")
    local ok = pcall(function()
        local _ <close> = lock()
        error "inside"
    end)
    test.eq(ok, false, "the error came through")
    local got = false
    skynet.fork(function()
        local _ <close> = lock()
        got = true
    end)
    test.wait_until(function() return got end, 100, "another thread to take the lock after the error")
end)

test.case("skynet.queue still serialises and is re-entrant (now built on queue2)", function()
    local cs = require "skynet.queue"()
    local log = {}
    local done = 0
    for _, name in ipairs { "x", "y" } do
        skynet.fork(function()
            cs(function()
                log[#log + 1] = name .. " in"
                cs(function() skynet.sleep(2) end)
                log[#log + 1] = name .. " out"
            end)
            done = done + 1
        end)
    end
    test.wait_until(function() return done == 2 end, 200, "both threads")
    test.eq(table.concat(log, ","), "x in,x out,y in,y out", "order")
end)

test.run()
