-- snax.interface: loads a snax service file and lists the methods it defines.
--
--   local funcs, pattern = interface(name, G [, loader])
--
-- The file is found through the `snax` path of the config (';'-separated patterns with '?', spec
-- §4.1) and run with G as its globals. While it runs, G offers two tables to define methods in:
--   function accept.NAME(...)    -- a message with no reply (snax obj.post.NAME)
--   function response.NAME(...)  -- a request whose return values are the reply (obj.req.NAME)
-- and the global functions init, exit, hotfix and profile are captured as the system methods instead
-- of becoming globals. Every other global the file sets ends up in G.
--
-- `funcs` is the method list: funcs[id] = { id, group, name, f } with group "system", "accept" or
-- "response". Ids 1..4 are always the system methods init, exit, hotfix, profile (f may be nil); the
-- others are numbered in the order the file defines them, which is why the caller (that loads the
-- same file to learn the ids) and the service agree on them.
--
-- `loader(path, name, G)` may replace the file search; it returns the main function and the pattern
-- that matched (the `snax_loader` config names a file returning such a function).
local skynet = require "skynet"

local SYSTEM = { "init", "exit", "hotfix", "profile" }

local function default_loader(path, name, G)
    local errors = {}
    for pattern in string.gmatch(path, "[^;]+") do
        local filename = string.gsub(pattern, "?", name)
        local f, err = loadfile(filename, "bt", G)
        if f then
            return f, pattern
        end
        errors[#errors + 1] = err
    end
    error(table.concat(errors, "\n"))
end

return function(name, G, loader)
    loader = loader or default_loader

    if getmetatable(G) ~= nil then
        error("snax interface: the environment must not have a metatable")
    end
    for _, k in ipairs { "init", "exit", "accept", "response" } do
        if G[k] ~= nil then
            error("snax interface: the environment already has a global '" .. k .. "'")
        end
    end

    local funcs = {}
    local system_index = {}
    for id, sname in ipairs(SYSTEM) do
        funcs[id] = { id, "system", sname }
        system_index[sname] = id
    end

    -- accept / response: tables whose assignments declare methods.
    local function method_group(group)
        local defined = {}
        return setmetatable({}, {
            __newindex = function(_, mname, f)
                if type(mname) ~= "string" then
                    error(string.format("%s method only support string", group), 2)
                end
                if type(f) ~= "function" then
                    error(string.format("%s.%s must be function", group, mname), 2)
                end
                if defined[mname] then
                    error(string.format("%s.%s duplicate definition", group, mname), 2)
                end
                defined[mname] = true
                local id = #funcs + 1
                funcs[id] = { id, group, mname, f }
            end,
        })
    end

    -- Globals set while the file runs are held aside, so that the file reads back what it set but G
    -- is not touched until the file has run without error.
    local new_globals = {}
    local env = setmetatable({
        accept = method_group "accept",
        response = method_group "response",
    }, { __index = new_globals })

    local function set_global(_, k, v)
        local id = system_index[k]
        if id then
            if type(v) ~= "function" then
                error(string.format("%s must be a function", k), 2)
            end
            funcs[id][4] = v
        else
            new_globals[k] = v
        end
    end

    local path = skynet.getenv "snax"
    if path == nil then
        error("please set snax in config file")
    end
    local main, pattern = loader(path, name, G)

    setmetatable(G, { __index = env, __newindex = set_global })
    local ok, err = xpcall(main, debug.traceback)
    setmetatable(G, nil)
    if not ok then
        error(err, 0)
    end

    for k, v in pairs(new_globals) do
        G[k] = v
    end

    return funcs, pattern
end
