-- Code injection for the debug RUN command.
--
-- The injected chunk sees, besides the service's globals:
--   print  - collects output lines that are sent back to the caller
--   _U     - every table reachable as an upvalue of the given functions (name -> table), and the
--            tables of a given table (skynet.lua's scheduler state), so that for example
--            _U.session_id_coroutine or _U.proto can be inspected
--   _P     - for each protocol with a dispatch function: the tables among its upvalues
-- Returns ok, { output lines }.

local function collect_upvalues(into, func, seen)
    local i = 1
    while true do
        local name, value = debug.getupvalue(func, i)
        if name == nil then
            return
        end
        local t = type(value)
        if t == "table" then
            if into[name] == nil then
                into[name] = value
            end
        elseif t == "function" and not seen[value] then
            seen[value] = true
            collect_upvalues(into, value, seen)
        end
        i = i + 1
    end
end

return function(skynet, source, filename, ...)
    local output = {}

    local function print(...)
        local n = select("#", ...)
        local parts = {}
        for i = 1, n do
            parts[i] = tostring((select(i, ...)))
        end
        output[#output + 1] = table.concat(parts, "\t")
    end

    local u, seen = {}, {}
    for _, f in ipairs { ... } do
        if type(f) == "function" then
            collect_upvalues(u, f, seen)
        elseif type(f) == "table" then
            -- the scheduler state skynet.lua shares with its lazy parts: its tables by name
            for name, value in pairs(f) do
                if type(value) == "table" and u[name] == nil then
                    u[name] = value
                end
            end
        end
    end

    local p = {}
    local proto = u.proto or skynet._proto
    if proto then
        for _, class in pairs(proto) do
            local name, dispatch = class.name, class.dispatch
            if name and dispatch and p[name] == nil then
                local tables = {}
                collect_upvalues(tables, dispatch, {})
                p[name] = tables
            end
        end
    end

    local env = setmetatable({ print = print, _U = u, _P = p }, { __index = _ENV })
    local chunkname = filename and ("@" .. filename) or "=(load)"
    local chunk, err = load(source, chunkname, "bt", env)
    if chunk == nil then
        return false, { err }
    end
    local ok, rerr = xpcall(chunk, debug.traceback)
    if not ok then
        output[#output + 1] = tostring(rerr)
    end
    return ok, output
end
