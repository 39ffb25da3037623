-- CHAT_HUB (examples/chat/chat_message_hub.lua) driven through its Lua API and its "chat" protocol, the
-- way the tutorial's clients use it: create/join answers and errors, broadcast to the others only, join
-- notices, history (limit 1,000, delivered on join), leave, rename, listing, disconnect cleanup.
local skynet = require "skynet"
local test = require "testlib"

skynet.register_protocol {
    name = "chat",
    id = 25,
    pack = skynet.pack,
    unpack = skynet.unpack,
}

local function hub(...)
    return skynet.call("CHAT_HUB", "lua", ...)
end

local function new_probe()
    return skynet.newservice("chat_probe")
end

local function join(probe, user, room, n)
    return skynet.call(probe, "lua", "join", user, room, n)
end

local function say(probe, user, room, text)
    skynet.call(probe, "lua", "say", user, room, text)
end

local function take(probe)
    return skynet.call(probe, "lua", "take")
end

local function wait_count(probe, n, what)
    test.wait_until(function()
        return skynet.call(probe, "lua", "count") >= n
    end, 500, what)
end

local function of_type(list, t)
    local r = {}
    for _, m in ipairs(list) do
        if m.type == t then
            r[#r + 1] = m
        end
    end
    return r
end

local function kill_all(...)
    for _, p in ipairs({ ... }) do
        skynet.kill(p)
    end
end

test.case("create_room: true, then false and 'Room exists'", function()
    local ok, err = hub("create_room", "c_room")
    test.eq(ok, true, "first create")
    test.eq(err, nil, "no error")
    ok, err = hub("create_room", "c_room")
    test.eq(ok, false, "second create")
    test.eq(err, "Room exists", "error")
end)

test.case("join_room of an unknown room: false and 'Room not found'", function()
    local ok, err = hub("join_room", "u1", "no_such_room", skynet.self())
    test.eq(ok, false, "answer")
    test.eq(err, "Room not found", "error")
end)

test.case("join notices reach every member, the joiner too (as in the tutorial)", function()
    assert(hub("create_room", "j_room"))
    local a, b = new_probe(), new_probe()
    test.eq(join(a, "ja", "j_room"), true, "a joins")
    test.eq(join(b, "jb", "j_room"), true, "b joins")
    wait_count(a, 2, "a to see both joins")
    wait_count(b, 1, "b to see its join")
    local seen_a = of_type(take(a), "join")
    test.eq(#seen_a, 2, "joins seen by a")
    test.eq(seen_a[1].user, "ja", "a's own join")
    test.eq(seen_a[2].user, "jb", "b's join, seen by a")
    test.eq(seen_a[2].room, "j_room", "room of the notice")
    assert(math.abs(seen_a[2].time - skynet.time()) < 5, "time of the notice: " .. tostring(seen_a[2].time))
    local seen_b = of_type(take(b), "join")
    test.eq(#seen_b, 1, "joins seen by b")
    test.eq(seen_b[1].user, "jb", "b's own join")
    kill_all(a, b)
end)

test.case("a chat message reaches the room's other members only, with type, user, text and time", function()
    assert(hub("create_room", "b_room"))
    assert(hub("create_room", "b_other"))
    local a, b, c, d = new_probe(), new_probe(), new_probe(), new_probe()
    assert(join(a, "ba", "b_room"))
    assert(join(b, "bb", "b_room"))
    assert(join(c, "bc", "b_room"))
    assert(join(d, "bd", "b_other"))
    wait_count(a, 3, "the joins")
    for _, p in ipairs({ a, b, c, d }) do
        take(p)
    end
    say(a, "ba", "b_room", "hello room")
    wait_count(b, 1, "b to get the message")
    wait_count(c, 1, "c to get the message")
    for _, p in ipairs({ b, c }) do
        local got = take(p)
        test.eq(#got, 1, "messages")
        local m = got[1]
        test.eq(m.type, "chat", "type")
        test.eq(m.user, "ba", "user")
        test.eq(m.text, "hello room", "text")
        test.eq(m.room, "b_room", "room")
        assert(math.type(m.time) == "float" and math.abs(m.time - skynet.time()) < 5, "time " .. tostring(m.time))
    end
    -- the hub sent to b and c before answering this, so anything for a or d is queued before our count
    hub("list_rooms")
    test.eq(skynet.call(a, "lua", "count"), 0, "messages back to the sender")
    test.eq(skynet.call(d, "lua", "count"), 0, "messages to another room")
    kill_all(a, b, c, d)
end)

test.case("chat by call: true, or false with 'Room not found', 'Not in room', 'Invalid text'", function()
    assert(hub("create_room", "k_room"))
    local a, b = new_probe(), new_probe()
    assert(join(a, "ka", "k_room"))
    assert(join(b, "kb", "k_room"))
    wait_count(a, 2, "joins")
    take(a)
    take(b)
    test.eq(skynet.call("CHAT_HUB", "chat", "message", "kb", "k_room", "by call"), true, "member")
    local ok, err = skynet.call("CHAT_HUB", "chat", "message", "kb", "k_nowhere", "x")
    test.eq(ok, false, "unknown room")
    test.eq(err, "Room not found", "unknown room error")
    ok, err = skynet.call("CHAT_HUB", "chat", "message", "stranger", "k_room", "x")
    test.eq(ok, false, "not a member")
    test.eq(err, "Not in room", "not a member error")
    ok, err = skynet.call("CHAT_HUB", "chat", "message", "kb", "k_room", { "not", "text" })
    test.eq(ok, false, "a table as text")
    test.eq(err, "Invalid text", "a table as text error")
    -- refused messages reach nobody and stay out of the history
    wait_count(a, 1, "the accepted message")
    hub("list_rooms")
    local got = take(a)
    test.eq(#got, 1, "messages a got")
    test.eq(got[1].text, "by call", "text")
    test.eq(#hub("get_history", "k_room"), 1, "history length")
    kill_all(a, b)
end)

test.case("history keeps the last 1,000 messages; a joiner gets it after the join answer", function()
    assert(hub("create_room", "h_room"))
    local a = new_probe()
    assert(join(a, "ha", "h_room"))
    for i = 1, 1005 do
        skynet.send("CHAT_HUB", "chat", "message", "ha", "h_room", "m" .. i)
    end
    local history = hub("get_history", "h_room")
    test.eq(#history, 1000, "history length")
    test.eq(history[1].text, "m6", "oldest kept")
    test.eq(history[1000].text, "m1005", "newest")
    test.eq(history[1].type, "chat", "type of a history entry")
    test.eq(history[1].user, "ha", "user of a history entry")
    local last3 = hub("get_history", "h_room", 3)
    test.eq(#last3, 3, "get_history with a count")
    test.eq(last3[1].text, "m1003", "first of the last three")

    local b = new_probe()
    test.eq(join(b, "hb", "h_room"), true, "b joins")
    wait_count(b, 2, "b's join notice and the history")
    local got = take(b)
    test.eq(got[1].type, "join", "first the join notice")
    test.eq(got[2].type, "history", "then the history")
    test.eq(got[2].room, "h_room", "history room")
    test.eq(#got[2].messages, 1000, "history delivered")
    for i = 1, 1000 do
        if got[2].messages[i].text ~= "m" .. (i + 5) then
            error("history entry " .. i .. " is " .. tostring(got[2].messages[i].text))
        end
    end

    local c = new_probe()
    assert(join(c, "hc", "h_room", 10))
    wait_count(c, 2, "c's history")
    local hist = of_type(take(c), "history")[1]
    test.eq(#hist.messages, 10, "history_count 10")
    test.eq(hist.messages[10].text, "m1005", "newest of the ten")

    local d = new_probe()
    assert(join(d, "hd", "h_room", 0))
    wait_count(a, 4, "a to see three more joins") -- a's own join, then hb, hc, hd
    hub("list_rooms")
    test.eq(#of_type(take(d), "history"), 0, "history_count 0 sends no history")
    kill_all(a, b, c, d)
end)

test.case("a new room's history is empty; joining twice changes nothing", function()
    assert(hub("create_room", "e_room"))
    local a = new_probe()
    assert(join(a, "ea", "e_room"))
    wait_count(a, 2, "join and history")
    local got = take(a)
    test.eq(#got[2].messages, 0, "empty history")
    test.eq(join(a, "ea", "e_room"), true, "second join")
    hub("list_rooms")
    test.eq(skynet.call(a, "lua", "count"), 0, "no second notice or history")
    local members = hub("list_members", "e_room")
    test.eq(#members, 1, "members")
    kill_all(a)
end)

test.case("messages of each sender arrive in order", function()
    assert(hub("create_room", "o_room"))
    local a, b, c = new_probe(), new_probe(), new_probe()
    assert(join(a, "oa", "o_room", 0))
    assert(join(b, "ob", "o_room", 0))
    assert(join(c, "oc", "o_room", 0))
    wait_count(a, 3, "joins")
    take(a)
    take(b)
    take(c)
    for i = 1, 500 do
        skynet.send("CHAT_HUB", "chat", "message", "oa", "o_room", "a" .. i)
        skynet.send("CHAT_HUB", "chat", "message", "ob", "o_room", "b" .. i)
    end
    wait_count(c, 1000, "c to get 1000 messages")
    local next_of = { oa = 1, ob = 1 }
    for _, m in ipairs(take(c)) do
        local want = (m.user == "oa" and "a" or "b") .. next_of[m.user]
        test.eq(m.text, want, "message from " .. m.user)
        next_of[m.user] = next_of[m.user] + 1
    end
    kill_all(a, b, c)
end)

test.case("leave_room: the others are told, the leaver gets nothing more; errors", function()
    assert(hub("create_room", "l_room"))
    local a, b = new_probe(), new_probe()
    assert(join(a, "la", "l_room"))
    assert(join(b, "lb", "l_room"))
    wait_count(a, 2, "joins")
    take(a)
    take(b)
    test.eq(hub("leave_room", "lb", "l_room"), true, "leave")
    wait_count(a, 1, "a to hear of the leave")
    local m = take(a)[1]
    test.eq(m.type, "leave", "type")
    test.eq(m.user, "lb", "user")
    test.eq(m.room, "l_room", "room")
    test.eq(m.reason, "leave", "reason")
    local ok, err = hub("leave_room", "lb", "l_room")
    test.eq(ok, false, "leave again")
    test.eq(err, "Not in room", "leave again error")
    ok, err = hub("leave_room", "lb", "l_nowhere")
    test.eq(ok, false, "leave an unknown room")
    test.eq(err, "Room not found", "unknown room error")
    say(a, "la", "l_room", "after the leave")
    test.eq(#hub("get_history", "l_room"), 1, "message stored")
    test.eq(skynet.call(b, "lua", "count"), 0, "messages to the one who left")
    local members = hub("list_members", "l_room")
    test.eq(#members, 1, "members left")
    test.eq(members[1], "la", "member")
    kill_all(a, b)
end)

test.case("disconnect leaves every room, the others are told, the name is free", function()
    assert(hub("create_room", "d_one"))
    assert(hub("create_room", "d_two"))
    local a, b, c = new_probe(), new_probe(), new_probe()
    assert(join(a, "da", "d_one", 0))
    assert(join(a, "da", "d_two", 0))
    assert(join(b, "db", "d_one", 0))
    assert(join(c, "dc", "d_two", 0))
    wait_count(b, 1, "joins")
    wait_count(c, 1, "joins")
    take(b)
    take(c)
    test.eq(hub("disconnect", "da"), true, "disconnect")
    wait_count(b, 1, "b to hear of it")
    wait_count(c, 1, "c to hear of it")
    for _, p in ipairs({ b, c }) do
        local m = take(p)[1]
        test.eq(m.type, "leave", "type")
        test.eq(m.user, "da", "user")
        test.eq(m.reason, "disconnect", "reason")
    end
    test.eq(#hub("list_members", "d_one"), 1, "d_one members")
    test.eq(#hub("list_members", "d_two"), 1, "d_two members")
    local ok, err = hub("disconnect", "da")
    test.eq(ok, false, "disconnect again")
    test.eq(err, "User not found", "error")
    -- the name can be taken by another session now
    test.eq(join(c, "da", "d_one", 0), true, "name reused")
    test.eq(hub("disconnect", "dc", "quit"), true, "disconnect with a reason")
    kill_all(a, b, c)
end)

test.case("a member service that ends leaves its rooms (the hub watches sessions)", function()
    assert(hub("create_room", "w_room"))
    local a, b = new_probe(), new_probe()
    assert(join(a, "wa", "w_room", 0))
    assert(join(a, "wa2", "w_room", 0))
    assert(join(b, "wb", "w_room", 0))
    wait_count(b, 1, "join")
    take(b)
    skynet.kill(a)
    wait_count(b, 2, "b to hear that wa and wa2 left")
    local got = take(b)
    local users = {}
    for _, m in ipairs(got) do
        test.eq(m.type, "leave", "type")
        test.eq(m.reason, "disconnect", "reason")
        users[m.user] = true
    end
    assert(users.wa and users.wa2, "leave notices for wa and wa2")
    local members = hub("list_members", "w_room")
    test.eq(#members, 1, "members")
    test.eq(members[1], "wb", "member")
    test.eq(hub("login", "wa", b), true, "the dead session's name is free")
    kill_all(b)
end)

test.case("list_rooms and list_members", function()
    local before = #hub("list_rooms")
    assert(hub("create_room", "r_a"))
    assert(hub("create_room", "r_b"))
    local a, b = new_probe(), new_probe()
    assert(join(a, "rz", "r_a", 0))
    assert(join(b, "ry", "r_a", 0))
    local list = hub("list_rooms")
    test.eq(#list, before + 2, "rooms")
    local by_name = {}
    for i, r in ipairs(list) do
        by_name[r.room] = r.users
        if i > 1 then
            assert(tostring(list[i - 1].room) < tostring(r.room), "sorted by name")
        end
    end
    test.eq(by_name.r_a, 2, "users of r_a")
    test.eq(by_name.r_b, 0, "users of r_b")
    local members = hub("list_members", "r_a")
    test.eq(table.concat(members, ","), "ry,rz", "members, sorted")
    local ok, err = hub("list_members", "r_nowhere")
    test.eq(ok, false, "unknown room")
    test.eq(err, "Room not found", "error")
    ok, err = hub("get_history", "r_nowhere")
    test.eq(ok, false, "history of an unknown room")
    test.eq(err, "Room not found", "error")
    kill_all(a, b)
end)

test.case("login and rename_user: one session per name, rename notices to the others", function()
    local a, b = new_probe(), new_probe()
    test.eq(hub("login", "n_a", a), true, "login")
    test.eq(hub("login", "n_a", a), true, "login again, same session")
    local ok, err = hub("login", "n_a", b)
    test.eq(ok, false, "login of a taken name")
    test.eq(err, "Name in use", "error")
    assert(hub("create_room", "n_room"))
    ok, err = join(b, "n_a", "n_room")
    test.eq(ok, false, "join with a taken name")
    test.eq(err, "Name in use", "error")
    assert(join(a, "n_a", "n_room", 0))
    assert(join(b, "n_b", "n_room", 0))
    wait_count(a, 2, "joins")
    take(a)
    take(b)
    ok, err = hub("rename_user", "n_a", "n_b")
    test.eq(ok, false, "rename to a taken name")
    test.eq(err, "Name in use", "error")
    ok, err = hub("rename_user", "n_nobody", "n_c")
    test.eq(ok, false, "rename of an unknown user")
    test.eq(err, "User not found", "error")
    test.eq(hub("rename_user", "n_a", "n_c"), true, "rename")
    wait_count(b, 1, "the rename notice")
    local m = take(b)[1]
    test.eq(m.type, "rename", "type")
    test.eq(m.user, "n_a", "old name")
    test.eq(m.new, "n_c", "new name")
    test.eq(m.room, "n_room", "room")
    test.eq(table.concat(hub("list_members", "n_room"), ","), "n_b,n_c", "members after the rename")
    say(a, "n_c", "n_room", "new name talks")
    wait_count(b, 1, "the message")
    test.eq(take(b)[1].user, "n_c", "sender")
    test.eq(hub("login", "n_a", b), true, "the old name is free")
    kill_all(a, b)
end)

test.case("the tutorial's client code, with the hub's handle", function()
    local chat_hub = skynet.query("CHAT_HUB")
    assert(chat_hub, "CHAT_HUB is registered")
    local ok = skynet.call(chat_hub, "lua", "create_room", "t_room")
    test.eq(ok, true, "create_room")
    local a, b = new_probe(), new_probe()
    assert(join(a, "ta", "t_room", 0))
    assert(join(b, "tb", "t_room", 0))
    wait_count(a, 2, "joins")
    take(a)
    skynet.send(chat_hub, "chat", "message", "tb", "t_room", "via the handle")
    wait_count(a, 1, "the message")
    local m = take(a)[1]
    test.eq(m.text, "via the handle", "text")
    test.eq(m.user, "tb", "user")
    kill_all(a, b)
end)

test.case("bad arguments and unknown commands", function()
    local ok, err = hub("create_room", nil)
    test.eq(ok, false, "create_room without a room")
    test.eq(err, "Invalid room id", "error")
    assert(hub("create_room", 42), "a number is a room id")
    ok, err = hub("join_room", nil, 42, skynet.self())
    test.eq(ok, false, "join without a user")
    test.eq(err, "Invalid user id", "error")
    test.raises("call failed", hub, "no_such_command")
    test.raises("call failed", skynet.call, "CHAT_HUB", "chat", "no_such_message")
    -- the hub is still there
    assert(type(hub("list_rooms")) == "table")
end)

test.run(function()
    skynet.newservice("chat_message_hub")
end)
