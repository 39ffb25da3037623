-- skynet.socket over Unix domain sockets (our extension): socket.listen("unix:/path") and
-- socket.open("unix:/path"); read/write/close as over TCP; the socket file's life: a stale file is
-- removed before listening, a live listener's path or a path that is not a socket is refused, and the
-- file goes when the listener closes (or its owner ends).
local skynet = require "skynet"
local socket = require "skynet.socket"
local test = require "testlib"

local dir   -- a fresh temporary directory for every path of this file

local function sh_quote(s)
    return "'" .. s:gsub("'", "'\\''") .. "'"
end

local function is_socket(path)
    return os.execute("test -S " .. sh_quote(path)) == true
end

local function exists(path)
    return os.execute("test -e " .. sh_quote(path)) == true
end

local counter = 0
local function fresh_path(name)
    counter = counter + 1
    return string.format("%s/%s%d.sock", dir, name or "s", counter)
end

-- Listens on `path` in this service; accepted ids are queued in the returned list.
local function listen_here(path)
    local accepted = {}
    local id, addr, port = socket.listen("unix:" .. path)
    socket.start(id, function(fd, from)
        accepted[#accepted + 1] = { id = fd, addr = from }
    end)
    local function next_accepted()
        test.wait_until(function() return #accepted > 0 end, 300, "a connection to be accepted")
        return table.remove(accepted, 1)
    end
    return id, next_accepted, addr, port
end

-- A socket file whose process is gone: python binds it and exits without removing it.
local function make_stale_socket(path)
    local ok = os.execute("python3 -c " .. sh_quote(
        "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])") .. " " .. sh_quote(path))
    assert(ok and is_socket(path), "a stale socket file at " .. path)
end

local function setup()
    dir = io.popen("mktemp -d /tmp/skynet-unix-XXXXXX"):read("l")
    assert(dir and #dir > 0, "temporary directory")
end

test.case("listen on a Unix path gives its address; the file is a socket", function()
    local path = fresh_path()
    local id, addr, port = socket.listen("unix:" .. path)
    assert(math.type(id) == "integer", "listen id")
    test.eq(addr, "unix:" .. path, "address")
    test.eq(port, 0, "port")
    assert(is_socket(path), "socket file exists")
    socket.close(id)
end)

test.case("open / accept / readline / read / write / close over a Unix path", function()
    local path = fresh_path()
    local lid, next_accepted = listen_here(path)
    local peer = skynet.newservice("net_peer")
    local cid = skynet.call(peer, "lua", "open", "unix:" .. path)
    assert(cid, "peer connected")
    local a = next_accepted()
    test.eq(a.addr, "unix:" .. path, "accept address")
    test.eq(socket.start(a.id), a.id, "start")
    assert(skynet.call(peer, "lua", "write", cid, "hello\nworld\n12345"))
    test.eq(socket.readline(a.id), "hello", "line 1")
    test.eq(socket.readline(a.id), "world", "line 2")
    test.eq(socket.read(a.id, 5), "12345", "read 5")
    assert(socket.write(a.id, "pong\n"), "write")
    test.eq(skynet.call(peer, "lua", "readline", cid), "pong", "peer reads the reply")
    assert(socket.write(a.id, { "a", "b", 3, "\n" }))
    test.eq(skynet.call(peer, "lua", "readline", cid), "ab3", "table write")
    skynet.call(peer, "lua", "write", cid, "tail")
    skynet.call(peer, "lua", "close", cid)
    local ok, rest = socket.readline(a.id)
    test.eq(ok, false, "readline after the peer closed")
    test.eq(rest, "tail", "what was left")
    socket.close(a.id)
    test.eq(socket.invalid(a.id), true, "invalid after close")
    socket.close(lid)
    skynet.kill(peer)
end)

test.case("both ends in one service; a megabyte arrives whole; readall sees the close", function()
    local path = fresh_path()
    local lid, next_accepted = listen_here(path)
    local fd = socket.open("unix:" .. path)
    assert(fd, "open")
    local a = next_accepted()
    socket.start(a.id)
    local parts = {}
    for i = 1, 1024 do
        parts[i] = string.format("%04d", i % 10000) .. string.rep(string.char(65 + i % 26), 1020)
    end
    local big = table.concat(parts)
    assert(socket.write(fd, big), "write 1 MiB")
    test.eq(socket.read(a.id, #big) == big, true, "the same megabyte")
    socket.write(a.id, "bye")
    socket.close(a.id)
    test.eq(socket.readall(fd), "bye", "readall until the close")
    socket.close(fd)
    socket.close(lid)
end)

test.case("closing the listener removes its file", function()
    local path = fresh_path()
    local lid = listen_here(path)
    assert(is_socket(path), "socket file while listening")
    socket.close(lid)
    test.eq(exists(path), false, "file after close")
    local fd, err = socket.open("unix:" .. path)
    test.eq(fd, nil, "open after the listener closed")
    assert(type(err) == "string" and #err > 0, "reason " .. tostring(err))
end)

test.case("a stale socket file is removed before listening", function()
    local path = fresh_path("stale")
    make_stale_socket(path)
    local fd, err = socket.open("unix:" .. path)
    test.eq(fd, nil, "nobody answers on a stale socket")
    assert(err:lower():find("refused"), "reason: " .. tostring(err))
    local lid, next_accepted = listen_here(path)
    local c = socket.open("unix:" .. path)
    assert(c, "open of the new listener")
    local a = next_accepted()
    socket.start(a.id)
    socket.write(c, "fresh\n")
    test.eq(socket.readline(a.id), "fresh", "line through the new listener")
    socket.close(a.id)
    socket.close(c)
    socket.close(lid)
    test.eq(exists(path), false, "removed at close")
end)

test.case("a path another listener answers on is refused and left working", function()
    local path = fresh_path("busy")
    local peer = skynet.newservice("net_unix_peer")
    local pid, paddr = skynet.call(peer, "lua", "listen", "unix:" .. path)
    assert(pid, "the peer listens")
    test.eq(paddr, "unix:" .. path, "peer's address")
    local err = test.raises("in use", socket.listen, "unix:" .. path)
    assert(err:find(path, 1, true), "the error names the path: " .. err)
    assert(is_socket(path), "the peer's file is still there")
    local c = assert(socket.open("unix:" .. path), "the peer still accepts")
    socket.write(c, "still yours\n")
    test.eq(socket.readline(c), "unix:still yours", "answered by the peer")
    socket.close(c)
    skynet.kill(peer)
end)

test.case("a path that exists as a regular file is refused with a clear error", function()
    local path = fresh_path("regular")
    local f = assert(io.open(path, "w"))
    f:write("precious data")
    f:close()
    local err = test.raises("exists and is not a socket", socket.listen, "unix:" .. path)
    assert(err:find("Listen error", 1, true), "a listen error: " .. err)
    assert(err:find(path, 1, true), "names the path: " .. err)
    f = assert(io.open(path, "r"))
    test.eq(f:read("a"), "precious data", "the file is untouched")
    f:close()
    -- a directory is not a socket either
    local d = fresh_path("dir")
    assert(os.execute("mkdir " .. sh_quote(d)))
    test.raises("exists and is not a socket", socket.listen, "unix:" .. d)
    assert(os.execute("test -d " .. sh_quote(d)), "the directory is untouched")
    -- the node still listens elsewhere
    local ok = fresh_path()
    local lid = listen_here(ok)
    socket.close(lid)
end)

test.case("open of a missing path gives nil and the reason", function()
    local fd, err = socket.open("unix:" .. dir .. "/nobody-here.sock")
    test.eq(fd, nil, "open result")
    assert(err:lower():find("no such file"), "reason: " .. tostring(err))
    local fd2, err2 = socket.open("unix:/nonexistent-dir-for-skynet/x.sock")
    test.eq(fd2, nil, "missing directory")
    assert(type(err2) == "string" and #err2 > 0, "reason " .. tostring(err2))
end)

test.case("malformed paths are refused with a reason", function()
    test.raises("empty unix socket path", socket.listen, "unix:")
    test.raises("longer than", socket.listen, "unix:/tmp/" .. string.rep("x", 200))
    test.raises("NUL", socket.listen, "unix:/tmp/a\0b")
    test.raises("empty unix socket path", socket.open, "unix:")
    test.raises("longer than", socket.open, "unix:/tmp/" .. string.rep("y", 200))
    test.raises("Listen error", socket.listen, "unix:" .. dir .. "/no/such/dir.sock")
end)

test.case("a colon in the path belongs to the path", function()
    local path = fresh_path("with:colon:80")
    local lid, next_accepted, addr = listen_here(path)
    test.eq(addr, "unix:" .. path, "address")
    local c = assert(socket.open("unix:" .. path), "open")
    local a = next_accepted()
    socket.start(a.id)
    socket.write(c, "colon\n")
    test.eq(socket.readline(a.id), "colon", "line")
    socket.close(a.id)
    socket.close(c)
    socket.close(lid)
    test.eq(exists(path), false, "removed")
end)

test.case("with a port, unix: keeps meaning a host name", function()
    -- skynet reads listen("unix:/x", 0) as host "unix:/x": it cannot resolve, so it fails as before
    test.raises("Listen error", socket.listen, "unix:" .. fresh_path(), 0)
    local fd = socket.open("unix:" .. fresh_path(), 80)
    test.eq(fd, nil, "open with a port is TCP")
end)

test.case("when the listener's owner ends, the file goes", function()
    local path = fresh_path("owner")
    local peer = skynet.newservice("net_unix_peer")
    skynet.call(peer, "lua", "listen", "unix:" .. path)
    assert(is_socket(path), "socket file")
    skynet.send(peer, "lua", "exit")
    test.wait_until(function() return not exists(path) end, 300, "the file to be removed")
    -- and the path is free again
    local lid = listen_here(path)
    socket.close(lid)
end)

test.case("netstat lists Unix listeners and connections", function()
    local path = fresh_path()
    local lid, next_accepted = listen_here(path)
    local c = assert(socket.open("unix:" .. path))
    local a = next_accepted()
    socket.start(a.id)
    local seen = {}
    for _, info in ipairs(socket.netstat()) do
        seen[info.id] = info
    end
    local l = assert(seen[lid], "listener listed")
    test.eq(l.type, "LISTEN", "listener type")
    test.eq(l.sock, "unix:" .. path, "listener address")
    test.eq(l.accept, 1, "accepted count")
    local s = assert(seen[a.id], "accepted connection listed")
    test.eq(s.type, "UNIX", "connection type")
    test.eq(s.sock, "unix:" .. path, "accepted side's address")
    local o = assert(seen[c], "connecting side listed")
    test.eq(o.peer, "unix:" .. path, "connecting side's peer")
    socket.close(a.id)
    socket.close(c)
    socket.close(lid)
end)

test.case("cleanup: no socket file is left behind", function()
    local left = io.popen("find " .. sh_quote(dir) .. " -type s"):read("a")
    test.eq(left, "", "socket files left")
    os.execute("rm -rf " .. sh_quote(dir))
end)

test.run(setup)
