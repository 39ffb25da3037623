-- skynet.service: services made from a function (service_provider + service_cell). (Not named
-- service_cell.lua: TEST_START would find service/service_cell.lua first on the luaservice path.)
local skynet = require "skynet"
local service = require "skynet.service"
local test = require "testlib"

-- The body of the test services: it may use only globals, like the main chunk of a service file.
local function cell_main(greeting, ...)
    local skynet = require "skynet"
    local extra = table.pack(...)
    skynet.start(function()
        skynet.dispatch("lua", function(_, _, cmd, arg)
            if cmd == "greet" then
                skynet.retpack(greeting .. ", " .. tostring(arg))
            elseif cmd == "extra" then
                skynet.retpack(table.unpack(extra, 1, extra.n))
            elseif cmd == "fail" then
                error("cell failure")
            end
        end)
    end)
end

test.case("new creates a service running the function", function()
    local addr = service.new("cell_hello", cell_main, "hello", "x", 3)
    assert(math.type(addr) == "integer", "address expected")
    test.eq(skynet.call(addr, "lua", "greet", "world"), "hello, world", "greet")
    local a, b = skynet.call(addr, "lua", "extra")
    test.eq(a, "x", "extra argument 1")
    test.eq(b, 3, "extra argument 2 keeps its type")
    test.raises("call failed", skynet.call, addr, "lua", "fail")
    test.eq(skynet.call(addr, "lua", "greet", 1), "hello, 1", "alive after an error")
end)

test.case("new of an existing name returns the same service", function()
    local a = service.new("cell_hello", cell_main, "other")
    local b = service.new("cell_hello", cell_main, "other")
    test.eq(a, b, "same address")
    test.eq(skynet.call(a, "lua", "greet", "again"), "hello, again", "first greeting kept")
end)

test.case("concurrent new of one name boots once", function()
    local results, n = {}, 0
    for i = 1, 5 do
        skynet.fork(function()
            results[i] = service.new("cell_concurrent", cell_main, "hi")
            n = n + 1
        end)
    end
    test.wait_until(function() return n == 5 end, 300, "the five calls")
    for i = 2, 5 do
        test.eq(results[i], results[1], "address " .. i)
    end
end)

test.case("query waits until the service is created", function()
    local got
    skynet.fork(function()
        got = service.query("cell_later")
    end)
    skynet.sleep(20)
    test.eq(got, nil, "before new")
    local addr = service.new("cell_later", cell_main, "late")
    test.wait_until(function() return got ~= nil end, 100, "query")
    test.eq(got, addr, "queried address")
    test.eq(service.query("cell_later"), addr, "query of an existing service")
end)

test.case("a function using its creator's locals is refused", function()
    local captured = 1
    test.raises("must not use the local variable", service.new, "cell_bad", function()
        return captured
    end)
end)

test.case("a function that raises fails new", function()
    test.raises("", service.new, "cell_raise", function()
        error("boom in cell")
    end)
end)

test.case("close kills the service and forgets the name", function()
    local addr = service.new("cell_close", cell_main, "closing")
    test.eq(service.close("cell_close"), true, "close of a running service")
    test.wait_until(function() return not pcall(skynet.call, addr, "lua", "greet", 1) end, 100,
        "the service to end")
    test.eq(service.close("cell_close"), false, "close of a closed name")
    local again = service.new("cell_close", cell_main, "reborn")
    assert(again ~= addr, "a new service after close")
    test.eq(skynet.call(again, "lua", "greet", "x"), "reborn, x", "new service")
end)

test.run()
