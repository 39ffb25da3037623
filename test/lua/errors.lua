-- Error rules of skynet.lua (spec §3.4, §3.5) and the service lifecycle around them.
local skynet = require "skynet"
require "skynet.manager"
local test = require "testlib"

local echo

local function note(key)
    return skynet.call(echo, "lua", "NOTE", key)
end

local function contains(text, pattern, what)
    if not tostring(text):find(pattern, 1, true) then
        error(string.format("%s: expected text containing '%s', got '%s'", what or "text", pattern,
            tostring(text)), 2)
    end
end

test.case("call to a dead service: call to invalid address", function()
    local victim = skynet.newservice "ll_echo"
    skynet.kill(victim)
    skynet.sleep(5)
    test.raises("call to invalid address " .. skynet.address(victim), skynet.call, victim, "lua", "ECHO")
    test.eq(skynet.send(victim, "lua", "ECHO"), nil, "send to the dead service returns nil")
end)

test.case("call to an unknown local name: call to invalid address", function()
    test.raises("call to invalid address .nosuch", skynet.call, ".nosuch", "lua", "ECHO")
end)

test.case("rawcall to an unknown name raises", function()
    test.raises("call to invalid address", skynet.rawcall, ".nosuch", "lua", skynet.pack "x")
end)

test.case("handler error: call failed, and the service lives on", function()
    test.raises("call failed", skynet.call, echo, "lua", "FAIL", "expected failure")
    test.eq(skynet.call(echo, "lua", "ECHO", "alive"), "alive", "still serving")
end)

test.case("unregistered protocol in a call: call failed", function()
    skynet.register_protocol {
        name = "ll_unknown_to_echo",
        id = 202,
        pack = function(s) return s end,
        unpack = skynet.tostring,
    }
    test.raises("call failed", skynet.call, echo, "ll_unknown_to_echo", "x")
end)

test.case("exit during a call: call failed", function()
    local victim = skynet.newservice "ll_echo"
    test.raises("call failed", skynet.call, victim, "lua", "EXIT")
end)

test.case("exit fails every request the service was still handling", function()
    local victim = skynet.newservice "ll_echo"
    local results = {}
    for i = 1, 3 do
        skynet.fork(function()
            local ok, err = pcall(skynet.call, victim, "lua", "SLEEP", 1000)
            results[i] = ok and "returned" or tostring(err)
        end)
    end
    skynet.sleep(5)
    skynet.send(victim, "lua", "EXIT")
    test.wait_until(function() return results[1] and results[2] and results[3] end, 300, "replies")
    for i = 1, 3 do
        contains(results[i], "call failed", "request " .. i)
    end
end)

test.case("killed while handling a request: the caller gets call failed", function()
    local victim = skynet.newservice "ll_echo"
    local result
    skynet.fork(function()
        local ok, err = pcall(skynet.call, victim, "lua", "SLEEP", 1000)
        result = ok and "returned" or tostring(err)
    end)
    skynet.sleep(5)
    skynet.kill(victim)
    test.wait_until(function() return result end, 300, "the caller to be answered")
    contains(result, "call failed", "killed callee")
end)

test.case("ret twice: No session", function()
    test.eq(skynet.call(echo, "lua", "RETTWICE"), "first", "first reply")
    test.eq(note "ret1", true, "first ret result")
    contains(note "ret2", "No session", "second ret")
end)

test.case("ret for a send returns false", function()
    skynet.send(echo, "lua", "RETSEND")
    test.eq(note "retsend", false, "ret for session 0")
    contains(note "retsend2", "No session", "second ret for a send")
end)

test.case("response rules", function()
    local a, b = skynet.call(echo, "lua", "RESPOND", "r1", "r2")
    test.eq(a, "r1", "reply 1")
    test.eq(b, "r2", "reply 2")
    test.eq(note "test_before", true, "TEST while pending")
    contains(note "ret_after_response", "No session", "ret after response")
    contains(note "response_twice_call", "no session", "response() twice")
    test.eq(note "first", true, "first response result")
    test.eq(note "test_after", false, "TEST after answering")
    contains(note "second", "Can't response more than once", "second response")
end)

test.case("response(false) fails the caller", function()
    test.raises("call failed", skynet.call, echo, "lua", "RESPONDFALSE")
    test.eq(note "false_result", true, "response(false) result")
end)

