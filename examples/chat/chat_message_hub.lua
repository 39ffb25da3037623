-- chat_message_hub: the CHAT_HUB of the skynet tutorial (message passing, section 7), plus what a real
-- hub needs. See README.md for the whole API; in short:
--
--   lua  create_room(room)                      -> true | false, "Room exists"
--   lua  join_room(user, room, session [, n])   -> true | false, "Room not found" | "Name in use"
--   lua  leave_room(user, room)                 -> true | false, "Room not found" | "Not in room"
--   lua  login(user [, session])                -> true | false, "Name in use"
--   lua  rename_user(old, new)                  -> true | false, "User not found" | "Name in use"
--   lua  disconnect(user [, reason])            -> true | false, "User not found"
--   lua  list_rooms()                           -> { { room = id, users = count }, ... } by name
--   lua  list_members(room)                     -> { user, ... } sorted | false, "Room not found"
--   lua  get_history(room [, n])                -> { message, ... } oldest first | false, "Room not found"
--   chat "message", user, room, text            -> said to the room's other members (a call answers
--                                                  true | false, "Room not found" | "Not in room" | "Invalid text")
--
-- Members get skynet.send(session, "chat", "message", msg) with msg.type "chat" (room, user, text, time),
-- "join" (room, user, time), "leave" (room, user, reason, time), "rename" (room, user, new, time) or
-- "history" (room, messages, time).
local skynet = require "skynet"
require "skynet.manager" -- not needed here (skynet.register works without it), kept for stock skynet

local HISTORY_LIMIT = 1000

-- room id -> { users = { user id -> session }, history = { first, last, [i] = message } }
local rooms = {}
-- user id -> the session (service address) that gets the user's messages
local user_sessions = {}
-- user id -> { room id -> true }: the rooms a user is in, to leave them all on disconnect
local user_rooms = {}
-- session -> { user id -> true }, and the skynet.watch token that tells us when the session ends
local session_users = {}
local session_watch = {}

