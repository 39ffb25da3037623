-- snax.hotfix: replaces methods of a running snax service with new code, keeping its state.
--
--   local ok, ... = hotfix(funcs, source, ...)     -- funcs: the service's method list (interface)
--
-- `source` is a snax file in miniature: it defines accept.X / response.X / init / exit functions that
-- replace the methods of the same names (a name the service does not have is an error, "Patch
-- mismatch"). The patch reaches the service's state through upvalues: a local the patch declares
-- without a value (`local count`) is joined to the service's local of the same name, and the patch's
-- globals are the service's globals. If the patch defines `function hotfix(...)`, it runs last, with
-- the extra arguments, and its results are returned after `true`. Any failure returns false and the
-- error; methods patched before the failure stay patched, as in skynet.
local interface = require "snax.interface"

local PATCH_CHUNK = "=patch"

-- Globals of this service (a module's _ENV is the service's global table).
local service_globals = _ENV

-- Marks an upvalue name that two different service variables share, so that it cannot be joined.
local AMBIGUOUS = {}

local function is_lua_function(f)
    return type(f) == "function" and debug.getinfo(f, "S").what ~= "C"
end

local function env_id(f)
    local i = 1
    while true do
        local name = debug.getupvalue(f, i)
        if name == nil then
            return nil
        end
        if name == "_ENV" then
            return debug.upvalueid(f, i)
        end
        i = i + 1
    end
end

-- Records, by name, the upvalues reachable from the service function f: its own, and those of the
-- Lua functions it holds that share its environment (its local helper functions).
local function collect(f, uv, env)
    local i = 1
    while true do
        local name, value = debug.getupvalue(f, i)
        if name == nil then
            break
        end
        if name ~= "" then
            local id = debug.upvalueid(f, i)
            local known = uv[name]
            if known == nil then
                uv[name] = { func = f, index = i, id = id }
                if is_lua_function(value) and env_id(value) == env then
                    collect(value, uv, env)
                end
            elseif known ~= AMBIGUOUS and known.id ~= id then
                uv[name] = AMBIGUOUS
            end
        end
        i = i + 1
    end
end

local function collect_all(funcs)
    local uv = {}
    for _, desc in pairs(funcs) do
        local f = desc[4]
        if is_lua_function(f) then
            collect(f, uv, env_id(f))
        end
    end
    return uv
end

local function find_method(funcs, group, name)
    for _, desc in pairs(funcs) do
        if desc[2] == group and desc[3] == name then
            return desc
        end
    end
end

-- Connects the free upvalues of the patch function f (and of the patch's own helper functions it
-- holds) to the service's variables of the same names.
local function join(f, uv, patch_env, visited)
    if visited[f] then
        return
    end
    visited[f] = true
    local i = 1
    while true do
        local name, value = debug.getupvalue(f, i)
        if name == nil then
            break
        end
        if value == nil or value == patch_env then
            local old = uv[name]
            if old == AMBIGUOUS then
                error(string.format("ambiguity local value %s", name))
            elseif old then
                debug.upvaluejoin(f, i, old.func, old.index)
            elseif name == "_ENV" then
                -- No service method uses a global, so there is no _ENV upvalue to share: use the
                -- service's globals directly.
                debug.setupvalue(f, i, service_globals)
            end
        elseif is_lua_function(value) and debug.getinfo(value, "S").source == PATCH_CHUNK then
            join(value, uv, patch_env, visited)
        end
        i = i + 1
    end
end

local function inject(funcs, source, ...)
    if type(source) ~= "string" then
        error("hotfix needs the patch source as a string, got " .. type(source))
    end
    -- The patch's top level can use the service's globals (require, skynet...), but what it defines
    -- lands in this copy, not in the running service.
    local patch_env = {}
    for k, v in pairs(service_globals) do
        patch_env[k] = v
    end
    local function loader(_, _, G)
        local f, err = load(source, PATCH_CHUNK, "t", G)
        if not f then
            error(err, 0)
        end
        return f
    end
    local patch = interface("patch", patch_env, loader)
    local uv = collect_all(funcs)
    local visited = {}

    for _, desc in ipairs(patch) do
        local group, name, f = desc[2], desc[3], desc[4]
        if f and not (group == "system" and name == "hotfix") then
            local target = find_method(funcs, group, name)
            if not target then
                error(string.format("Patch mismatch %s.%s", group, name))
            end
            join(f, uv, patch_env, visited)
            target[4] = f
        end
    end

    local hf = find_method(patch, "system", "hotfix")
    if hf and hf[4] then
        join(hf[4], uv, patch_env, visited)
        return hf[4](...)
    end
end

return function(funcs, source, ...)
    return pcall(inject, funcs, source, ...)
end
