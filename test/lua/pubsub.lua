-- examples/pubsub from inside the node: the wire codec (pubsub.wire), the `pubsub` lualib module between
-- Lua services, and the hub's socket protocol spoken by a Lua socket client on its Unix path.
local skynet = require "skynet"
local socket = require "skynet.socket"
local pubsub = require "pubsub"
local wire = require "pubsub.wire"
local test = require "testlib"

local dir, path, hub

local function sh_quote(s)
    return "'" .. s:gsub("'", "'\\''") .. "'"
end

local function setup()
    dir = io.popen("mktemp -d /tmp/skynet-pubsub-XXXXXX"):read("l")
    path = dir .. "/hub.sock"
    hub = skynet.newservice("pubsub_hub")
    skynet.name(".pubsub", hub)
    local addresses = skynet.call(hub, "lua", "open", { socket = path, max_frame = 4096, hello_timeout = 200 })
    assert(addresses.unix == "unix:" .. path, "hub address " .. tostring(addresses.unix))
end

-- Deep equality of two decoded field lists (NaN equals NaN; 0.0 and -0.0 differ).
local function same_value(a, b)
    if a ~= a and b ~= b then
        return true
    end
    if math.type(a) == "float" and math.type(b) == "float" and a == 0 and b == 0 then
        return 1 / a == 1 / b
    end
    return math.type(a) == math.type(b) and a == b
end

