-- The rarely used parts of the API (lualib/skynet/lazy/, the debug protocol handler) load on first use.
local skynet = require "skynet"
local test = require "testlib"

local function loaded(addr)
    local set = {}
    for _, name in ipairs(skynet.call(addr, "lua", "loaded")) do
        set[name] = true
    end
    return set
end

local function lazy_modules(set)
    local list = {}
    for name in pairs(set) do
        if name:find("^skynet%.lazy%.") or name == "skynet.debug" then
            list[#list + 1] = name
        end
    end
    table.sort(list)
    return table.concat(list, " ")
end

test.case("an idle service loads no lazy part and no debug handler", function()
    local s = skynet.newservice("lz_idle")
    test.eq(lazy_modules(loaded(s)), "", "lazy modules of an idle service")
    skynet.kill(s)
end)

test.case("an idle service's Lua heap stays small", function()
    local s = skynet.newservice("lz_idle")
    local kb = skynet.call(s, "lua", "heap")
    -- ~45 KB now (paths in package.path included); 59 KB before skynet.lua's last Lua functions went
    -- to C, 99 KB before the scheduler API did and the error, exit and unusual-dispatch paths went to
    -- lazy parts, ~142 KB with every lazy part loaded: the bound catches a regression that loads them
    -- again, or Lua functions back in skynet.lua
    assert(kb < 55, string.format("idle service heap %.1f KB", kb))
    skynet.kill(s)
end)

test.case("reading a lazy name loads just its part, and the function works", function()
    local s = skynet.newservice("lz_idle")
    test.eq(skynet.call(s, "lua", "touch", "killthread"), "function")
    test.eq(lazy_modules(loaded(s)), "skynet.lazy.tasks")
    test.eq(skynet.call(s, "lua", "touch", "stat"), "function")
    test.eq(lazy_modules(loaded(s)), "skynet.lazy.node skynet.lazy.tasks")
    skynet.kill(s)
end)

test.case("every lazy API name is a function once its part is loaded", function()
    -- the names skynet.dispatcher.service (lua_service.cpp) maps to parts; a name whose part does not
    -- define it reads as nil
    local names = {
        "response", "rawcall", "tracecall", "request", "watch", "unwatch", "task", "uniqtask", "killthread",
        "trace", "tracetag", "tracelog", "traceproto", "trace_timeout", "query", "register", "name", "harbor",
        "setenv", "endless", "mqlen", "stat", "memlimit", "uniqueservice", "queryservice", "address",
        "context", "ignoreret", "genid", "rawsend", "redirect", "starttime", "time", "localname", "getenv",
        "newservice", "dispatch_unknown_request", "dispatch_unknown_response", "term", "exit", "info_func",
    }
    local s = skynet.newservice("lz_idle")
    local wrong = {}
    for _, name in ipairs(names) do
        local t = skynet.call(s, "lua", "touch", name)
        if t ~= "function" then
            wrong[#wrong + 1] = name .. ": " .. t
        end
    end
    test.eq(table.concat(wrong, ", "), "", "names that are not functions")
    skynet.kill(s)
end)

test.case("a name that belongs to no part is nil, not an error", function()
    local s = skynet.newservice("lz_idle")
    test.eq(skynet.call(s, "lua", "touch", "no_such_function"), "nil")
    test.eq(skynet[{}], nil, "a table key")
    skynet.kill(s)
end)

test.case("the first debug message loads the handler and is answered", function()
    local s = skynet.newservice("lz_idle")
    local kb = skynet.call(s, "debug", "MEM")
    assert(type(kb) == "number" and kb > 0, tostring(kb))
    test.eq(lazy_modules(loaded(s)), "skynet.debug")
    test.eq(skynet.call(s, "debug", "PING"), nil)
    skynet.kill(s)
end)

test.case("skynet.info_func set before any debug message is used by INFO", function()
    skynet.info_func(function(x) return "info " .. tostring(x) end)
    test.eq(skynet.call(skynet.self(), "debug", "INFO", 7), "info 7")
end)

test.case("lazy parts load next to skynet.lua even after the service emptied package.path", function()
    local s = skynet.newservice("lz_nopath")
    test.eq(skynet.call(s, "lua", "time"), "number", "skynet.time")
    test.raises("call failed", skynet.call, s, "lua", "fail")
    test.eq(skynet.call(s, "lua", "exit"), "exiting", "exit")
    -- gone: "call failed" while its handle lingers, "call to invalid address" after; never a hang
    test.eq(pcall(skynet.call, s, "lua", "time"), false, "a call after the exit")
end)

test.case("send, call and redirect name an unknown protocol", function()
    local ok, err = pcall(skynet.send, skynet.self(), "no_such_proto", 1)
    assert(not ok and err:find("unknown protocol no_such_proto", 1, true), tostring(err))
    ok, err = pcall(skynet.call, skynet.self(), "no_such_proto", 1)
    assert(not ok and err:find("unknown protocol no_such_proto", 1, true), tostring(err))
    ok, err = pcall(skynet.redirect, skynet.self(), 0, "no_such_proto", 0, "")
    assert(not ok and err:find("unknown protocol no_such_proto", 1, true), tostring(err))
    ok, err = pcall(skynet.rawcall, skynet.self(), "no_such_proto", "")
    assert(not ok and err:find("unknown protocol no_such_proto", 1, true), tostring(err))
end)

test.run()
