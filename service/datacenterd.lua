-- datacenterd: the node-wide key/value tree behind skynet.datacenter, registered by bootstrap under
-- the global name DATACENTER.
--
-- Lua commands (all called):
--   QUERY(k1, k2, ...)          -> the value at that path, or nil
--   UPDATE(k1, ..., kn, value)  -> sets it (creating the branches) and returns the old value
--   WAIT(k1, k2, ...)           -> the value at that path; if there is none yet, the reply waits until
--                                  an UPDATE gives the path a value
local skynet = require "skynet"

local database = {}

-- Waiters form a tree shaped like the paths they wait for. A node is either a branch (children by
-- key) or a leaf holding the response closures of the callers waiting for exactly that path.
local waiters = { branch = {} }

local command = {}

local function lookup(node, ...)
    local n = select("#", ...)
    for i = 1, n do
        if type(node) ~= "table" then
            return nil
        end
        node = node[(select(i, ...))]
    end
    return node
end

function command.QUERY(key, ...)
    if key == nil then
        return nil
    end
    return lookup(database, key, ...)
end

-- Sets the path k1..kn (the arguments but the last) to the last argument and returns the old value.
-- A single argument is a key set to nil, as skynet's datacenter.set(key) removes the key.
local function update(db, ...)
    local n = select("#", ...)
    if n == 0 then
        error("datacenter.set needs a key")
    end
    local nkeys = n == 1 and 1 or n - 1
    for i = 1, nkeys do
        if select(i, ...) == nil then
            error("datacenter.set: key " .. i .. " is nil")
        end
    end
    for i = 1, nkeys - 1 do
        local key = select(i, ...)
        local child = db[key]
        if child == nil then
            child = {}
            db[key] = child
        elseif type(child) ~= "table" then
            error(string.format("datacenter.set: key %d (%s) holds a %s, not a table", i,
                tostring(key), type(child)))
        end
        db = child
    end
    local key = select(nkeys, ...)
    local value = nil
    if n > 1 then
        value = select(n, ...)
    end
    local old = db[key]
    db[key] = value
    return old
end

-- Answers every waiter below `node`, whose path so far is `path`, that can now be satisfied.
-- Waiters whose value is still nil keep waiting.
local function wake_subtree(node, path)
    if node.queue then
        local value = lookup(database, table.unpack(path))
        if value ~= nil then
            local queue = node.queue
            node.queue = nil
            for _, response in ipairs(queue) do
                response(true, value)
            end
        end
    end
    if node.branch then
        for key, child in pairs(node.branch) do
            path[#path + 1] = key
            wake_subtree(child, path)
            path[#path] = nil
        end
    end
end

-- After UPDATE(k1..kn, value): wake the waiters of that path and of any path below it (a table value
-- may have filled them). A waiter on a path above k1..kn is not touched: its value was a branch
-- already (that is why the update went below it) or it was nil and is now a table, which skynet
-- treats as "can't wake up a branch" and reports to those waiters as an error.
local function wakeup(...)
    local n = select("#", ...) - 1     -- number of keys; the last argument is the value
    local node = waiters
    local path = {}
    for i = 1, n do
        local key = select(i, ...)
        local branch = node.branch
        local child = branch and branch[key]
        if child == nil then
            return
        end
        path[i] = key
        if i < n and child.queue and lookup(database, table.unpack(path)) ~= nil then
            -- Someone waits for a value at a shorter path, and the update turned it into a branch.
            local queue = child.queue
            child.queue = nil
            for _, response in ipairs(queue) do
                response(false)
            end
        end
        node = child
    end
    wake_subtree(node, path)
end

function command.UPDATE(...)
    local old = update(database, ...)
    if select("#", ...) > 1 and select(select("#", ...), ...) ~= nil then
        wakeup(...)
    end
    return old
end

local function wait(...)
    local node = waiters
    for i = 1, select("#", ...) do
        local key = select(i, ...)
        if key == nil then
            error("datacenter.wait: key " .. i .. " is nil")
        end
        node.branch = node.branch or {}
        local child = node.branch[key]
        if child == nil then
            child = {}
            node.branch[key] = child
        end
        node = child
    end
    node.queue = node.queue or {}
    node.queue[#node.queue + 1] = skynet.response()
end

skynet.start(function()
    skynet.dispatch("lua", function(_, _, cmd, ...)
        if cmd == "WAIT" then
            if select("#", ...) == 0 or (...) == nil then
                error("datacenter.wait needs a key")
            end
            local value = command.QUERY(...)
            if value ~= nil then
                skynet.ret(skynet.pack(value))
            else
                wait(...)
            end
        else
            local f = command[cmd]
            if not f then
                error("datacenterd: unknown command " .. tostring(cmd))
            end
            skynet.ret(skynet.pack(f(...)))
        end
    end)
end)
