-- Messaging rules of skynet.lua: send/call/ret/retpack, custom protocols, redirect, rawcall,
-- request():select, context, ignoreret.
local skynet = require "skynet"
local test = require "testlib"

local echo

local function note(key)
    return skynet.call(echo, "lua", "NOTE", key)
end

test.case("call returns what retpack packed, nils and all", function()
    local r = table.pack(skynet.call(echo, "lua", "ECHO", 1, nil, "three", { k = "v" }, 2.5, true))
    test.eq(r.n, 6, "count")
    test.eq(r[1], 1, "1")
    test.eq(r[2], nil, "2")
    test.eq(r[3], "three", "3")
    test.eq(r[4].k, "v", "4")
    test.eq(r[5], 2.5, "5")
    test.eq(r[6], true, "6")
end)

test.case("call with no results", function()
    test.eq(select("#", skynet.call(echo, "lua", "ECHO")), 0, "result count")
end)

test.case("send returns 0, and nil for an invalid address", function()
    test.eq(skynet.send(echo, "lua", "WHO"), 0, "send to live service")
    test.eq(skynet.send(".ll_nosuch_name", "lua", "WHO"), nil, "send to unknown name")
end)

test.case("ret with a raw string", function()
    local msg, sz = skynet.rawcall(echo, "lua", skynet.pack("RAW", "plain text"))
    test.eq(skynet.tostring(msg, sz), "plain text", "raw reply")
end)

-- skynet.call packs and unpacks the lua protocol's values without calling skynet.pack/unpack (lua_api.cpp):
-- the answers the core delivers in any shape, and arguments pack refuses, must come out as with the calls.
test.case("call: an answer that is not a packed stream raises in the caller", function()
    test.raises("Invalid serialize stream", skynet.call, echo, "lua", "RAW", "\255\255\255")
    test.eq(select("#", skynet.call(echo, "lua", "RAW")), 0, "ret(nil) answers nothing")
    test.eq(skynet.call(echo, "lua", "ECHO", "still"), "still", "the caller goes on")
end)

test.case("call: an argument pack refuses raises, and nothing is sent", function()
    local target = skynet.newservice "ll_echo"
    local before = skynet.call(target, "debug", "STAT").message
    -- the message as skynet.pack's own, called from C: no position in front
    for _, f in ipairs { skynet.call, skynet.send } do
        local ok, err = pcall(f, target, "lua", "ECHO", print)
        test.eq(ok, false, "raised")
        test.eq(err, "Unsupport type function to serialize", "message")
    end
    local after = skynet.call(target, "debug", "STAT").message
    test.eq(after - before, 1, "only the second STAT reached the service")
    test.eq(skynet.call(target, "lua", "ECHO", 1, 2), 1, "a good call right after")
    skynet.kill(target)
end)

test.case("call: a replaced pack or unpack of the lua protocol is the one called", function()
    local p = skynet._proto.lua
    local real_pack, real_unpack = p.pack, p.unpack
    local packs, unpacks = 0, 0
    p.pack = function(...)
        packs = packs + 1
        return real_pack(...)
    end
    p.unpack = function(msg, sz)
        unpacks = unpacks + 1
        return real_unpack(msg, sz)
    end
    local ok, r = pcall(skynet.call, echo, "lua", "ECHO", "through the replacements")
    p.pack, p.unpack = real_pack, real_unpack
    test.eq(ok, true, "call: " .. tostring(r))
    test.eq(r, "through the replacements", "answer")
    test.eq(packs, 1, "the replaced pack ran")
    test.eq(unpacks, 1, "the replaced unpack ran")
end)

test.case("rawcall returns msg, sz that unpack", function()
    local msg, sz = skynet.rawcall(echo, "lua", skynet.pack("ECHO", 7, "x"))
    test.eq(type(sz), "number", "sz type")
    local a, b = skynet.unpack(msg, sz)
    test.eq(a, 7, "a")
    test.eq(b, "x", "b")
end)

test.case("rawsend delivers a packed message", function()
    local me = skynet.self()
    test.eq(skynet.rawsend(echo, "lua", skynet.pack("WHO")), 0, "rawsend result")
    test.eq(skynet.call(echo, "lua", "LASTSOURCE"), me, "source")
end)

