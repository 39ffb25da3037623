-- The core's runtime rules: memory limits, the endless-loop monitor and SIGNAL, the exit monitor,
-- per-service message logs, STAT.
local skynet = require "skynet"
local core = require "skynet.core"
local test = require "testlib"

test.case("memlimit: a service over its limit gets a Lua error and keeps serving", function()
    local hog = skynet.newservice("rt_hog")
    local ok, err = skynet.call(hog, "lua", "grow")
    test.eq(ok, false, "grow succeeded")
    assert(err:find("not enough memory", 1, true), err)
    test.eq(skynet.call(hog, "lua", "ping"), "pong", "ping after the memory error")
    skynet.kill(hog)
end)

test.case("memlimit: a handler killed by the limit still fails its caller, though the service is over it", function()
    -- the error path is loaded on first use (lazy/errors.lua) with the limit lifted
    local hog = skynet.newservice("rt_hog")
    test.raises("call failed", skynet.call, hog, "lua", "grow_unprotected")
    test.eq(skynet.call(hog, "lua", "free"), "freed", "served after the failure")
    test.eq(skynet.call(hog, "lua", "ping"), "pong", "ping")
    skynet.kill(hog)
end)

test.case("endless loop: reported by the monitor, broken by SIGNAL 0, other services keep running", function()
    local spin = skynet.newservice("rt_spin")
    local echo = skynet.newservice("rt_echo")
    local done, err
    skynet.fork(function()
        local ok, e = pcall(skynet.call, spin, "lua", "spin")
        done, err = true, e
        assert(not ok)
    end)
    skynet.sleep(10)
    -- Meanwhile the other worker still serves.
    test.eq(skynet.call(echo, "lua", "still here"), "still here", "echo while another service loops")
    test.eq(done, nil, "the endless call returned early")
    -- The monitor looks every 5 s; by 11 s it must have seen the loop.
    skynet.sleep(1100)
    core.command("SIGNAL", skynet.address(spin) .. " 0")
    test.wait_until(function() return done end, 500, "the endless call to fail")
    assert(tostring(err):find("call failed", 1, true), err)
    local pong, endless = skynet.call(spin, "lua", "ping")
    test.eq(pong, "pong", "the signalled service serves again")
    test.eq(endless, true, "endless flag set by the monitor")
    skynet.kill(spin)
    skynet.kill(echo)
end, 2500)

test.case("exit monitor: MONITOR gets a PTYPE_CLIENT from each service that ends", function()
    local seen = {}
    skynet.register_protocol {
        name = "client",
        id = skynet.PTYPE_CLIENT,
        unpack = function() return nil end,
        dispatch = function(_, source) seen[#seen + 1] = source end,
    }
    core.command("MONITOR", skynet.address(skynet.self()))
    test.eq(core.command("MONITOR"), string.format(":%x", skynet.self()), "MONITOR query")
    local a = skynet.newservice("rt_echo")
    skynet.kill(a)
    test.wait_until(function() return seen[1] end, 300, "exit notification")
    test.eq(seen[1], a, "source of the notification")
    core.command("MONITOR", ":0")
end)

test.case("LOGON writes a per-service message log under logpath, LOGOFF stops it", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. dir))
    if skynet.getenv "logpath" == nil then
        skynet.setenv("logpath", dir)
    end
    local path = skynet.getenv "logpath"
    local echo = skynet.newservice("rt_echo")
    core.command("LOGON", skynet.address(echo))
    skynet.call(echo, "lua", "logged")
    core.command("LOGOFF", skynet.address(echo))
    skynet.call(echo, "lua", "not logged")
    local f = assert(io.open(string.format("%s/%08x.log", path, echo)))
    local text = f:read "a"
    f:close()
    local lines = 0
    for _ in text:gmatch("[^\n]+") do lines = lines + 1 end
    test.eq(lines, 1, "logged messages")
    assert(text:find(string.format(":%08x 10 ", skynet.self()), 1, true), text)
    skynet.kill(echo)
end)

test.case("STAT message counts dispatched messages; mqlen; cpu", function()
    local before = skynet.stat "message"
    skynet.sleep(1)
    skynet.sleep(1)
    local after = skynet.stat "message"
    assert(after >= before + 2, string.format("%d -> %d", before, after))
    test.eq(skynet.mqlen(), 0, "mqlen")
    assert(type(skynet.stat "cpu") == "number")
    test.eq(core.command("STAT", "nosuch"), "", "unknown STAT")
end)

test.case("a send to a dead service returns nil; its queued requests get errors", function()
    local echo = skynet.newservice("rt_echo")
    skynet.kill(echo)
    test.eq(skynet.send(echo, "lua", "x"), nil, "send to a dead service")
    test.raises("call to invalid address", skynet.call, echo, "lua", "x")
end)

test.case("LAUNCH of an unknown service kind gives nothing", function()
    test.eq(core.command("LAUNCH", "nosuchkind args"), nil, "LAUNCH result")
end)

test.case("skynet.profile: start/stop measure CPU time, misuse raises", function()
    local profile = require "skynet.profile"
    profile.start()
    local x = 0
    for i = 1, 2000000 do x = x + i % 7 end
    local t = profile.stop()
    assert(type(t) == "number" and t > 0, tostring(t))
    test.raises("profile.start() before profile.stop()", profile.stop)
    profile.start()
    test.raises("start profile more than once", profile.start)
    profile.stop()
    -- The time of a profiled coroutine pauses while it is suspended.
    local co = coroutine.create(function()
        profile.start()
        coroutine.yield()
        return profile.stop()
    end)
    assert(coroutine.resume(co))
    skynet.sleep(5)
    local ok, t2 = coroutine.resume(co)
    assert(ok and t2 < 0.04, tostring(t2))
end)

test.case("coroutine.wrap is the profiling wrap and propagates errors", function()
    local gen = coroutine.wrap(function(a)
        local b = coroutine.yield(a + 1)
        error("boom " .. b)
    end)
    test.eq(gen(1), 2, "first resume")
    test.raises("boom 5", gen, 5)
    assert(coroutine.resume ~= nil)
end)

-- profile.resume calls lua_resume itself; its results must be those of the standard coroutine.resume.
test.case("coroutine.resume gives the standard results: values, yields, errors, dead and running threads", function()
    local function pack(...)
        local t = table.pack(...)
        local out = {}
        for i = 1, t.n do
            out[i] = tostring(t[i])
        end
        return t.n .. ":" .. table.concat(out, ",")
    end
    local resume = coroutine.resume
    test.eq(pack(resume(coroutine.running())), "2:false,cannot resume non-suspended coroutine", "running")
    local co = coroutine.create(function(a, b)
        local x, y = coroutine.yield(a + b, "y")
        return x * y
    end)
    test.eq(pack(resume(co, 1, 2)), "3:true,3,y", "yield")
    test.eq(pack(resume(co, 3, 4)), "2:true,12", "return")
    test.eq(pack(resume(co)), "2:false,cannot resume dead coroutine", "dead")
    local failing = coroutine.create(function() error({ code = 7 }) end)
    local ok, err = resume(failing)
    assert(ok == false and type(err) == "table" and err.code == 7, "error object")
    local count = coroutine.create(function(...) return select("#", ...) end)
    test.eq(pack(resume(count, nil, nil, nil)), "2:true,3", "nil arguments")
    local many = coroutine.create(function() return table.unpack({}, 1, 200) end)
    test.eq(select("#", resume(many)), 201, "200 results")
    test.raises("thread expected", resume, 42)
end)

test.run()
