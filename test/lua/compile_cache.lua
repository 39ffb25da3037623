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

test.case("skynet.codecache.clear empties the cache; loading still works", function()
    local cache = require "skynet.codecache"
    cache.clear()
    local path = dir .. "/after_clear.lua"
    write(path, "return 'fresh'")
    test.eq(assert(cache.loadfile(path))(), "fresh", "codecache.loadfile")
end)

test.run()