test.case("response for a send is a no-op", function()
    skynet.send(echo, "lua", "RESPONDSEND")
    test.eq(note "send_response_type", "function", "closure type")
    test.eq(note "send_response_result", "nil", "no-op result")
end)

test.case("response to a requester that died returns false", function()
    local caller = skynet.newservice "ll_echo"
    -- caller -> echo HOLD: echo keeps the response; caller then exits while calling echo
    skynet.call(caller, "lua", "CALLFOREVER", echo, "HOLD", "died")
    skynet.sleep(5)
    skynet.send(caller, "lua", "EXIT")
    skynet.sleep(10)
    local alive, sent = skynet.call(echo, "lua", "RELEASE", "died", "late")
    test.eq(alive, false, "TEST after the requester died")
    test.eq(sent, false, "response to a dead requester")
end)

test.case("held response answered later", function()
    local result
    skynet.fork(function()
        result = skynet.call(echo, "lua", "HOLD", "later")
    end)
    skynet.sleep(5)
    local alive, sent = skynet.call(echo, "lua", "RELEASE", "later", "value")
    test.eq(alive, true, "TEST")
    test.eq(sent, true, "sent")
    test.wait_until(function() return result end, 100, "held reply")
    test.eq(result, "value", "held reply")
end)

test.case("unknown response session raises Unknown session", function()
    skynet.call(echo, "lua", "CAPTURE_UNKNOWN")
    skynet.redirect(echo, skynet.self(), "response", 987654, "")
    skynet.sleep(5)
    contains(note "unknown_response",
        string.format("Unknown session : 987654 from %x", skynet.self()), "unknown response")
end)

test.case("unknown request type with session 0 raises Unknown session", function()
    skynet.call(echo, "lua", "CAPTURE_UNKNOWN")
    skynet.send(echo, "ll_unknown_to_echo", "hello")
    skynet.sleep(5)
    contains(note "unknown_request", string.format("Unknown session : 0 from %x", skynet.self()),
        "unknown request")
end)

test.case("a call that is never answered can be given up with select", function()
    local got = false
    for _, resp in skynet.request { echo, "lua", "NORET" }:select(10) do
        got = resp
    end
    test.eq(got, false, "no reply")
end)

test.case("a call to an unknown global name blocks until term", function()
    local result
    skynet.fork(function()
        local ok, err = pcall(skynet.call, "LLNOSUCHNAME", "lua", "ECHO")
        result = ok and "returned" or tostring(err)
    end)
    skynet.sleep(10)
    test.eq(result, nil, "still blocked")
    skynet.term "LLNOSUCHNAME"
    test.wait_until(function() return result end, 100, "term")
    contains(result, "call failed", "after term")
end)

test.case("setenv of an existing key raises; a new key works", function()
    test.raises("Can't setenv exist key", skynet.setenv, "thread", "3")
    local key = "ll_errors_fresh_key"
    test.eq(skynet.getenv(key), nil, "absent before")
    skynet.setenv(key, "value")
    test.eq(skynet.getenv(key), "value", "set")
    test.raises("Can't setenv exist key", skynet.setenv, key, "other")
    test.eq(skynet.getenv(key), "value", "unchanged")
end)

test.case("newservice raises call failed when start fails", function()
    test.raises("call failed", skynet.newservice, "ll_initfail")
end)

local after_exit = false
skynet.dispatch("lua", function(_, _, what)
    if what == "after_exit" then
        after_exit = true
    end
end)

test.case("newservice returns nil when the service exits in start; exit never returns", function()
    test.eq(skynet.newservice("ll_exitinit", skynet.self()), nil, "address")
    skynet.sleep(5)
    test.eq(after_exit, false, "code after skynet.exit ran")
end)

test.case("newservice of a missing service raises", function()
    test.raises("call failed", skynet.newservice, "ll_no_such_service_file")
end)

test.case("init hooks run before start; loader globals", function()
    local addr = skynet.newservice "ll_inithooks"
    local order, name, path = skynet.call(addr, "lua")
    test.eq(order, "main,init1,init2,start", "order")
    test.eq(name, "ll_inithooks", "SERVICE_NAME")
    test.eq(path:sub(-#"test/lua/svc/"), "test/lua/svc/", "SERVICE_PATH")
    skynet.kill(addr)
end)

test.run(function()
    echo = skynet.newservice "ll_echo"
end)
