-- The context-free helpers of skynet.socketdriver (buffer, push, pop, readline, readall, clear, drop,
-- str2p, header, unpack's argument checks) and socket.block / socket.close_fd.
local skynet = require "skynet"
local socket = require "skynet.socket"
local driver = require "skynet.socketdriver"
local test = require "testlib"

test.case("buffer: push blocks, pop sizes, readline across blocks, readall, clear", function()
    local buf, pool = driver.buffer(), {}
    local p, n = driver.str2p("hello\r")
    test.eq(n, 6, "str2p size")
    test.eq(driver.push(buf, pool, p, n), 6, "size after the first push")
    p, n = driver.str2p("\nworld 12345")
    test.eq(driver.push(buf, pool, p, n), 18, "size after the second push")
    test.eq(driver.readline(buf, nil, "\r\n"), true, "check-only readline")
    test.eq(driver.readline(buf, pool, "\r\n"), "hello", "readline across the blocks")
    local s, left = driver.pop(buf, pool, 6)
    test.eq(s, "world ", "pop")
    test.eq(left, 5, "bytes left")
    test.eq(driver.pop(buf, pool, 6), nil, "pop of more than there is")
    test.eq(driver.pop(buf, pool, 0), nil, "pop of 0")
    test.eq(driver.readline(buf, pool, "\n"), nil, "no line")
    test.eq(driver.readall(buf, pool), "12345", "readall")
    test.eq(driver.readall(buf, pool), "", "readall of nothing")
    p, n = driver.str2p("dropped")
    driver.push(buf, pool, p, n)
    driver.clear(buf, pool)
    test.eq(driver.readall(buf, pool), "", "cleared")
    driver.clear(nil) -- allowed, as in skynet
    p, n = driver.str2p("freed by drop")
    driver.drop(p, n)
end)

test.case("buffer helpers check their arguments", function()
    local buf = driver.buffer()
    test.raises("Need buffer object", driver.pop, {}, {}, 1)
    test.raises("need message block", driver.push, buf, {}, nil, 1)
    -- a rejected push leaves the block with the caller, who frees it
    local p, n = driver.str2p("x")
    test.raises("bad argument", driver.push, buf, nil, p, n)
    driver.drop(p, n)
    p, n = driver.str2p("short")
    test.raises("invalid socket message", driver.unpack, p, n)
    driver.drop(p, n)
end)

test.case("header reads 1 to 4 big-endian bytes", function()
    test.eq(socket.header("\1"), 1, "1 byte")
    test.eq(socket.header("\1\0"), 256, "2 bytes")
    test.eq(socket.header("\0\0\1\0"), 256, "4 bytes")
    test.eq(socket.header("\255\255\255\255"), 0xffffffff, "ff ff ff ff")
    test.raises("Invalid read", socket.header, "")
    test.raises("Invalid read", socket.header, "12345")
end)

test.case("block waits for data or the close; close_fd closes an id never started", function()
    local accepted = {}
    local id, _, port = socket.listen("127.0.0.1", 0)
    socket.start(id, function(fd) accepted[#accepted + 1] = fd end)
    local client = assert(socket.open("127.0.0.1", port))
    test.wait_until(function() return #accepted == 1 end, 300, "accept")
    local fd = accepted[1]
    socket.start(fd)
    skynet.fork(function()
        skynet.sleep(5)
        socket.write(client, "x")
    end)
    test.eq(socket.block(fd), true, "block returns on data")
    test.eq(socket.read(fd), "x", "the data")
    skynet.fork(function()
        skynet.sleep(5)
        socket.close(client)
    end)
    test.eq(socket.block(fd), false, "block returns on the close")
    socket.close(fd)
    -- an accepted connection nobody starts is closed with close_fd
    local client2 = assert(socket.open("127.0.0.1", port))
    test.wait_until(function() return #accepted == 2 end, 300, "second accept")
    socket.close_fd(accepted[2])
    test.eq(socket.read(client2), false, "the client sees the close")
    socket.close(client2)
    test.raises("Use socket.close instead", socket.close_fd, id)
    socket.close(id)
end)

test.run()
