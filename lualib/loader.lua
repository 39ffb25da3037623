-- The snlua loader (spec §4.6).  snlua runs this chunk with the service's raw argument string;
-- any error raised here is logged by snlua, which then reports the failed launch.
--
-- Globals set by snlua beforehand: LUA_PATH, LUA_CPATH, LUA_SERVICE, LUA_PRELOAD.
-- Globals left for the service: SERVICE_NAME, SERVICE_PATH.

local args = {}
for word in string.gmatch((...) or "", "%S+") do
    args[#args + 1] = word
end

local name = args[1]
if name == nil then
    error("no service name given to the loader")
end
SERVICE_NAME = name

-- The first LUA_SERVICE pattern whose file loads wins; otherwise every reason is reported.
local main, pattern
local failures = {}
for pat in string.gmatch(LUA_SERVICE or "", "[^;]+") do
    -- a function replacement keeps any '%' in the name literal
    local filename = pat:gsub("%?", function() return name end)
    local f, err = loadfile(filename)
    if f then
        main, pattern = f, pat
        break
    end
    failures[#failures + 1] = err
end
if main == nil then
    if #failures == 0 then
        error("can't find service " .. name .. ": LUA_SERVICE is empty")
    end
    error(table.concat(failures, "\n"))
end

LUA_SERVICE = nil
package.path, LUA_PATH = LUA_PATH or package.path, nil
package.cpath, LUA_CPATH = LUA_CPATH or package.cpath, nil

-- A pattern like "./test/?/init.lua" names a directory per service: modules next to init.lua must
-- be found by require, so that directory goes in front of package.path.
local dir = pattern:match "^(.*/)[^/?]+$"
if dir then
    dir = dir:gsub("%?", function() return name end)
    package.path = dir .. "?.lua;" .. package.path
    SERVICE_PATH = dir
else
    SERVICE_PATH = pattern:match "^(.*/).+$"
end

if LUA_PRELOAD then
    local preload, err = loadfile(LUA_PRELOAD)
    if preload == nil then
        error("can't load preload " .. LUA_PRELOAD .. ": " .. tostring(err))
    end
    preload(table.unpack(args))
    LUA_PRELOAD = nil
end

_G.require = (require "skynet.require").require

main(select(2, table.unpack(args)))