test.case("register_protocol with a custom id, pack and unpack", function()
    skynet.register_protocol {
        name = "upper",
        id = 200,
        pack = function(text) return text end,
        unpack = skynet.tostring,
    }
    test.eq(skynet.call(echo, "upper", "hello"), "HELLO", "custom protocol reply")
    test.eq(skynet._proto[200], skynet._proto.upper, "stored under name and id")
end)

test.case("register_protocol refuses a duplicate name or id", function()
    test.raises("already registered", skynet.register_protocol, { name = "lua", id = 201 })
    test.raises("already registered", skynet.register_protocol, { name = "fresh_name", id = 10 })
    test.raises("0..255", skynet.register_protocol, { name = "too_big", id = 256 })
    test.raises("0..255", skynet.register_protocol, { name = "negative", id = -1 })
    test.raises("0..255", skynet.register_protocol, { name = "float_id", id = 20.5 })
    test.raises("0..255", skynet.register_protocol, { id = 202 })
    test.raises("register_protocol needs a table, got string", skynet.register_protocol, "lua")
    test.eq(skynet._proto[202], nil, "nothing registered by the refused calls")
    test.eq(skynet._proto.negative, nil, "nothing registered by the refused calls")
end)

test.case("dispatch returns the previous function", function()
    local function a() end
    local function b() end
    skynet.register_protocol { name = "dispatch_probe", id = 201 }
    test.eq(skynet.dispatch("dispatch_probe"), nil, "none yet")
    test.eq(skynet.dispatch("dispatch_probe", a), nil, "first set returns nil")
    test.eq(skynet.dispatch("dispatch_probe", b), a, "second set returns the first")
    test.eq(skynet.dispatch("dispatch_probe"), b, "query")
end)

test.case("redirect forges the source", function()
    local fake = skynet.self() + 12345
    skynet.redirect(echo, fake, "lua", 0, skynet.pack("WHO"))
    test.eq(skynet.call(echo, "lua", "LASTSOURCE"), fake, "source seen by the receiver")
end)

test.case("context gives session and source of the request", function()
    local session, source = skynet.call(echo, "lua", "CONTEXT")
    test.eq(math.type(session), "integer", "session type")
    test.eq(session > 0, true, "call session is positive")
    test.eq(source, skynet.self(), "source")
    skynet.send(echo, "lua", "CONTEXTSEND")
    test.eq(note "ctx_session", 0, "send has session 0")
    test.eq(note "ctx_source", skynet.self(), "send source")
end)

test.case("ignoreret: no reply, and ret afterwards has no session", function()
    local got
    for _, resp in skynet.request { echo, "lua", "IGNORE" }:select(20) do
        got = resp
    end
    test.eq(got, nil, "no reply arrived")
    test.eq(note "ignore_ret":find("No session", 1, true) ~= nil, true, "ret after ignoreret")
end)

