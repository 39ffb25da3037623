-- UDP over skynet.socket: round trips over IPv4 and IPv6, udp_connect, udp_listen / udp_dial, sendto.
local skynet = require "skynet"
local socket = require "skynet.socket"
local test = require "testlib"

-- The local "ip:port" of a socket, from netstat.
local function local_port(id)
    for _, info in ipairs(socket.netstat()) do
        if info.id == id then
            return tonumber(assert(info.sock, "netstat gives the local address"):match(":(%d+)$"))
        end
    end
    error("socket " .. id .. " not in netstat")
end

-- An echo server: answers every datagram with "echo:" .. data, to the sender.
local function echo_server(host)
    local server
    server = socket.udp(function(data, from)
        socket.sendto(server, from, "echo:" .. data)
    end, host, 0)
    return server, local_port(server)
end

local function round_trip(host)
    local server, port = echo_server(host)
    assert(port > 0, "bound port")
    local replies = {}
    local client = socket.udp(function(data, from)
        replies[#replies + 1] = { data = data, from = from }
    end, host, 0)
    socket.udp_connect(client, host, port)
    assert(socket.write(client, "ping"), "write to the default peer")
    test.wait_until(function() return #replies > 0 end, 300, "the echo over " .. host)
    test.eq(replies[1].data, "echo:ping", "reply")
    local ip, from_port = socket.udp_address(replies[1].from)
    test.eq(ip, host, "sender address")
    test.eq(from_port, port, "sender port")
    -- a binary payload, with zero bytes, survives
    local payload = "\0\1\2zero\0"
    socket.sendto(client, replies[1].from, payload)
    test.wait_until(function() return #replies > 1 end, 300, "second echo")
    test.eq(replies[2].data, "echo:" .. payload, "binary reply")
    socket.close(client)
    socket.close(server)
    test.eq(socket.invalid(server), true, "closed")
end

test.case("UDP round trip over IPv4", function()
    round_trip("127.0.0.1")
end)

test.case("UDP round trip over IPv6", function()
    round_trip("::1")
end)

test.case("udp_listen and udp_dial", function()
    local got = {}
    local server
    server = socket.udp_listen("127.0.0.1", 0, function(data, from)
        got[#got + 1] = data
        socket.sendto(server, from, data:upper())
    end)
    local port = local_port(server)
    local answers = {}
    local client = socket.udp_dial("127.0.0.1", port, function(data)
        answers[#answers + 1] = data
    end)
    for i = 1, 10 do
        socket.write(client, "msg" .. i)
    end
    test.wait_until(function() return #answers == 10 end, 300, "ten answers")
    table.sort(got)
    test.eq(#got, 10, "datagrams received")
    local upper = {}
    for _, a in ipairs(answers) do
        upper[a] = true
    end
    for i = 1, 10 do
        assert(upper["MSG" .. i], "answer " .. i)
    end
    socket.close(client)
    socket.close(server)
end)

test.case("sendto with an address of the other family is dropped, not fatal", function()
    local v6server, v6port = echo_server("::1")
    local got = {}
    local v4 = socket.udp(function(data) got[#got + 1] = data end, "127.0.0.1", 0)
    local v6addr
    local probe = socket.udp(function(_, from) v6addr = from end, "::1", 0)
    socket.udp_connect(probe, "::1", v6port)
    socket.write(probe, "x")
    test.wait_until(function() return v6addr end, 300, "a v6 address")
    -- v6addr is the echo server's address: a v4 socket cannot send there
    assert(socket.sendto(v4, v6addr, "wrong family") ~= nil)
    test.raises("Invalid udp address", socket.sendto, v4, "garbage", "x")
    test.raises("Invalid udp address", socket.udp_address, "bad")
    socket.close(v4)
    socket.close(probe)
    socket.close(v6server)
end)

test.run()
