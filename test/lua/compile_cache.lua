-- The compile cache behind loadfile and require: same results as the plain loaders, edited files reload.
local skynet = require "skynet"
local test = require "testlib"

local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -p " .. dir))

local function write(path, text)
    local f = assert(io.open(path, "w"))
    f:write(text)
    f:close()
end

test.case("loadfile gives the file's chunk; an edited file is compiled again", function()
    local path = dir .. "/chunk.lua"
    write(path, "return 1")
    test.eq(assert(loadfile(path))(), 1, "first load")
    test.eq(assert(loadfile(path))(), 1, "cached load")
    write(path, "return 2 + 20")   -- another size: the cache must not serve the old chunk
    test.eq(assert(loadfile(path))(), 22, "after the edit")
end)

test.case("boots take chunks their spare state prefetched, and an edited file is still loaded afresh", function()
    local codecache = require "skynet.codecache"
    write(dir .. "/pf_mod.lua", "return 'v1'")
    local before = codecache.prefetched()
    local function ask()
        local s = skynet.newservice("cc_prefetch", dir)
        return skynet.call(s, "lua", "value")
    end
    for i = 1, 6 do
        local value, distinct = ask()
        test.eq(value, "v1", "boot " .. i)
        test.eq(distinct, true, "two loads in one boot give two functions")
    end
    -- the spares made after two boots loaded the same files prefetch them
    assert(codecache.prefetched() > before, "no boot took a prefetched chunk")
    write(dir .. "/pf_mod.lua", "return 'v2, edited'")   -- another size: the prefetched v1 is stale
    for i = 1, 3 do
        test.eq((ask()), "v2, edited", "boot after the edit " .. i)
    end
end)

test.case("loadfile keeps chunk names, modes, env and error messages", function()
    local path = dir .. "/named.lua"
    write(path, "local x = ...\nerror('boom')")
    local f = assert(loadfile(path))
    local ok, err = pcall(f)
    assert(not ok and err:find("named.lua:2: boom", 1, true), err)
    ok, err = pcall(assert(loadfile(path)))   -- from the cache now
    assert(not ok and err:find("named.lua:2: boom", 1, true), err)
    local g, e = loadfile(path, "b")
    test.eq(g, nil, "mode b refuses a text file")
    assert(e:find("text chunk", 1, true), e)
    write(dir .. "/env.lua", "return value")
    test.eq(assert(loadfile(dir .. "/env.lua", "bt", { value = 7 }))(), 7, "env")
    local h, msg = loadfile(dir .. "/missing.lua")
    test.eq(h, nil, "missing file")
    assert(msg:find("cannot open", 1, true), msg)
    write(dir .. "/bad.lua", "return = 1")
    local b, berr = loadfile(dir .. "/bad.lua")
    test.eq(b, nil, "syntax error")
    assert(berr:find("bad.lua:1:", 1, true), berr)
end)

test.case("require goes through the cache and reports load errors like Lua", function()
    package.path = dir .. "/?.lua;" .. package.path
    write(dir .. "/cc_mod.lua", "return { answer = 42 }")
    test.eq(require("cc_mod").answer, 42, "module")
    write(dir .. "/cc_broken.lua", "return {")
    local err = test.raises("error loading module 'cc_broken' from file", require, "cc_broken")
    assert(err:find("cc_broken.lua", 1, true), err)
    test.raises("module 'cc_none' not found", require, "cc_none")
end)

test.case("the Lua-file searcher finds modules as Lua's does: templates in order, dots, several '?'", function()
    -- package.searchers[2] is what require (and so every service's boot) uses to find Lua modules.
    local search = package.searchers[2]
    assert(os.execute("mkdir -p " .. dir .. "/lib/cc_pkg " .. dir .. "/cc_twice " .. dir .. "/first"))
    local saved, saved_searchpath = package.path, package.searchpath
    -- A module that exists is found without package.searchpath (whose fopen probes cost twice the
    -- system calls); it only runs to build the message when nothing is found.
    local searched = 0
    package.searchpath = function(...)
        searched = searched + 1
        return saved_searchpath(...)
    end
    local function load(name)
        local chunk, where = search(name)
        assert(type(chunk) == "function", chunk)
        return chunk(name, where), where
    end
    package.path = dir .. "/none/?.lua;;" .. dir .. "/lib/?.lua;" .. dir .. "/?/?.lua"
    write(dir .. "/lib/cc_pkg/sub.lua", "return 'sub'")
    local mod, where = load "cc_pkg.sub"
    test.eq(mod, "sub", "dotted name")
    test.eq(where, dir .. "/lib/cc_pkg/sub.lua", "found on the second template")
    write(dir .. "/cc_twice/cc_twice.lua", "return 'twice'")
    test.eq(load "cc_twice", "twice", "every '?' of a template is replaced")
    -- An earlier template wins; an unreadable file there is skipped exactly when io.open cannot open it.
    package.path = dir .. "/first/?.lua;" .. dir .. "/lib/?.lua"
    write(dir .. "/first/cc_order.lua", "return 'first'")
    write(dir .. "/lib/cc_order.lua", "return 'second'")
    test.eq(load "cc_order", "first", "first template")
    write(dir .. "/first/cc_locked.lua", "return 'locked'")
    write(dir .. "/lib/cc_locked.lua", "return 'open'")
    assert(os.execute("chmod 000 " .. dir .. "/first/cc_locked.lua"))
    local f = io.open(dir .. "/first/cc_locked.lua")
    if f then f:close() end
    test.eq(load "cc_locked", f and "locked" or "open", "unreadable file")
    if f then test.eq(searched, 0, "no package.searchpath for modules that exist") end
    local msg = search "cc_absent"
    assert(type(msg) == "string" and msg:find("no file '" .. dir .. "/lib/cc_absent.lua'", 1, true), msg)
    test.eq(searched > 0, true, "package.searchpath builds the not-found message")
    package.path, package.searchpath = saved, saved_searchpath
end)

test.case("skynet.codecache.clear empties the cache; loading still works", function()
    local cache = require "skynet.codecache"
    cache.clear()
    local path = dir .. "/after_clear.lua"
    write(path, "return 'fresh'")
    test.eq(assert(cache.loadfile(path))(), "fresh", "codecache.loadfile")
end)

test.run()
