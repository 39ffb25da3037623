-- Flow control of skynet.socket: pause / resume, the automatic pause of a full buffer, limit, the
-- send-buffer warning, low-priority writes.
local skynet = require "skynet"
local socket = require "skynet.socket"
local test = require "testlib"

local accepted = {}
local listen_port

local function next_accepted()
    test.wait_until(function() return #accepted > 0 end, 300, "a connection to be accepted")
    return table.remove(accepted, 1)
end

local function setup()
    local id
    id, _, listen_port = socket.listen("127.0.0.1", 0)
    socket.start(id, function(fd) accepted[#accepted + 1] = fd end)
end

local function info_of(id)
    for _, info in ipairs(socket.netstat()) do
        if info.id == id then
            return info
        end
    end
    error("socket " .. id .. " is not in netstat")
end

-- A call from a forked coroutine that may outlive the peer (the case kills it when done).
local function try_call(peer, ...)
    local ok, r = pcall(skynet.call, peer, "lua", ...)
    return ok and r
end

test.case("pause stops reading from the network until the next read resumes it", function()
    local peer = skynet.newservice("net_peer")
    local cid = skynet.call(peer, "lua", "open", "127.0.0.1", listen_port)
    local fd = next_accepted()
    socket.start(fd)
    socket.pause(fd)
    test.wait_until(function() return info_of(fd).reading == false end, 100, "reading to stop")
    local before = info_of(fd).read
    local chunk = string.rep("p", 64 * 1024)
    for _ = 1, 4 do
        skynet.call(peer, "lua", "write", cid, chunk)
    end
    skynet.sleep(30)
    local during = info_of(fd).read - before
    -- at most the one read that was already waiting when the pause came
    assert(during <= 64 * 1024, "bytes read while paused: " .. during)
    local data = socket.read(fd, 4 * 64 * 1024) -- resumes
    test.eq(#data, 4 * 64 * 1024, "everything arrives after the resume")
    test.eq(info_of(fd).reading, true, "reading again")
    socket.close(fd)
    skynet.kill(peer)
end)

test.case("a buffer past 128 KB with no reader pauses the socket by itself", function()
    local peer = skynet.newservice("net_peer")
    local cid = skynet.call(peer, "lua", "open", "127.0.0.1", listen_port)
    local fd = next_accepted()
    socket.start(fd)
    local total = 1024 * 1024
    skynet.fork(function()
        try_call(peer, "write", cid, string.rep("a", total))
    end)
    test.wait_until(function() return info_of(fd).reading == false end, 300, "the automatic pause")
    local data = socket.read(fd, total)
    test.eq(#data, total, "all data after the resume")
    socket.close(fd)
    skynet.kill(peer)
end)

test.case("limit closes a connection whose unread data passes the limit", function()
    local peer = skynet.newservice("net_peer")
    local cid = skynet.call(peer, "lua", "open", "127.0.0.1", listen_port)
    local fd = next_accepted()
    socket.start(fd)
    socket.limit(fd, 1000)
    -- no newline ever comes: the line never completes, the buffer only grows
    skynet.fork(function()
        for _ = 1, 20 do
            if not try_call(peer, "write", cid, string.rep("z", 500)) then
                break
            end
        end
    end)
    local ok = socket.readline(fd)
    test.eq(ok, false, "readline ends with the close")
    test.eq(skynet.call(peer, "lua", "readline", cid), false, "the peer sees the close")
    socket.close(fd)
    skynet.kill(peer)
end)

test.case("limit also bounds a read of a large size", function()
    local peer = skynet.newservice("net_peer")
    local cid = skynet.call(peer, "lua", "open", "127.0.0.1", listen_port)
    local fd = next_accepted()
    socket.start(fd)
    socket.limit(fd, 4096)
    skynet.fork(function()
        for _ = 1, 10 do
            if not try_call(peer, "write", cid, string.rep("q", 1000)) then
                break
            end
        end
    end)
    local ok = socket.read(fd, 0x7fffffff) -- a length prefix of ff ff ff ff, say
    test.eq(ok, false, "read ends with the close, nothing allocated for the size")
    socket.close(fd)
    skynet.kill(peer)
end)

test.case("limit refuses a bad limit or id with an error that names it", function()
    local peer = skynet.newservice("net_peer")
    local cid = skynet.call(peer, "lua", "open", "127.0.0.1", listen_port)
    local fd = next_accepted()
    socket.start(fd)
    test.raises("socket.limit: limit must be a positive integer, got -1", socket.limit, fd, -1)
    test.raises("socket.limit: limit must be a positive integer, got 0", socket.limit, fd, 0)
    test.raises("socket.limit: limit must be a positive integer, got 1.5", socket.limit, fd, 1.5)
    test.raises("socket.limit: limit must be a positive integer, got 100", socket.limit, fd, "100")
    socket.limit(fd, 1e6)   -- a whole float is accepted, as skynet accepts any number
    test.raises("socket.limit: unknown socket id 987654", socket.limit, 987654, 100)
    -- the refused calls set nothing: data still flows past what -1 would have allowed
    skynet.call(peer, "lua", "write", cid, "still open\n")
    test.eq(socket.readline(fd), "still open", "the connection is untouched")
    socket.limit(fd, 1000)
    socket.limit(fd, nil) -- removes the limit again
    socket.close(fd)
    skynet.kill(peer)
end)

test.case("the warning callback fires past 1 MB unsent and again when it drains", function()
    local peer = skynet.newservice("net_peer")
    -- the peer stops reading at once, so our writes pile up
    local cid = skynet.call(peer, "lua", "open_paused", "127.0.0.1", listen_port)
    local fd = next_accepted()
    socket.start(fd)
    local warnings = {}
    socket.warning(fd, function(id, kb)
        assert(id == fd)
        warnings[#warnings + 1] = kb
    end)
    local mb = string.rep("w", 1024 * 1024)
    local sent = 0
    -- the kernel buffers take several MB; keep writing until the warning comes
    while #warnings == 0 and sent < 64 do
        socket.write(fd, mb)
        sent = sent + 1
        skynet.sleep(1)
    end
    assert(#warnings > 0, "no warning after " .. sent .. " MB")
    assert(warnings[1] >= 1024, "first warning at 1 MB or more: " .. warnings[1])
    -- the peer reads everything: the queue drains and a last warning says 0
    local total = sent * 1024 * 1024
    local got = 0
    skynet.fork(function()
        while got < total do
            local data = try_call(peer, "read", cid)
            if not data then
                break
            end
            got = got + #data
        end
    end)
    test.wait_until(function() return warnings[#warnings] == 0 end, 1000, "the drain warning")
    test.wait_until(function() return got == total end, 1000, "the peer to read it all")
    socket.close(fd)
    skynet.kill(peer)
end, 3000)

test.case("lwrite data goes after write data queued later, never inside it", function()
    local peer = skynet.newservice("net_peer")
    local cid = skynet.call(peer, "lua", "open", "127.0.0.1", listen_port)
    local fd = next_accepted()
    socket.start(fd)
    socket.lwrite(fd, "low1\n")
    socket.write(fd, "high1\n")
    socket.lwrite(fd, "low2\n")
    socket.write(fd, "high2\n")
    local lines = {}
    for i = 1, 4 do
        lines[i] = skynet.call(peer, "lua", "readline", cid)
    end
    -- each line is whole; high-priority lines keep their order, and so do the low ones
    local high, low = {}, {}
    for _, l in ipairs(lines) do
        if l:match("^high") then
            high[#high + 1] = l
        else
            low[#low + 1] = l
        end
    end
    test.eq(table.concat(high, ","), "high1,high2", "high order")
    test.eq(table.concat(low, ","), "low1,low2", "low order")
    socket.close(fd)
    skynet.kill(peer)
end)

test.run(setup)