test.case("request:select returns every reply, invalid addresses first", function()
    local req = skynet.request()
    req:add { echo, "lua", "ECHO", 1 }
    req:add { ".ll_nosuch_name", "lua", "ECHO", 2 }
    req { echo, "lua", "ECHO", 3, "three" }
    req { echo, "lua", "FAIL", "expected failure" }
    local seen, order = {}, {}
    for r, resp in req:select() do
        order[#order + 1] = r[1]
        -- key: the first argument after the command (1, 2, 3 or the failure text)
        seen[r[4]] = resp
    end
    test.eq(#order, 4, "answers")
    test.eq(order[1], ".ll_nosuch_name", "invalid address comes first")
    test.eq(seen[2], nil, "invalid address resp")
    test.eq(seen[1].n, 1, "reply 1 packed with n")
    test.eq(seen[1][1], 1, "reply 1")
    test.eq(seen[3].n, 2, "reply 3 n")
    test.eq(seen[3][2], "three", "reply 3")
    test.eq(seen["expected failure"], false, "failed request")
    test.eq(req.timeout, nil, "no timeout")
end)

test.case("request call syntax chains", function()
    local n = 0
    for _, resp in skynet.request { echo, "lua", "ECHO", "a" } { echo, "lua", "ECHO", "b" }:select() do
        n = n + 1
        test.eq(type(resp), "table", "resp")
    end
    test.eq(n, 2, "two replies")
end)

local function break_sessions()
    local breaks = 0
    local t = {}
    skynet.task(t)
    for _, v in pairs(t) do
        if v == "BREAK" then breaks = breaks + 1 end
    end
    return breaks
end

test.case("request:select with a timeout stops waiting", function()
    -- the slow request is answered only when the test releases it, after the select: a select that
    -- waited for it would never return
    local req = skynet.request()
    req:add { echo, "lua", "HOLD", "select_slow" }
    req:add { echo, "lua", "ECHO", "fast" }
    local got = {}
    for r, resp in req:select(100) do
        got[#got + 1] = resp[1]
    end
    test.eq(#got, 1, "only the fast reply")
    test.eq(got[1], "fast", "fast reply")
    test.eq(req.timeout, true, "timeout flag")
    -- the late reply is swallowed: the session is marked BREAK until it comes, then forgotten
    local breaks = break_sessions()
    test.eq(breaks >= 1, true, "abandoned session marked BREAK")
    local alive, sent = skynet.call(echo, "lua", "RELEASE", "select_slow", "slow")
    test.eq(alive and sent, true, "the slow reply sent after the select")
    -- the slow reply came before the answer to RELEASE: it has been dropped by now
    test.eq(break_sessions(), breaks - 1, "BREAK sessions after the late reply")
end)

test.case("breaking out of select closes the request", function()
    local req = skynet.request { echo, "lua", "SLEEP", 50, "late" } { echo, "lua", "ECHO", "now" }
    for _, resp in req:select() do
        test.eq(resp[1], "now", "first reply")
        break
    end
    test.eq(req._pending, 0, "closed by the for loop")
    skynet.sleep(60)  -- the late reply arrives and must be dropped silently
end)

test.case("address formats handles", function()
    test.eq(skynet.address(0x0a), ":0000000a", "number")
    test.eq(skynet.address(".x"), ".x", "string")
end)

test.case("pack, unpack, packstring", function()
    local s = skynet.packstring(1, "two", { 3 })
    local a, b, c = skynet.unpack(s)
    test.eq(a, 1, "a")
    test.eq(b, "two", "b")
    test.eq(c[1], 3, "c")
    local msg, sz = skynet.pack("x")
    test.eq(skynet.unpack(msg, sz), "x", "lightuserdata form")
    skynet.trash(msg, sz)
end)

test.case("genid gives fresh sessions", function()
    local a, b = skynet.genid(), skynet.genid()
    test.eq(b ~= a, true, "distinct")
end)

test.case("trace tags travel with calls", function()
    test.eq(skynet.tracetag(), nil, "no tag before trace")
    skynet.trace "messaging test"
    local tag = skynet.tracetag()
    test.eq(type(tag), "string", "tag type")
    test.eq(tag:match("^:(%x+)%-%d+$") ~= nil, true, "tag format " .. tag)
    test.eq(skynet.call(echo, "lua", "TRACETAG"), tag, "the callee runs under the caller's tag")
    test.eq(type(skynet.tracelog), "function", "tracelog")
end)

test.case("traceproto forces tracing of a protocol", function()
    skynet.call(echo, "debug", "TRACELOG", "lua", true)
    local tag = skynet.call(echo, "lua", "TRACETAG")
    test.eq(type(tag), "string", "traced handler has a tag")
    skynet.call(echo, "debug", "TRACELOG", "lua", false)
    test.eq(skynet.call(echo, "lua", "TRACETAG"), false, "forced off")
    skynet.call(echo, "debug", "TRACELOG", "lua", nil)
    test.eq(skynet.call(echo, "lua", "TRACETAG"), nil, "back to default")
end)

test.case("forward_type dispatches mapped types without freeing them", function()
    skynet.register_protocol {
        name = "ll_fwd",
        id = 203,
        pack = skynet.pack,
        unpack = skynet.unpack,
    }
    local fwd = skynet.newservice "ll_forward"
    local a, b = skynet.call(fwd, "ll_fwd", "via 203")
    test.eq(a, "forwarded", "mapped type")
    test.eq(b, "via 203", "payload intact")
    a, b = skynet.call(fwd, "lua", "plain")
    test.eq(b, "plain", "unmapped type")
end)

test.case("filter rewrites messages before dispatch", function()
    skynet.register_protocol {
        name = "ll_filtered",
        id = 204,
        pack = skynet.pack,
        unpack = skynet.unpack,
    }
    local svc = skynet.newservice "ll_filter"
    local a, n = skynet.call(svc, "ll_filtered")
    test.eq(a, "filtered", "rewritten type")
    test.eq(n >= 2, true, "the filter saw the messages")
end)

test.run(function()
    echo = skynet.newservice "ll_echo"
end)
