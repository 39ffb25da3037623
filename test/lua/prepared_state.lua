-- Every service behaves as one that loaded skynet.lua itself: its own address and module, nothing carried
-- over from an earlier service, the standard functions skynet.lua finds as it loads, the skynet.lua its own
-- package.path finds. (Written for spare states with skynet.lua loaded ahead, commit 0a412ee, taken out
-- again; any such shortcut must keep these.)
local skynet = require "skynet"
local test = require "testlib"

local function spawn_many(name, n)
    local list = {}
    for i = 1, n do
        list[i] = skynet.newservice(name)
    end
    return list
end

local function kill_all(list)
    for _, s in ipairs(list) do
        skynet.kill(s)
    end
end

test.case("each service sees its own address", function()
    local list = spawn_many("ps_probe", 12)
    for _, s in ipairs(list) do
        test.eq(skynet.call(s, "lua", "self"), s, "skynet.self()")
    end
    kill_all(list)
end)

test.case("nothing set in one service shows in the next one", function()
    local list = spawn_many("ps_probe", 12)
    for i, s in ipairs(list) do
        local field, global = skynet.call(s, "lua", "mark", i)
        test.eq(field, nil, "skynet.ps_mark in service " .. i)
        test.eq(global, nil, "PS_MARK in service " .. i)
    end
    kill_all(list)
end)

test.case("require gives the module skynet.lua returned, and package.loaded holds what a fresh load would", function()
    local list = spawn_many("ps_probe", 4)
    local fresh = {
        "skynet.codecache", "skynet.core", "skynet.dispatcher", "skynet.profile", "skynet.require",
    }
    for _, s in ipairs(list) do
        test.eq(skynet.call(s, "lua", "same_module"), true)
        test.eq(table.concat(skynet.call(s, "lua", "loaded"), " "), table.concat(fresh, " "))
    end
    kill_all(list)
end)

test.case("each service reads the node's environment", function()
    local list = spawn_many("ps_probe", 4)
    for _, s in ipairs(list) do
        test.eq(skynet.call(s, "lua", "env", "lua_path"), skynet.getenv("lua_path"))
        test.eq(skynet.call(s, "lua", "env", "thread"), "2")
    end
    kill_all(list)
end)

test.case("a standard function changed before require skynet is the one skynet.lua uses", function()
    for _ = 1, 4 do
        local s = skynet.newservice("ps_patched")
        local text, calls = skynet.call(s, "lua")
        test.eq(text, skynet.address(s))
        test.eq(calls, 1, "calls of the replaced string.format")
        skynet.kill(s)
    end
end)

test.case("a skynet.lua next to the service is the one it gets", function()
    for _ = 1, 4 do
        local s = skynet.newservice("ps_own_skynet")
        test.eq(skynet.call(s, "lua"), true, "the service's own skynet.lua")
        skynet.kill(s)
    end
end)

test.run()
