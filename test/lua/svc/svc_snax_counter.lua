-- A snax service for the tests (found through the `snax` path of test/lua/config).
local skynet = require "skynet"
local datacenter = require "skynet.datacenter"

local count = 0
local started_with
local log = {}

local function note(what)
    log[#log + 1] = what
end

function init(start, ...)
    started_with = table.pack(start, ...)
    count = tonumber(start) or 0
    note("init")
end

function exit(reason)
    datacenter.set("svc_snax_counter", "exit", reason or "no reason")
end

function accept.add(n)
    count = count + n
    note("add")
end

function accept.fail()
    error("accept failure")
end

function response.get()
    return count
end

function response.init_args()
    return table.unpack(started_with, 1, started_with.n)
end

function response.fail()
    error("response failure")
end

function response.log()
    return log
end

function response.whoami()
    local snax = require "skynet.snax"
    local me = snax.self()
    return me.handle, me.type, tostring(me)
end

function response.quit(reason)
    local snax = require "skynet.snax"
    skynet.fork(snax.exit, reason)
    return "bye"
end