-- Work to do once the current request has been answered (join_room's history follows its answer).
local after_reply = {}

local function valid_id(id)
    local t = type(id)
    return (t == "string" and id ~= "") or t == "number"
end

local function valid_session(session)
    local t = type(session)
    return (t == "number" and session ~= 0) or (t == "string" and session ~= "")
end

-- Sends one message to every member of a room but `exclude_user`; the message is packed once.
local function broadcast_to_room(room_id, message, exclude_user)
    local room = rooms[room_id]
    if not room then
        return
    end
    local packed = skynet.packstring("message", message)
    for user_id, session in pairs(room.users) do
        if user_id ~= exclude_user then
            skynet.rawsend(session, "chat", packed)
        end
    end
end

local function add_history(room, message)
    local h = room.history
    h.last = h.last + 1
    h[h.last] = message
    if h.last - h.first + 1 > HISTORY_LIMIT then
        h[h.first] = nil
        h.first = h.first + 1
    end
end

-- The last `n` messages of a room (all of them without n), oldest first.
local function history_of(room, n)
    local h = room.history
    local first = h.first
    if n and h.last - n + 1 > first then
        first = h.last - n + 1
    end
    local list = {}
    for i = first, h.last do
        list[#list + 1] = h[i]
    end
    return list
end

local forget_session

-- Makes `user_id` a known user whose messages go to `session`. A name belongs to one session at a time.
local function claim(user_id, session)
    local current = user_sessions[user_id]
    if current ~= nil then
        return current == session
    end
    user_sessions[user_id] = session
    user_rooms[user_id] = {}
    local users = session_users[session]
    if users == nil then
        users = {}
        session_users[session] = users
        -- When the session's service ends without saying goodbye, its users leave every room.
        -- (skynet.watch is an extension of this framework, spec §8.)
        if skynet.watch then
            session_watch[session] = skynet.watch(session, function()
                forget_session(session)
            end)
        end
    end
    users[user_id] = true
    return true
end

local function unclaim(user_id)
    local session = user_sessions[user_id]
    user_sessions[user_id] = nil
    user_rooms[user_id] = nil
    local users = session_users[session]
    if users then
        users[user_id] = nil
        if next(users) == nil then
            session_users[session] = nil
            local token = session_watch[session]
            session_watch[session] = nil
            if token then
                skynet.unwatch(token)
            end
        end
    end
end

local function leave(user_id, room_id, reason)
    local room = rooms[room_id]
    room.users[user_id] = nil
    user_rooms[user_id][room_id] = nil
    broadcast_to_room(room_id, {
        type = "leave",
        room = room_id,
        user = user_id,
        reason = reason,
        time = skynet.time(),
    }, user_id)
end

-- The user leaves every room (the others are told, with `reason`) and the name is free again.
local function disconnect(user_id, reason)
    local joined = user_rooms[user_id]
    if joined == nil then
        return false
    end
    local ids = {}
    for room_id in pairs(joined) do
        ids[#ids + 1] = room_id
    end
    table.sort(ids, function(a, b) return tostring(a) < tostring(b) end)
    for _, room_id in ipairs(ids) do
        leave(user_id, room_id, reason)
    end
    unclaim(user_id)
    return true
end

function forget_session(session)
    local users = session_users[session]
    if users == nil then
        return
    end
    local ids = {}
    for user_id in pairs(users) do
        ids[#ids + 1] = user_id
    end
    for _, user_id in ipairs(ids) do
        disconnect(user_id, "disconnect")
    end
end

local CMD = {}

function CMD.create_room(_, room_id)
    if not valid_id(room_id) then
        return false, "Invalid room id"
    end
    if rooms[room_id] then
        return false, "Room exists"
    end
    rooms[room_id] = { users = {}, history = { first = 1, last = 0 } }
    return true
end

-- join_room(user_id, room_id, user_session [, history_count]): the room's members (the new one too, as in
-- the tutorial) get a "join" notice; after the answer the new member gets the room's history (the last
-- history_count messages, all of them by default, none with 0).
function CMD.join_room(source, user_id, room_id, user_session, history_count)
    local room = rooms[room_id]
    if not room then
        return false, "Room not found"
    end
    if not valid_id(user_id) then
        return false, "Invalid user id"
    end
    if user_session == nil then
        user_session = source
    end
    if not valid_session(user_session) then
        return false, "Invalid session"
    end
    if not claim(user_id, user_session) then
        return false, "Name in use"
    end
    if room.users[user_id] then
        return true -- already a member: nothing changes
    end
    room.users[user_id] = user_session
    user_rooms[user_id][room_id] = true

    -- Notify room
    broadcast_to_room(room_id, {
        type = "join",
        room = room_id,
        user = user_id,
        time = skynet.time(),
    })

    if history_count ~= 0 then
        local messages = history_of(room, math.tointeger(history_count))
        after_reply[#after_reply + 1] = function()
            skynet.send(user_session, "chat", "message", {
                type = "history",
                room = room_id,
                messages = messages,
                time = skynet.time(),
            })
        end
    end
    return true
end

function CMD.leave_room(_, user_id, room_id)
    local room = rooms[room_id]
    if not room then
        return false, "Room not found"
    end
    if not room.users[user_id] then
        return false, "Not in room"
    end
    leave(user_id, room_id, "leave")
    return true
end

-- login(user_id [, session]): claims a name before joining any room (join_room claims it otherwise).
function CMD.login(source, user_id, session)
    if not valid_id(user_id) then
        return false, "Invalid user id"
    end
    session = session or source
    if not valid_session(session) then
        return false, "Invalid session"
    end
    if not claim(user_id, session) then
        return false, "Name in use"
    end
    return true
end

-- rename_user(old, new): the user keeps its rooms; their other members get a "rename" notice.
function CMD.rename_user(_, old_id, new_id)
    local session = user_sessions[old_id]
    if session == nil then
        return false, "User not found"
    end
    if not valid_id(new_id) then
        return false, "Invalid user id"
    end
    if new_id == old_id then
        return true
    end
    if user_sessions[new_id] ~= nil then
        return false, "Name in use"
    end
    local joined = user_rooms[old_id]
    unclaim(old_id)
    claim(new_id, session)
    local now = skynet.time()
    for room_id in pairs(joined) do
        local room = rooms[room_id]
        room.users[old_id] = nil
        room.users[new_id] = session
        user_rooms[new_id][room_id] = true
        broadcast_to_room(room_id, {
            type = "rename",
            room = room_id,
            user = old_id,
            new = new_id,
            time = now,
        }, new_id)
    end
    return true
end

-- disconnect(user_id [, reason]): leaves every room (others get "leave" with the reason, default
-- "disconnect") and frees the name.
function CMD.disconnect(_, user_id, reason)
    if not disconnect(user_id, reason or "disconnect") then
        return false, "User not found"
    end
    return true
end

function CMD.list_rooms()
    local list = {}
    for room_id, room in pairs(rooms) do
        local n = 0
        for _ in pairs(room.users) do
            n = n + 1
        end
        list[#list + 1] = { room = room_id, users = n }
    end
    table.sort(list, function(a, b) return tostring(a.room) < tostring(b.room) end)
    return list
end

function CMD.list_members(_, room_id)
    local room = rooms[room_id]
    if not room then
        return false, "Room not found"
    end
    local list = {}
    for user_id in pairs(room.users) do
        list[#list + 1] = user_id
    end
    table.sort(list, function(a, b) return tostring(a) < tostring(b) end)
    return list
end

function CMD.get_history(_, room_id, n)
    local room = rooms[room_id]
    if not room then
        return false, "Room not found"
    end
    return history_of(room, math.tointeger(n))
end

-- chat "message": user_id says text in room_id; the room's other members get it, and it is kept in the
-- room's history (the last HISTORY_LIMIT messages).
local function chat_message(user_id, room_id, text)
    local room = rooms[room_id]
    if not room then
        return false, "Room not found"
    end
    if not room.users[user_id] then
        return false, "Not in room"
    end
    if type(text) ~= "string" then
        return false, "Invalid text"
    end
    local message = {
        type = "chat",
        room = room_id,
        user = user_id,
        text = text,
        time = skynet.time(),
    }
    broadcast_to_room(room_id, message, user_id)
    -- Store in history
    add_history(room, message)
    return true
end

skynet.register_protocol {
    name = "chat",
    id = 25,
    pack = skynet.pack,
    unpack = skynet.unpack,
}

skynet.start(function()
    -- Handle Lua commands (admin functions)
    skynet.dispatch("lua", function(session, source, cmd, ...)
        local f = CMD[cmd]
        if not f then
            error("CHAT_HUB: unknown command " .. tostring(cmd))
        end
        if session == 0 then
            f(source, ...)
        else
            skynet.ret(skynet.pack(f(source, ...)))
        end
        for i = 1, #after_reply do
            local later = after_reply[i]
            after_reply[i] = nil
            later()
        end
    end)

    -- Handle chat messages
    skynet.dispatch("chat", function(session, _, cmd, ...)
        if cmd ~= "message" then
            error("CHAT_HUB: unknown chat message " .. tostring(cmd))
        end
        if session == 0 then
            chat_message(...)
        else
            skynet.ret(skynet.pack(chat_message(...)))
        end
    end)

    skynet.register("CHAT_HUB")
end)
