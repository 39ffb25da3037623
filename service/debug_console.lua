-- debug_console: a telnet-style console (skynet's commands; type "help").
--
--   skynet.newservice("debug_console", port)                 listens on 127.0.0.1:port
--   skynet.newservice("debug_console", address, port)        listens on address:port
--   ... add the argument "http" to also answer HTTP GET requests (GET /list, GET /call/:0a/"hi")
--
-- Each command prints its result and then "<CMD OK>", or the error and "<CMD Error>". HTTP requests are
-- refused (403) unless enabled, so a browser or a stray web request cannot drive the node. Commands that
-- run code, start or stop services are only accepted from the local host, whatever address is listened
-- on. With HTTP enabled the "Welcome" line comes after the first command line instead of at once. A line
-- over 64 KiB is answered with an error, then the connection is closed (see MAX_LINE).
local skynet = require "skynet"
local codecache = require "skynet.codecache"
local core = require "skynet.core"
local socket = require "skynet.socket"
require "skynet.manager"

local args = table.pack(...)
local http_enabled = false
local positional = {}
for i = 1, args.n do
    local a = args[i]
    if a == "http" or a == "http=on" or a == "http=true" then
        http_enabled = true
    else
        positional[#positional + 1] = a
    end
end
assert(#positional >= 1 and #positional <= 2, "debug_console [address] port [http]")
local listen_ip = #positional == 2 and positional[1] or "127.0.0.1"
local listen_port = assert(tonumber(positional[#positional]), "debug_console: port expected")

local COMMAND = {}
local COMMANDX = {} -- commands that get the raw command line: { line, args..., fd = }
local LOCAL_ONLY = { inject = true, start = true, log = true, snax = true, call = true, setenv = true,
    dbg = true, dbgcmd = true, kill = true, exit = true, signal = true, killtask = true }

local function format_table(t)
    local keys = {}
    for k in pairs(t) do
        keys[#keys + 1] = k
    end
    table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
    local parts = {}
    for _, k in ipairs(keys) do
        parts[#parts + 1] = string.format("%s:%s", k, tostring(t[k]))
    end
    return table.concat(parts, "\t")
end

local function dump_list(print, list)
    local keys = {}
    for k in pairs(list) do
        keys[#keys + 1] = k
    end
    table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
    for _, k in ipairs(keys) do
        local v = list[k]
        if type(v) == "table" then
            print(k, format_table(v))
        else
            print(k, tostring(v))
        end
    end
end

local function split_words(line)
    local words = {}
    for w in line:gmatch("%S+") do
        words[#words + 1] = w
    end
    return words
end

local function is_local_peer(addr)
    if addr == nil then
        return true
    end
    local ip = addr:match("^(.*):%d+$") or addr
    return ip:match("^127%.") ~= nil or ip == "::1" or ip:match("^::ffff:127%.") ~= nil
end

-- Runs one command line, printing through `print`; returns true when it succeeded.
local function docmd(line, print, fd, peer)
    local words = split_words(line)
    local name = words[1]
    local ok, result
    local cmd = COMMAND[name]
    local cmdx = COMMANDX[name]
    if not cmd and not cmdx then
        print("Invalid command, type help for command list")
        print("<CMD Error>")
        return false
    end
    if LOCAL_ONLY[name] and not is_local_peer(peer) then
        print("Command '" .. name .. "' is only allowed from the local host")
        print("<CMD Error>")
        return false
    end
    if cmd then
        ok, result = pcall(cmd, table.unpack(words, 2))
    else
        words.fd = fd
        words[1] = line
        ok, result = pcall(cmdx, words)
    end
    if ok then
        if result ~= nil then
            if type(result) == "table" then
                dump_list(print, result)
            else
                print(tostring(result))
            end
        end
        print("<CMD OK>")
        return true
    end
    print(tostring(result))
    print("<CMD Error>")
    return false
end

---------------------------------------------------------------------------- HTTP

local HTTP_METHODS = { GET = true, POST = true, HEAD = true, PUT = true, DELETE = true, OPTIONS = true,
    PATCH = true, CONNECT = true, TRACE = true }

local function http_request_line(line)
    local method, target = line:match("^(%u+) (%S+) HTTP/%d")
    if method and HTTP_METHODS[method] then
        return method, target
    end
end

local function url_decode(s)
    return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

local function http_reply(fd, status, body)
    socket.write(fd, string.format(
        "HTTP/1.1 %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
        status, #body, body))
end

local function serve_http(fd, peer, method, target, readline)
    -- the request headers are read and ignored; a bounded number of lines. A header over MAX_LINE ends
    -- them too: the request is answered as it is, and the connection is closed after the answer anyway.
    for _ = 1, 100 do
        local h = readline()
        if not h or h == "" or h == "\r" then
            break
        end
    end
    if not http_enabled then
        skynet.error("debug console: HTTP request refused from " .. tostring(peer))
        http_reply(fd, "403 Forbidden", "HTTP access to the debug console is disabled.\n")
        return
    end
    if method ~= "GET" then
        http_reply(fd, "405 Method Not Allowed", "Only GET is supported.\n")
        return
    end
    local path = url_decode((target:match("^[^?]*")))
    local line = path:sub(2):gsub("/", " ")
    local out = {}
    local function collect(...)
        local t = table.pack(...)
        for i = 1, t.n do
            t[i] = tostring(t[i])
        end
        out[#out + 1] = table.concat(t, "\t", 1, t.n)
    end
    if line == "" then
        line = "help"
    end
    local ok = docmd(line, collect, fd, peer)
    http_reply(fd, ok and "200 OK" or "400 Bad Request", table.concat(out, "\n") .. "\n")
end

---------------------------------------------------------------------------- the console

-- The longest line a client may send, in bytes before its "\n". socket.readline would keep buffering a
-- line that never ends for as long as the client sends; past this the connection gets an error and is
-- closed, and no more than this plus one read is ever held for one connection.
local MAX_LINE = 64 * 1024

-- Returns readline(): the next line without its "\n"; nil when the peer closed (an unfinished last line
-- is dropped, as socket.readline does); nil, "too long" once a line passes MAX_LINE. Lines are cut from
-- what socket.read returns, and an unfinished line is kept as a list of pieces, so a line that arrives
-- a byte at a time costs no more than one that arrives at once.
local function line_reader(fd)
    local chunk, pos = "", 1          -- the data read last, and where its unused part starts
    local head, head_size = {}, 0     -- the start of the current line, from earlier reads
    return function()
        while true do
            local nl = chunk:find("\n", pos, true)
            if nl then
                local tail = chunk:sub(pos, nl - 1)
                pos = nl + 1
                if head_size + #tail > MAX_LINE then
                    return nil, "too long"
                end
                if head_size == 0 then
                    return tail
                end
                head[#head + 1] = tail
                local line = table.concat(head)
                head, head_size = {}, 0
                return line
            end
            if pos <= #chunk then
                head[#head + 1] = chunk:sub(pos)
                head_size = head_size + #chunk - pos + 1
                if head_size > MAX_LINE then
                    return nil, "too long"
                end
            end
            chunk, pos = "", 1
            local data = socket.read(fd)
            if not data then
                return nil
            end
            chunk = data
        end
    end
end

local function console_main_loop(fd, print, peer)
    -- With HTTP enabled the greeting waits for the first line, so that an HTTP client gets a clean
    -- response; a telnet user sees it with the answer to the first command.
    local welcomed = false
    if not http_enabled then
        print("Welcome to skynet console")
        welcomed = true
    end
    skynet.error(peer, "connected")
    local readline = line_reader(fd)
    local ok, err = pcall(function()
        while true do
            local line, why = readline()
            if not line then
                if why == "too long" then
                    -- <CMD Error> too, so that a client that waits for the end of each answer stops waiting.
                    print(string.format("Line too long (the limit is %d bytes); closing the connection", MAX_LINE))
                    print("<CMD Error>")
                    skynet.error(string.format("debug console: a line over %d bytes from %s; connection closed",
                        MAX_LINE, tostring(peer)))
                end
                break
            end
            line = line:gsub("\r$", "")
            local method, target = http_request_line(line)
            if method then
                serve_http(fd, peer, method, target, readline)
                break
            end
            if not welcomed then
                print("Welcome to skynet console")
                welcomed = true
            end
            if line ~= "" then
                docmd(line, print, fd, peer)
            end
        end
    end)
    if not ok then
        skynet.error(peer, err)
    end
    skynet.error(peer, "disconnected")
    socket.close(fd)
end

skynet.start(function()
    local listen_fd, ip, port = socket.listen(listen_ip, listen_port)
    skynet.error("Start debug console at " .. tostring(ip) .. ":" .. tostring(port))
    socket.start(listen_fd, function(fd, addr)
        local function print(...)
            local t = table.pack(...)
            for i = 1, t.n do
                t[i] = tostring(t[i])
            end
            socket.write(fd, table.concat(t, "\t", 1, t.n) .. "\n")
        end
        socket.start(fd)
        skynet.fork(console_main_loop, fd, print, addr)
    end)
end)

---------------------------------------------------------------------------- commands

local function adjust_address(address)
    assert(address, "Need an address")
    local prefix = address:sub(1, 1)
    if prefix == "." then
        return assert(skynet.localname(address), "Not a valid name")
    elseif prefix ~= ":" then
        return assert(tonumber("0x" .. address), "Need an address") | (skynet.harbor(skynet.self()) << 24)
    end
    return assert(tonumber(address:sub(2), 16), "Need an address")
end

function COMMAND.help()
    return {
        help = "This help message",
        list = "List all the service",
        stat = "Dump all stats",
        info = "info address : get service infomation",
        exit = "exit address : kill a lua service",
        kill = "kill address : kill service",
        mem = "mem : show memory status",
        gc = "gc : force every lua service do garbage collect",
        start = "lanuch a new lua service",
        snax = "lanuch a new snax service",
        clearcache = "clear lua code cache",
        service = "List unique service",
        task = "task address : show service task detail",
        uniqtask = "task address : show service unique task detail",
        killtask = "killtask address threadname : threadname listed by task",
        inject = "inject address luascript.lua",
        logon = "logon address",
        logoff = "logoff address",
        log = "launch a new lua service with log",
        signal = "signal address sig",
        cmem = "Show C memory info",
        ping = "ping address",
        call = "call address ...",
        trace = "trace address [proto] [on|off]",
        netstat = "netstat : show netstat",
        dbg = "dbg address cmd ... : run a debug command of a service",
        getenv = "getenv key",
        setenv = "setenv key value",
    }
end

function COMMAND.clearcache()
    codecache.clear()
end

function COMMAND.start(...)
    local ok, addr = pcall(skynet.newservice, ...)
    if ok then
        if addr then
            return { [skynet.address(addr)] = ... }
        end
        return "Exit"
    end
    return "Failed"
end

function COMMAND.log(...)
    local ok, addr = pcall(skynet.call, ".launcher", "lua", "LOGLAUNCH", "snlua", ...)
    if ok and addr then
        return { [skynet.address(addr)] = ... }
    end
    return "Failed"
end

function COMMAND.snax(...)
    local snax = require "skynet.snax"
    local ok, s = pcall(snax.newservice, ...)
    if ok then
        return { [skynet.address(s.handle)] = ... }
    end
    return "Failed"
end

function COMMAND.service()
    return skynet.call("SERVICE", "lua", "LIST")
end

function COMMAND.list()
    return skynet.call(".launcher", "lua", "LIST")
end

-- A console command's optional timeout argument (centiseconds); 3 s when absent, none when <= 0.
local function timeout(ti)
    if ti then
        ti = tonumber(ti)
        if ti and ti <= 0 then
            ti = nil
        end
        return ti
    end
    return 300
end

function COMMAND.stat(ti)
    return skynet.call(".launcher", "lua", "STAT", timeout(ti))
end

function COMMAND.mem(ti)
    return skynet.call(".launcher", "lua", "MEM", timeout(ti))
end

function COMMAND.kill(address)
    return skynet.call(".launcher", "lua", "KILL", adjust_address(address))
end

function COMMAND.gc(ti)
    return skynet.call(".launcher", "lua", "GC", timeout(ti))
end

function COMMAND.exit(address)
    skynet.send(adjust_address(address), "debug", "EXIT")
end

function COMMAND.inject(address, filename, ...)
    address = adjust_address(address)
    assert(filename, "inject address luascript.lua")
    local f = io.open(filename, "rb")
    if not f then
        return "Can't open " .. filename
    end
    local source = f:read "a"
    f:close()
    local ok, output = skynet.call(address, "debug", "RUN", source, filename, ...)
    if ok == false then
        error(output)
    end
    return output
end

function COMMAND.dbgcmd(address, cmd, ...)
    address = adjust_address(address)
    assert(cmd, "dbg address cmd ...")
    return skynet.call(address, "debug", cmd, ...)
end
COMMAND.dbg = COMMAND.dbgcmd

function COMMAND.task(address)
    return COMMAND.dbgcmd(address, "TASK")
end

function COMMAND.uniqtask(address)
    return COMMAND.dbgcmd(address, "UNIQTASK")
end

function COMMAND.killtask(address, threadname)
    return COMMAND.dbgcmd(address, "KILLTASK", threadname)
end

function COMMAND.info(address, ...)
    return COMMAND.dbgcmd(address, "INFO", ...)
end

function COMMAND.logon(address)
    core.command("LOGON", skynet.address(adjust_address(address)))
end

function COMMAND.logoff(address)
    core.command("LOGOFF", skynet.address(adjust_address(address)))
end

function COMMAND.signal(address, sig)
    address = skynet.address(adjust_address(address))
    if sig then
        core.command("SIGNAL", string.format("%s %d", address, math.tointeger(tonumber(sig)) or 0))
    else
        core.command("SIGNAL", address)
    end
end

function COMMAND.cmem()
    local ok, memory = pcall(require, "skynet.memory")
    if not ok then
        return "C memory statistics are not available"
    end
    local info = {}
    if memory.info then
        for k, v in pairs(memory.info()) do
            info[skynet.address(k)] = v
        end
    end
    -- whichever process totals this build's skynet.memory offers
    if memory.total then
        info.total = memory.total()
    end
    if memory.block then
        info.block = memory.block()
    end
    return info
end

function COMMAND.ping(address)
    address = adjust_address(address)
    local ti = skynet.now()
    skynet.call(address, "debug", "PING")
    return tostring(skynet.now() - ti)
end

local function toboolean(x)
    return x and (x == "true" or x == "on")
end

function COMMAND.trace(address, proto, flag)
    address = adjust_address(address)
    if flag == nil then
        if proto == "on" or proto == "off" then
            proto = toboolean(proto)
        end
    else
        flag = toboolean(flag)
    end
    skynet.call(address, "debug", "TRACELOG", proto, flag)
end

function COMMAND.getenv(key)
    assert(key, "getenv key")
    return tostring(skynet.getenv(key))
end

function COMMAND.setenv(key, ...)
    assert(key, "setenv key value")
    skynet.setenv(key, table.concat({ ... }, " "))
end

-- call address args... : the arguments are a Lua expression list, evaluated with no globals.
function COMMANDX.call(cmd)
    local address = adjust_address(cmd[2])
    local rest = assert(cmd[1]:match("%S+%s+%S+%s(.+)"), "need arguments")
    local f = assert(load("return " .. rest, "debug console", "t", {}), "Invalid arguments")
    local argv = table.pack(pcall(f))
    if not argv[1] then
        error(argv[2])
    end
    return table.pack(skynet.call(address, "lua", table.unpack(argv, 2, argv.n)))
end

local function bytes(size)
    if size == nil or size == 0 then
        return
    end
    if size < 1024 then
        return size
    end
    if size < 1024 * 1024 then
        return tostring(size / 1024) .. "K"
    end
    return tostring(size / (1024 * 1024)) .. "M"
end

local function convert_stat(info)
    local now = skynet.now()
    local function time(t)
        if t == nil then
            return
        end
        t = now - t
        if t < 6000 then
            return tostring(t / 100) .. "s"
        end
        local hour = t // (100 * 60 * 60)
        t = t - hour * 100 * 60 * 60
        local min = t // (100 * 60)
        t = t - min * 100 * 60
        return string.format("%s%d:%.2gs", hour == 0 and "" or (hour .. ":"), min, t / 100)
    end
    info.address = skynet.address(info.address)
    info.read = bytes(info.read)
    info.write = bytes(info.write)
    info.wbuffer = bytes(info.wbuffer)
    info.rtime = time(info.rtime)
    info.wtime = time(info.wtime)
end

function COMMAND.netstat()
    local stat = socket.netstat()
    for _, info in ipairs(stat) do
        convert_stat(info)
    end
    return stat
end