local function wait_got(member, n, what)
    local all = {}
    test.wait_until(function()
        for _, m in ipairs(skynet.call(member, "lua", "got")) do
            all[#all + 1] = m
        end
        return #all >= n
    end, 300, what or (n .. " messages"))
    return all
end

-------------------------------------------------------------------------------- the codec

test.case("wire: every field kind round-trips, edge values included", function()
    local w = pubsub.writer()
    local values = {
        { "string", "" }, { "string", "héllo ☃" }, { "string", string.rep("x", 70000) },
        { "integer", 0 }, { "integer", -1 }, { "integer", math.maxinteger }, { "integer", math.mininteger },
        { "float", 0.5 }, { "float", -0.0 }, { "float", 1 / 0 }, { "float", -1 / 0 }, { "float", 0 / 0 },
        { "float", 2.5e-308 }, { "bytes", "" }, { "bytes", "\0\1\2\255\254" },
    }
    local all = {}
    for i = 0, 255 do
        all[#all + 1] = string.char(i)
    end
    values[#values + 1] = { "bytes", table.concat(all) }
    for _, v in ipairs(values) do
        w[v[1]](w, v[2])
    end
    local msg = assert(pubsub.decode(w:body(), "c", "t", 7))
    test.eq(msg.n, #values, "field count")
    for i, v in ipairs(values) do
        test.eq(msg.kinds[i], v[1], "kind of field " .. i)
        assert(same_value(msg[i], v[2]), "value of field " .. i .. ": " .. tostring(msg[i]))
    end
    test.eq(msg.channel, "c", "channel")
    test.eq(msg.from, 7, "from")
    -- the same values as plain arguments: an integer stays an integer, 1.0 a float
    local p = {}
    wire.pack_field(p, "integer", 1)
    wire.pack_field(p, "float", 1.0)
    local m2 = assert(pubsub.decode(table.concat(p)))
    test.eq(math.type(m2[1]), "integer", "integer")
    test.eq(math.type(m2[2]), "float", "float")
end)

test.case("wire: the reader takes fields in order and checks their kind", function()
    local body = pubsub.writer():string("a"):integer(2):float(3.5):bytes("\0"):body()
    local msg = assert(pubsub.decode(body))
    test.eq(msg:remaining(), 4, "remaining")
    test.eq(msg:read_string(), "a", "string")
    test.raises("field 2 is integer, not float", msg.read_float, msg)
    test.eq(msg:read_integer(), 2, "integer")
    test.eq(msg:read_float(), 3.5, "float")
    local v, kind = msg:read()
    test.eq(v, "\0", "bytes value")
    test.eq(kind, "bytes", "bytes kind")
    test.raises("no field 5", msg.read_string, msg)
end)

test.case("wire: malformed bodies and frames are refused, never raise", function()
    local bad_bodies = {
        ["unknown tag"] = "\9",
        ["truncated length"] = "\1\0\0",
        ["length past the end"] = "\1\0\0\0\9abc",
        ["truncated integer"] = "\2\0\0\0",
        ["truncated float"] = "\3\0\0\0\0\0\0\0",
        ["string not UTF-8"] = "\1\0\0\0\2\255\254",
    }
    for what, body in pairs(bad_bodies) do
        local msg, why = pubsub.decode(body)
        test.eq(msg, nil, what)
        assert(type(why) == "string", what .. ": a reason")
    end
    local function parse(s)
        return wire.parse_client_frame(s)
    end
    local kind, f = parse(string.pack(">BI4s1s1", wire.SUBSCRIBE, 9, "ch", "t"))
    test.eq(kind, wire.SUBSCRIBE, "subscribe parses")
    test.eq(f[1], 9, "req")
    test.eq(f[2], "ch", "channel")
    local bad_frames = {
        { "", wire.E_MALFORMED },
        { "\127", wire.E_UNKNOWN_KIND },
        { string.pack(">BI4", wire.SUBSCRIBE, 1), wire.E_MALFORMED },                       -- truncated
        { string.pack(">BI4s1s1", wire.SUBSCRIBE, 1, "", "t"), wire.E_MALFORMED },          -- empty name
        { string.pack(">BI4s1s1", wire.SUBSCRIBE, 1, "\255", "t"), wire.E_MALFORMED },      -- not UTF-8
        { string.pack(">BI4s1s1", wire.SUBSCRIBE, 1, "c", "t") .. "x", wire.E_MALFORMED },  -- trailing
        { string.pack(">BI4s1s1", wire.PUBLISH, 1, "c", "t") .. "\9", wire.E_MALFORMED },   -- bad body
        { string.pack(">B", wire.BYE) .. "x", wire.E_MALFORMED },
    }
    for i, case in ipairs(bad_frames) do
        local k, code, why = parse(case[1])
        test.eq(k, nil, "frame " .. i)
        test.eq(code, case[2], "code of frame " .. i)
        assert(type(why) == "string", "reason of frame " .. i)
    end
end)

-------------------------------------------------------------------------------- Lua services

test.case("a publisher reaches every subscribing service, with the fields as sent", function()
    local a = skynet.newservice("pubsub_member")
    local b = skynet.newservice("pubsub_member")
    assert(skynet.call(a, "lua", "subscribe", "news", "headline"))
    assert(skynet.call(b, "lua", "subscribe", "news", "headline"))
    local got_here = {}
    local token = pubsub.subscribe("news", "headline", function(msg)
        got_here[#got_here + 1] = { msg:read_string(), msg:read_integer(), msg:read_float() }
    end)
    test.eq(pubsub.publish("news", "headline", "rain", 3, 0.25), 3, "subscribers reached")
    for _, member in ipairs { a, b } do
        local m = wait_got(member, 1)[1]
        test.eq(m.channel, "news", "channel")
        test.eq(m.type, "headline", "type")
        test.eq(m.n, 3, "fields")
        test.eq(m[1], "rain", "string")
        test.eq(m[2], 3, "integer")
        test.eq(m[3], 0.25, "float")
        test.eq(pubsub.from_service(m.from), skynet.self(), "from this service")
    end
    test.wait_until(function() return #got_here == 1 end, 300, "own delivery")
    test.eq(got_here[1][1], "rain", "own copy")
    token:unsubscribe()
    skynet.send(a, "lua", "exit")
    skynet.send(b, "lua", "exit")
end)

test.case("channels are separate; nobody listening reaches 0", function()
    local a = skynet.newservice("pubsub_member")
    local b = skynet.newservice("pubsub_member")
    assert(skynet.call(a, "lua", "subscribe", "left", "n"))
    assert(skynet.call(b, "lua", "subscribe", "right", "n"))
    for i = 1, 5 do
        test.eq(pubsub.publish("left", "n", i), 1, "left reaches a")
        test.eq(pubsub.publish("right", "n", 100 + i), 1, "right reaches b")
    end
    test.eq(pubsub.publish("nobody", "n", 1), 0, "no subscriber")
    local ga, gb = wait_got(a, 5), wait_got(b, 5)
    skynet.sleep(5)
    for _, m in ipairs(skynet.call(a, "lua", "got")) do ga[#ga + 1] = m end
    for _, m in ipairs(skynet.call(b, "lua", "got")) do gb[#gb + 1] = m end
    test.eq(#ga, 5, "a's count")
    test.eq(#gb, 5, "b's count")
    for i = 1, 5 do
        test.eq(ga[i].channel, "left", "a's channel")
        test.eq(ga[i][1], i, "a in order")
        test.eq(gb[i][1], 100 + i, "b in order")
    end
    skynet.send(a, "lua", "exit")
    skynet.send(b, "lua", "exit")
end)

test.case("a channel carries one type; '*' takes any; the type goes with its last subscriber", function()
    local a = skynet.newservice("pubsub_member")
    local any = skynet.newservice("pubsub_member")
    assert(skynet.call(a, "lua", "subscribe", "typed", "temperature"))
    assert(skynet.call(any, "lua", "subscribe", "typed", "*"))
    local ok, err = skynet.call(any, "lua", "subscribe", "typed", "pressure")
    test.eq(ok, false, "another type refused")
    assert(err:find("carries 'temperature'", 1, true), err)
    test.raises("carries 'temperature'", pubsub.publish, "typed", "pressure", 1.0)
    test.raises("not a message type", pubsub.publish, "typed", "*", 1.0)
    test.eq(pubsub.publish("typed", "temperature", 21.5), 2, "both get the right type")
    assert(skynet.call(a, "lua", "unsubscribe", "typed"))
    -- only the '*' subscriber is left: any type goes now
    test.eq(pubsub.publish("typed", "pressure", 1013), 1, "type released")
    local got = wait_got(any, 2)
    test.eq(got[1].type, "temperature", "first type")
    test.eq(got[2].type, "pressure", "second type")
    skynet.send(a, "lua", "exit")
    skynet.send(any, "lua", "exit")
end)

test.case("unsubscribe stops deliveries; a service that ends leaves its channels", function()
    local a = skynet.newservice("pubsub_member")
    local b = skynet.newservice("pubsub_member")
    assert(skynet.call(a, "lua", "subscribe", "leaving", "x"))
    assert(skynet.call(b, "lua", "subscribe", "leaving", "x"))
    test.eq(pubsub.publish("leaving", "x", "one"), 2, "both")
    assert(skynet.call(a, "lua", "unsubscribe", "leaving"))
    test.eq(pubsub.publish("leaving", "x", "two"), 1, "after unsubscribe")
    skynet.send(b, "lua", "exit")
    test.wait_until(function() return pubsub.publish("leaving", "x", "three") == 0 end, 300, "b's subscription to go")
    local got = skynet.call(a, "lua", "got")
    test.eq(#got, 1, "a got only the first")
    test.eq(skynet.call(hub, "lua", "stats").channels.leaving, nil, "the channel is gone")
    skynet.send(a, "lua", "exit")
end)

test.case("several callbacks of one service: each gets its own reader; one failing spoils nothing", function()
    local seen = {}
    local t1 = pubsub.subscribe("multi", "m", function(msg)
        seen[#seen + 1] = "1:" .. msg:read_string()
    end)
    local t2 = pubsub.subscribe("multi", "*", function(msg)
        seen[#seen + 1] = "2:" .. msg:read_string()
        error("this callback fails on purpose")
    end)
    local t3 = pubsub.subscribe("multi", "m", function(msg)
        seen[#seen + 1] = "3:" .. msg:read_string()
    end)
    test.raises("takes 'm' on 'multi' already", pubsub.subscribe, "multi", "other", function() end)
    test.eq(pubsub.publish("multi", "m", "hi"), 1, "one subscription at the hub for this service")
    test.wait_until(function() return #seen == 3 end, 300, "three callbacks")
    table.sort(seen)
    test.eq(table.concat(seen, ","), "1:hi,2:hi,3:hi", "all three")
    t1:unsubscribe()
    t3:unsubscribe()
    test.eq(skynet.call(hub, "lua", "stats").channels.multi.type, nil, "only '*' left here")
    test.eq(pubsub.unsubscribe(t1), false, "second unsubscribe")
    t2:unsubscribe()
    test.eq(skynet.call(hub, "lua", "stats").channels.multi, nil, "channel gone")
end)

test.case("1000 messages arrive in the order they were published; post does not wait", function()
    local a = skynet.newservice("pubsub_member")
    assert(skynet.call(a, "lua", "subscribe", "ordered", "seq"))
    for i = 1, 1000 do
        pubsub.post("ordered", "seq", i, pubsub.bytes(string.pack(">I4", i)))
    end
    local got = wait_got(a, 1000)
    test.eq(#got, 1000, "count")
    for i = 1, 1000 do
        test.eq(got[i][1], i, "order")
        test.eq(got[i].kinds[2], "bytes", "bytes kind")
        test.eq(got[i][2], string.pack(">I4", i), "bytes value")
    end
    skynet.send(a, "lua", "exit")
end)

test.case("bad arguments raise before anything is sent", function()
    test.raises("channel must be 1..255 bytes", pubsub.publish, "", "t", 1)
    test.raises("message type is not UTF-8", pubsub.publish, "c", "\255", 1)
    test.raises("field 1 is a boolean", pubsub.publish, "c", "t", true)
    test.raises("not UTF-8 (send it as bytes)", pubsub.publish, "c", "t", "\255")
    test.raises("needs a callback", pubsub.subscribe, "c", "t", nil)
    test.raises("integer field", function() pubsub.writer():integer(1.5) end)
end)

-------------------------------------------------------------------------------- the socket protocol

-- A raw client of the hub's Unix path, in this service.
local function connect_raw()
    local fd = assert(socket.open("unix:" .. path))
    return fd
end

local function read_frame(fd)
    local head = socket.read(fd, 4)
    if not head then
        return nil
    end
    local frame = socket.read(fd, string.unpack(">I4", head))
    if not frame then
        return nil
    end
    return frame:byte(1), frame:sub(2)
end

local function hello(fd, name)
    socket.write(fd, wire.hello(name))
    local kind, payload = read_frame(fd)
    test.eq(kind, wire.WELCOME, "WELCOME")
    local version, id, max_frame = string.unpack(">I2I4I4", payload)
    test.eq(version, wire.VERSION, "version")
    test.eq(max_frame, 4096, "max_frame")
    return id
end

test.case("socket clients and Lua services share channels", function()
    local fd = connect_raw()
    local id = hello(fd, "lua-raw")
    assert(id > 0, "client id")
    socket.write(fd, wire.subscribe(5, "mixed", "note"))
    local kind, payload = read_frame(fd)
    test.eq(kind, wire.OK, "subscribe answered")
    test.eq(string.unpack(">I4", payload), 5, "request id")
    local a = skynet.newservice("pubsub_member")
    assert(skynet.call(a, "lua", "subscribe", "mixed", "note"))
    -- Lua to the socket client
    test.eq(pubsub.publish("mixed", "note", "from lua", 42), 2, "socket client and member")
    kind, payload = read_frame(fd)
    test.eq(kind, wire.DELIVER, "DELIVER")
    local from, channel, msgtype, pos = string.unpack(">I4s1s1", payload)
    test.eq(pubsub.from_service(from), skynet.self(), "from")
    test.eq(channel, "mixed", "channel")
    test.eq(msgtype, "note", "type")
    local msg = assert(pubsub.decode(payload:sub(pos)))
    test.eq(msg[1], "from lua", "field 1")
    test.eq(msg[2], 42, "field 2")
    -- the socket client to Lua (and to itself)
    socket.write(fd, wire.publish(6, "mixed", "note", pubsub.writer():string("from socket"):body()))
    local got = wait_got(a, 2)
    test.eq(got[2][1], "from socket", "delivered to the member")
    test.eq(got[2].from, id, "from the client id")
    local kinds = {}
    for _ = 1, 2 do
        kind, payload = read_frame(fd)
        kinds[kind] = payload
    end
    assert(kinds[wire.DELIVER], "own delivery")
    test.eq(string.unpack(">I4", kinds[wire.OK], 5), 2, "OK counts both")
    -- ping, then bye
    socket.write(fd, wire.ping(77))
    kind, payload = read_frame(fd)
    test.eq(kind, wire.PONG, "PONG")
    test.eq(string.unpack(">I4", payload), 77, "pong id")
    socket.write(fd, wire.bye())
    test.eq(read_frame(fd), wire.BYE_ACK, "BYE answered")
    test.eq(read_frame(fd), nil, "then closed")
    socket.close(fd)
    test.wait_until(function()
        return pubsub.publish("mixed", "note", "x") == 1
    end, 300, "the client's subscription to go")
    skynet.send(a, "lua", "exit")
end)

test.case("bad frames: one ERROR frame, then the client is closed; others go on", function()
    local good = connect_raw()
    hello(good, "good")
    local cases = {
        { "oversized length", string.pack(">I4", 4097), wire.E_TOO_LARGE },
        { "unknown kind", wire.frame(0x7f, "abc"), wire.E_UNKNOWN_KIND },
        { "garbage", "GET / HTTP/1.1\r\n\r\n", wire.E_TOO_LARGE },
        { "empty frame", string.pack(">I4", 0), wire.E_MALFORMED },
        { "bad body", wire.frame(wire.PUBLISH, string.pack(">I4s1s1", 3, "c", "t") .. "\9"), wire.E_MALFORMED },
        { "HELLO twice", wire.hello("again"), wire.E_PROTOCOL },
    }
    for _, case in ipairs(cases) do
        local fd = connect_raw()
        hello(fd, case[1])
        socket.write(fd, case[2])
        local kind, payload = read_frame(fd)
        test.eq(kind, wire.ERROR, case[1] .. ": ERROR frame")
        local _, code, text = string.unpack(">I4I2s2", payload)
        test.eq(code, case[3], case[1] .. ": code")
        assert(#text > 0, case[1] .. ": a reason")
        test.eq(read_frame(fd), nil, case[1] .. ": closed after the ERROR frame")
        socket.close(fd)
        socket.write(good, wire.ping(1))
        test.eq(read_frame(good), wire.PONG, case[1] .. ": the other client still works")
    end
    -- before HELLO, and a client that never says HELLO
    local fd = connect_raw()
    socket.write(fd, wire.ping(3))
    local kind, payload = read_frame(fd)
    test.eq(kind, wire.ERROR, "frame before HELLO")
    local req, code = string.unpack(">I4I2", payload)
    test.eq(code, wire.E_PROTOCOL, "protocol error")
    test.eq(req, 3, "names the request")
    socket.close(fd)
    fd = connect_raw()
    kind, payload = read_frame(fd)
    test.eq(kind, wire.ERROR, "silent client")
    local _, code2, text = string.unpack(">I4I2s2", payload)
    test.eq(code2, wire.E_PROTOCOL, "silent client's code")
    assert(text:find("no HELLO", 1, true), text)
    socket.close(fd)
    socket.write(good, wire.bye())
    socket.close(good)
end)

test.case("errors that are not the client's fault keep it connected", function()
    local fd = connect_raw()
    hello(fd, "kept")
    socket.write(fd, wire.subscribe(1, "strict", "a"))
    test.eq(read_frame(fd), wire.OK, "subscribed")
    local other = connect_raw()
    hello(other, "other")
    socket.write(other, wire.subscribe(2, "strict", "b"))
    local kind, payload = read_frame(other)
    test.eq(kind, wire.ERROR, "type mismatch")
    local req, code = string.unpack(">I4I2", payload)
    test.eq(req, 2, "request id")
    test.eq(code, wire.E_TYPE_MISMATCH, "code")
    socket.write(other, wire.unsubscribe(3, "strict"))
    kind, payload = read_frame(other)
    test.eq(kind, wire.ERROR, "not subscribed")
    test.eq(select(2, string.unpack(">I4I2", payload)), wire.E_NOT_SUBSCRIBED, "code")
    socket.write(other, wire.publish(0, "strict", "b", ""))
    kind, payload = read_frame(other)
    test.eq(kind, wire.ERROR, "publish of the wrong type")
    test.eq(select(2, string.unpack(">I4I2", payload)), wire.E_TYPE_MISMATCH, "code")
    socket.write(other, wire.ping(4))
    test.eq(read_frame(other), wire.PONG, "still connected")
    socket.close(other)
    socket.close(fd)
end)

test.case("limits: clients per hub and subscriptions per client", function()
    local small = skynet.newservice("pubsub_hub")
    local small_path = dir .. "/small.sock"
    skynet.call(small, "lua", "open", { socket = small_path, max_clients = 1, max_subscriptions = 2 })
    local first = assert(socket.open("unix:" .. small_path))
    socket.write(first, wire.hello("first"))
    test.eq(read_frame(first), wire.WELCOME, "the first client is welcome")
    local second = assert(socket.open("unix:" .. small_path))
    local kind, payload = read_frame(second)
    test.eq(kind, wire.ERROR, "the second is refused")
    test.eq(select(2, string.unpack(">I4I2", payload)), wire.E_LIMIT, "code")
    test.eq(read_frame(second), nil, "and closed")
    socket.close(second)
    for i, channel in ipairs { "one", "two", "three" } do
        socket.write(first, wire.subscribe(i, channel, "t"))
    end
    test.eq(read_frame(first), wire.OK, "subscription 1")
    test.eq(read_frame(first), wire.OK, "subscription 2")
    kind, payload = read_frame(first)
    test.eq(kind, wire.ERROR, "subscription 3")
    local req, code = string.unpack(">I4I2", payload)
    test.eq(req, 3, "request id")
    test.eq(code, wire.E_LIMIT, "code")
    socket.write(first, wire.subscribe(4, "one", "t"))
    test.eq(read_frame(first), wire.OK, "subscribing again to a channel it has is fine")
    socket.close(first)
    skynet.call(small, "lua", "close")
    skynet.kill(small)
end)

test.case("stats and cleanup", function()
    local s = skynet.call(hub, "lua", "stats")
    assert(s.published > 1000, "published " .. s.published)
    test.wait_until(function() return skynet.call(hub, "lua", "stats").clients == 0 end, 300, "clients to go")
    skynet.call(hub, "lua", "close")
    test.eq(os.execute("test -e " .. sh_quote(path)), nil, "socket file removed by close")
    os.execute("rm -rf " .. sh_quote(dir))
end)

test.run(setup)
