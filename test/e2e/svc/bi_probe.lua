-- Bad input to the Lua API, for test/e2e/test_bad_input.py: each probe runs in a pcall and prints
-- "PROBE <name> => <error text>" (or "=> no error"), then "PROBES DONE".
local skynet = require "skynet"
require "skynet.manager"

local function deep_table(levels)
    local root = {}
    local t = root
    for _ = 1, levels do
        t[1] = {}
        t = t[1]
    end
    return root
end

local probes = {}

local function probe(name, f, ...)
    probes[#probes + 1] = { name = name, f = f, args = table.pack(...) }
end

probe("newservice of an unknown service", skynet.newservice, "no_such_service")
probe("uniqueservice of an unknown service", skynet.uniqueservice, "no_such_service")
probe("newservice without a name", skynet.newservice, nil)
probe("newservice with a function argument", skynet.newservice, "bi_echo", print)
probe("a service whose main chunk raises", skynet.newservice, "bi_mainerror")
probe("a service whose start function raises", skynet.newservice, "bi_starterror")
probe("pack a function", skynet.pack, print)
probe("pack a coroutine", skynet.pack, coroutine.create(print))
probe("pack a full userdata", skynet.pack, io.stdout)
probe("pack tables nested 40 deep", skynet.pack, deep_table(40))
probe("send a function", skynet.send, ".launcher", "lua", print)
probe("unpack a truncated message", skynet.unpack, string.sub(skynet.packstring("hello world"), 1, 5))
probe("unpack an unknown type byte", skynet.unpack, "\7")
probe("call an address that does not exist", skynet.call, 0x7fffff, "lua", "x")
probe("call an unknown local name", skynet.call, ".nosuch", "lua", "x")
probe("send with an unknown protocol name", skynet.send, ".launcher", "nosuchproto", "x")
probe("send to a table address", skynet.send, {}, "lua", string.rep("x", 100))
probe("call address 0", skynet.call, 0, "lua", "x")
probe("sleep with a ti that is not a number", skynet.sleep, "soon")
probe("timeout with a ti that is not a number", skynet.timeout, {}, print)
probe("setenv of an existing key", skynet.setenv, "thread", "3")
probe("register_protocol of a string", skynet.register_protocol, "lua")
probe("register_protocol with id 256", skynet.register_protocol, { name = "bi_big", id = 256 })
probe("register_protocol of a name taken", skynet.register_protocol, { name = "lua", id = 222 })
probe("dispatch of an unknown protocol", skynet.dispatch, "bi_nosuch", print)
probe("netpack.pack of 70,000 bytes", function() return require("skynet.netpack").pack(string.rep("x", 70000)) end)
probe("socket.limit(fd, -1)", function()
    local socket = require "skynet.socket"
    local id = socket.listen("127.0.0.1", 0)
    -- closed however the call ends (the error must come from this line, as a user's would)
    local _ <close> = setmetatable({}, { __close = function() socket.close(id) end })
    socket.limit(id, -1)
end)

-- NEXTSESSION is a testing aid of the core (docs/core-boundary.md); the only text command that refuses a parameter
probe("skynet.core.intcommand(\"NEXTSESSION\", 0)", function() return require("skynet.core").intcommand("NEXTSESSION", 0) end)
probe("skynet.core.command(\"NEXTSESSION\", \"2147483648\")",
    function() return require("skynet.core").command("NEXTSESSION", "2147483648") end)

skynet.start(function()
    for _, p in ipairs(probes) do
        local ok, err = pcall(p.f, table.unpack(p.args, 1, p.args.n))
        -- one line each, whatever the error text holds
        local text = ok and "no error" or tostring(err):gsub("\n", " | ")
        print("PROBE " .. p.name .. " => " .. text)
    end
    print("PROBES DONE")
    io.stdout:flush()
end)
