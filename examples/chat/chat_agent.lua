-- chat_agent: one per TCP connection. Reads the client's lines, turns commands into CHAT_HUB calls and
-- everything else into chat messages of the current room, and writes what the hub sends as text lines.
-- Started by chat_watchdog: skynet.call(agent, "lua", "start", { fd =, addr =, watchdog =, guest = }).
local skynet = require "skynet"
local socket = require "skynet.socket"

local MAX_LINE = 4096        -- bytes per line, not counting "\n" or "\r\n"
local HISTORY_SHOWN = 50     -- the last messages of a room shown on /join
local MAX_UNSENT_KB = 8192   -- a client that leaves more output than this unread is disconnected
local NAME_PATTERN = "^[%w_%-]+$"
local NAME_MAX = 32

skynet.register_protocol {
    name = "chat",
    id = 25,
    pack = skynet.pack,
    unpack = skynet.unpack,
}

local hub = "CHAT_HUB"
local fd, peer, watchdog
local nick
local joined = {}   -- room -> true
local order = {}    -- rooms in the order they were joined (the current one is the last)
local current       -- the room plain lines are said to
local done = false  -- no more output: the client quit or went away
local history_wait = {} -- room -> the coroutine of a /join waiting for the room's history

local function send_line(text)
    if not done then
        socket.write(fd, text .. "\n")
    end
end

local function info(text)
    send_line("* " .. text)
end

local function fail(text)
    send_line("error: " .. text)
end

-- Control characters (escape sequences...) from other clients are not passed to terminals.
local function printable(text)
    return (text:gsub("[\0-\8\11-\31\127]", "?"))
end

local function valid_name(name)
    return name ~= nil and #name <= NAME_MAX and name:find(NAME_PATTERN) ~= nil
end

