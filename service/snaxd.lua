-- snaxd: runs one snax service; the argument is the snax name (found through the `snax` config path).
--
-- Methods arrive as PTYPE_SNAX messages whose first value is the method id (see snax/interface.lua).
-- The system methods: init (must come first, sent by snax.newservice), exit (replies, then the
-- service ends), hotfix (patches methods in place), profile (per-method call counts and CPU time).
local skynet = require "skynet"
local snax_interface = require "snax.interface"
local profile = require "skynet.profile"
local snax = require "skynet.snax"

local snax_name = tostring((...))

-- An optional config key names a file returning a custom loader(path, name, G).
local loader
do
    local loaderpath = skynet.getenv "snax_loader"
    if loaderpath then
        loader = assert(dofile(loaderpath))
    end
end

-- The snax file runs with this service's globals, so its globals are ours.
local funcs, pattern = snax_interface(snax_name, _ENV, loader)

-- Like a service in a directory (spec §4.6 SERVICE_PATH): modules next to the snax file, in a
-- directory named after it, can be required.
if pattern then
    local q = pattern:find("?", 1, true)
    if q then
        local snax_path = pattern:sub(1, q - 1) .. snax_name .. "/"
        package.path = snax_path .. "?.lua;" .. package.path
        SERVICE_PATH = snax_path
    end
end
SERVICE_NAME = snax_name

local profile_table = {}

local function update_stat(name, ti)
    local t = profile_table[name]
    if t == nil then
        t = { count = 0, time = 0 }
        profile_table[name] = t
    end
    t.count = t.count + 1
    t.time = t.time + ti
end

local function return_results(f, ...)
    return skynet.ret(skynet.pack(f(...)))
end

-- Runs an accept or response method, timing it. An error propagates so that skynet answers the
-- requester with an error (a request) or logs it (a post).
local function timing(method, ...)
    local ok, err
    profile.start()
    if method[2] == "accept" then
        ok, err = xpcall(method[4], debug.traceback, ...)
    else
        ok, err = xpcall(return_results, debug.traceback, method[4], ...)
    end
    local ti = profile.stop()
    update_stat(method[3], ti)
    if not ok then
        error(err, 0)
    end
end

skynet.start(function()
    local init = false

    local function dispatcher(_, _, id, ...)
        local method = funcs[id]
        if not method then
            error(string.format("snax %s: unknown method id %s", snax_name, tostring(id)))
        end
        if method[2] ~= "system" then
            if not init then
                error(string.format("snax %s: Init first", snax_name))
            end
            return timing(method, ...)
        end

        local command = method[3]
        if command == "hotfix" then
            local hotfix = require "snax.hotfix"
            skynet.ret(skynet.pack(hotfix(funcs, ...)))
        elseif command == "profile" then
            skynet.ret(skynet.pack(profile_table))
        elseif command == "init" then
            if init then
                error(string.format("snax %s: Already init", snax_name))
            end
            if method[4] then
                method[4](...)
            end
            skynet.ret()
            if skynet.info_func then
                skynet.info_func(function()
                    return profile_table
                end)
            end
            init = true
        else -- exit
            if not init then
                error(string.format("snax %s: Never init", snax_name))
            end
            if method[4] then
                method[4](...)
            end
            skynet.ret()
            init = false
            skynet.exit()
        end
    end

    skynet.dispatch("snax", dispatcher)

    -- cluster calls arrive as "lua" messages; a snax service opts in to serving them.
    function snax.enablecluster()
        skynet.dispatch("lua", dispatcher)
    end
end)
