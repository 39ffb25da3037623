-- The scheduler API in C (skynet.dispatcher.api: send, call, ret, retpack, fork, wakeup, timeout, sleep,
-- yield): the edges of each keep skynet.lua's behaviour, and bad arguments are named at the caller.
local skynet = require "skynet"
local test = require "testlib"

local THIS_FILE = "api_c.lua:"

-- Runs f in a Lua frame of this file and returns its error text (or fails when it raised none).
local function error_of(f)
    local ok, err = pcall(f)
    assert(not ok, "expected an error, got none")
    return tostring(err)
end

local function contains(text, part, what)
    assert(text:find(part, 1, true), (what or "text") .. ": '" .. part .. "' not in: " .. text)
end

test.case("fork passes its arguments as given: counts, nils in the middle and at the end", function()
    local me = coroutine.running()
    for _, n in ipairs { 0, 1, 3, 254, 255, 300 } do
        local args = {}
        for i = 1, n do
            args[i] = (i % 7 == 2 or i == n) and nil or i * 10
        end
        local got, count
        skynet.fork(function(...)
            count = select("#", ...)
            got = { ... }
            skynet.wakeup(me)
        end, table.unpack(args, 1, n))
        skynet.wait(me)
        test.eq(count, n, "count of " .. n)
        for i = 1, n do
            test.eq(got[i], args[i], "argument " .. i .. " of " .. n)
        end
    end
end)

test.case("forks run in order after the forking code yields, each in a thread of its own", function()
    local order = {}
    local threads = {}
    for i = 1, 5 do
        threads[i] = skynet.fork(function(k) order[#order + 1] = k end, i)
    end
    test.eq(#order, 0, "nothing ran before the yield")
    skynet.yield()
    test.eq(table.concat(order, ","), "1,2,3,4,5", "order")
    for i = 2, 5 do
        test.eq(type(threads[i]), "thread", "fork returns a thread")
        test.eq(threads[i] ~= threads[i - 1], true, "distinct threads")
    end
end)

test.case("timeout and sleep name a ti that is not a number, at the caller's line", function()
    local err = error_of(function() skynet.sleep("soon") end)
    contains(err, "timeout needs a number of centiseconds (got string)", "sleep")
    contains(err, THIS_FILE, "sleep position")
    err = error_of(function() skynet.timeout({}, function() end) end)
    contains(err, "timeout needs a number of centiseconds (got table)", "timeout")
    contains(err, THIS_FILE, "timeout position")
    -- a numeric string is a number, as the TIMEOUT command reads it
    local fired = false
    skynet.timeout("1", function() fired = true end)
    test.wait_until(function() return fired end, 100, "timer of \"1\"")
end)

test.case("sleep on a token in use raises token duplicative at the caller; the sleeper is untouched", function()
    local result = "not woken"
    skynet.fork(function()
        result = skynet.sleep(500, "shared token")
    end)
    skynet.yield()
    local err = error_of(function() skynet.sleep(1, "shared token") end)
    contains(err, "token duplicative", "error")
    contains(err, THIS_FILE, "position")
    -- the refused sleep's timer fires into a dropped session: nothing else happens
    skynet.sleep(2)
    test.eq(result, "not woken", "the first sleeper still sleeps")
    test.eq(skynet.wakeup("shared token"), true, "wakeup finds it")
    test.wait_until(function() return result == "BREAK" end, 100, "the first sleeper woke with BREAK")
    test.eq(skynet.wakeup("shared token"), nil, "nobody sleeps on it any more")
end)

test.case("timeout threads are not pooled and get what the timer's answer carries", function()
    local me = coroutine.running()
    local first, args
    local co = skynet.timeout(0, function(...)
        first = coroutine.running()
        args = table.pack(...)
        skynet.wakeup(me)
    end)
    skynet.wait(me)
    test.eq(first, co, "the returned thread runs the function")
    test.eq(args[1], true, "resumed as a response")
    test.eq(math.type(args[4]), "integer", "with its session")
    test.eq(coroutine.status(co), "dead", "the thread ended with its function")
end)

test.case("call raises unknown protocol and invalid address at the caller's line", function()
    local err = error_of(function() skynet.call(skynet.self(), "no_such_proto") end)
    contains(err, "unknown protocol no_such_proto", "protocol")
    contains(err, THIS_FILE, "protocol position")
    err = error_of(function() skynet.call(0x7fffff, "lua", "x") end)
    contains(err, "call to invalid address :007fffff", "address")
    contains(err, THIS_FILE, "address position")
    err = error_of(function() skynet.send({}, "lua", "x") end)
    contains(err, "dest address type (table) must be a string or number.", "send to a table")
    -- refused before the message is packed (a packed message for a failed send would leak)
    err = error_of(function() skynet.call(true, "lua", string.rep("x", 100)) end)
    contains(err, "dest address type (boolean) must be a string or number.", "call to a boolean")
    contains(err, THIS_FILE, "call to a boolean: position")
    err = error_of(function() skynet.send(0, "lua", "x") end)
    contains(err, "Invalid service address 0", "send to 0")
    err = error_of(function() skynet.call(skynet.self(), nil) end)
    contains(err, "unknown protocol nil", "call with no protocol")
end)

test.case("ret and retpack answer once; a send gets no answer and ret says false", function()
    local svc = skynet.newservice "ac_server"
    test.eq(skynet.call(svc, "lua", "retpack", 1, nil, "three"), 1, "retpack")
    local a, b, c = skynet.call(svc, "lua", "retpack", 1, nil, "three")
    test.eq(b, nil, "nil kept")
    test.eq(c, "three", "values after a nil")
    test.eq(skynet.call(svc, "lua", "raw"), "raw text", "ret with a string")
    test.eq(select("#", skynet.call(svc, "lua", "empty")), 0, "ret() answers an empty message")
    skynet.send(svc, "lua", "ret_on_send")
    test.eq(skynet.call(svc, "lua", "last"), false, "ret of a send returns false")
    test.eq(skynet.call(svc, "lua", "twice"), "first", "the first ret answers")
    contains(skynet.call(svc, "lua", "last"), "No session", "the second ret of one request")
    skynet.kill(svc)
end)

test.run()