local function set_current(room)
    for i = #order, 1, -1 do
        if order[i] == room then
            table.remove(order, i)
        end
    end
    if joined[room] then
        order[#order + 1] = room
    end
    current = order[#order]
end

---------------------------------------------------------------------------------------------------
-- What the hub sends

local SHOW = {}

function SHOW.chat(m)
    send_line(string.format("[%s] %s: %s", m.room, m.user, printable(m.text)))
end

function SHOW.join(m)
    if m.user ~= nick then -- our own join is confirmed by the answer to join_room
        send_line(string.format("[%s] * %s joined", m.room, m.user))
    end
end

local LEFT = { leave = "left", quit = "quit", disconnect = "disconnected" }

function SHOW.leave(m)
    send_line(string.format("[%s] * %s %s", m.room, m.user, LEFT[m.reason] or "left"))
end

function SHOW.rename(m)
    send_line(string.format("[%s] * %s is now %s", m.room, m.user, m.new))
end

-- The history comes right after the answer to join_room. The /join waits for it (history_wait), so that
-- it is shown before the output of the client's next line.
function SHOW.history(m)
    local list = m.messages
    local first = math.max(1, #list - HISTORY_SHOWN + 1)
    if first <= #list then -- (a new room has nothing to show)
        info(string.format("history of %s: %d message%s", m.room, #list - first + 1,
            #list - first + 1 == 1 and "" or "s"))
        for i = first, #list do
            local h = list[i]
            send_line(string.format("[%s] (%s) %s: %s", m.room, os.date("%H:%M:%S", math.floor(h.time)),
                h.user, printable(h.text)))
        end
    end
    local co = history_wait[m.room]
    if co then
        history_wait[m.room] = nil
        skynet.wakeup(co)
    end
end

skynet.dispatch("chat", function(_, _, cmd, m)
    if cmd == "message" and type(m) == "table" then
        local show = SHOW[m.type]
        if show then
            show(m)
        end
    end
end)

---------------------------------------------------------------------------------------------------
-- The client's commands

local HELP = "commands: /nick name, /create room, /join room, /leave [room], /rooms, /who [room], /quit, "
    .. "/help; any other line is said to the current room (//text says /text); lines up to "
    .. MAX_LINE .. " bytes"

local COMMAND = {}

function COMMAND.help()
    info(HELP)
end

function COMMAND.nick(name)
    if not valid_name(name) then
        return fail("usage: /nick name (1-" .. NAME_MAX .. " letters, digits, _ or -)")
    end
    local ok, err = skynet.call(hub, "lua", "rename_user", nick, name)
    if not ok then
        if err == "Name in use" then
            return fail("nickname in use: " .. name)
        end
        return fail("cannot change nickname: " .. tostring(err))
    end
    nick = name
    info("you are now " .. name)
end

local function join(room, created)
    local ok, err = skynet.call(hub, "lua", "join_room", nick, room, skynet.self(), HISTORY_SHOWN)
    if not ok then
        if err == "Room not found" then
            return fail("no such room: " .. room .. " (/rooms lists them, /create makes one)")
        end
        return fail("cannot join " .. room .. ": " .. tostring(err))
    end
    joined[room] = true
    set_current(room)
    info((created and "created and joined " or "joined ") .. room .. "; you talk in " .. room)
    -- the history (a message of the hub) follows the answer; it cannot have been shown yet, since this
    -- coroutine has not yielded since the answer came
    local me = coroutine.running()
    history_wait[room] = me
    skynet.sleep(300, me)
    history_wait[room] = nil
end

function COMMAND.create(room)
    if not valid_name(room) then
        return fail("usage: /create room (1-" .. NAME_MAX .. " letters, digits, _ or -)")
    end
    local ok, err = skynet.call(hub, "lua", "create_room", room)
    if not ok then
        if err == "Room exists" then
            return fail("room exists: " .. room .. " (/join " .. room .. " to enter it)")
        end
        return fail("cannot create " .. room .. ": " .. tostring(err))
    end
    join(room, true)
end

function COMMAND.join(room)
    if not valid_name(room) then
        return fail("usage: /join room")
    end
    if joined[room] then
        set_current(room)
        return info("you talk in " .. room)
    end
    join(room)
end

function COMMAND.leave(room)
    room = room or current
    if room == nil then
        return fail("you are not in a room")
    end
    local ok, err = skynet.call(hub, "lua", "leave_room", nick, room)
    if not ok then
        if err == "Room not found" then
            return fail("no such room: " .. room)
        end
        return fail("you are not in " .. room)
    end
    joined[room] = nil
    set_current(room)
    if current then
        info("left " .. room .. "; you talk in " .. current)
    else
        info("left " .. room .. "; you are in no room")
    end
end

function COMMAND.rooms()
    local list = skynet.call(hub, "lua", "list_rooms")
    if #list == 0 then
        return info("no rooms yet; /create one")
    end
    local parts = {}
    for _, r in ipairs(list) do
        local mark = r.room == current and "*" or ""
        parts[#parts + 1] = string.format("%s%s (%d)", mark, r.room, r.users)
    end
    info("rooms: " .. table.concat(parts, ", "))
end

function COMMAND.who(room)
    room = room or current
    if room == nil then
        return fail("you are not in a room; /who room names one")
    end
    local members, err = skynet.call(hub, "lua", "list_members", room)
    if not members then
        if err == "Room not found" then
            return fail("no such room: " .. room)
        end
        return fail(tostring(err))
    end
    info(string.format("in %s: %s", room, #members > 0 and table.concat(members, ", ") or "(nobody)"))
end

function COMMAND.quit()
    info("bye")
    done = true -- the last line the client gets
    return "quit"
end

local function say(text)
    if current == nil then
        return fail("you are not in a room; /join or /create one first (/help)")
    end
    skynet.send(hub, "chat", "message", nick, current, text)
end

-- Handles one line; returns "quit" to end the connection.
local function handle(line)
    if line == "" then
        return
    end
    if line:sub(1, 1) ~= "/" then
        return say(line)
    end
    if line:sub(2, 2) == "/" then
        return say(line:sub(2))
    end
    local cmd, rest = line:match("^/(%S*)%s*(.-)%s*$")
    local f = COMMAND[cmd:lower()]
    if not f then
        return fail("unknown command /" .. cmd .. " (/help lists the commands)")
    end
    local arg = rest ~= "" and rest or nil
    if arg and arg:find("%s") then
        return fail("one word expected after /" .. cmd)
    end
    return f(arg)
end

---------------------------------------------------------------------------------------------------
-- The connection

local function too_long()
    fail("line too long (the limit is " .. MAX_LINE .. " bytes); ignored")
end

-- Splits what arrives into lines; a line over MAX_LINE bytes is answered with an error and dropped,
-- however long it gets. Returns "quit" or "closed".
local function serve()
    local buf = ""
    local skipping = false -- inside an overlong line: drop everything up to its end
    while true do
        local data = socket.read(fd)
        if not data then
            if buf ~= "" and not skipping then
                handle((buf:gsub("\r$", ""))) -- the last line, without its newline
            end
            return "closed"
        end
        buf = buf .. data
        local pos = 1
        while true do
            local nl = buf:find("\n", pos, true)
            if not nl then
                break
            end
            local line = buf:sub(pos, nl - 1)
            pos = nl + 1
            if skipping then
                skipping = false
            else
                if line:sub(-1) == "\r" then
                    line = line:sub(1, -2)
                end
                if #line > MAX_LINE then
                    too_long()
                elseif handle(line) == "quit" then
                    return "quit"
                end
            end
        end
        buf = buf:sub(pos)
        if #buf > MAX_LINE + 1 then -- (+1: room for a "\r")
            if not skipping then
                too_long()
                skipping = true
            end
            buf = ""
        end
    end
end

local function finish(how)
    -- leave every room (the others are told), then go
    pcall(skynet.call, hub, "lua", "disconnect", nick, how == "quit" and "quit" or "disconnect")
    done = true
    socket.close(fd)
    skynet.send(watchdog, "lua", "gone", fd)
    skynet.exit()
end

-- A nickname nobody uses yet: guestN, or guestN-2, guestN-3...
local function login(guest)
    local name = "guest" .. guest
    local k = 1
    while true do
        local ok, err = skynet.call(hub, "lua", "login", name, skynet.self())
        if ok then
            return name
        end
        assert(err == "Name in use", err)
        k = k + 1
        name = "guest" .. guest .. "-" .. k
    end
end

local CMD = {}

function CMD.start(conf)
    fd, peer, watchdog = conf.fd, conf.addr, conf.watchdog
    nick = login(conf.guest)
    assert(socket.start(fd), "cannot start the connection")
    socket.warning(fd, function(_, kb)
        if kb > MAX_UNSENT_KB then
            skynet.error(string.format("chat: %s (%s) reads too slowly (%d KB unsent); disconnected",
                nick, peer, kb))
            socket.shutdown(fd)
        end
    end)
    info("welcome to the skynet chat, " .. nick)
    info(HELP)
    skynet.fork(function()
        local ok, how = xpcall(serve, debug.traceback)
        if not ok then
            skynet.error("chat: " .. tostring(how))
        end
        finish(how)
    end)
end

skynet.start(function()
    skynet.dispatch("lua", function(_, _, cmd, ...)
        local f = assert(CMD[cmd], "chat_agent: unknown command " .. tostring(cmd))
        skynet.ret(skynet.pack(f(...)))
    end)
end)
