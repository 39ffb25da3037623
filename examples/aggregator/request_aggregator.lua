-- The request aggregator (the exercise of section 8 of the message passing tutorial).
--
--   skynet.newservice("request_aggregator", batch_size, interval, timeout, store)
--       batch_size  requests per batch before it is flushed at once        (default 10)
--       interval    centiseconds a batch waits at most for more requests   (default 10 = 100 ms)
--       timeout     default deadline of a request, centiseconds            (default 100)
--       store       address of an aggregator_store for "get" (default: a new one)
--
--   skynet.call(agg, "lua", "request", type, payload [, opts]) -> ok, value
--       opts.timeout  this request's deadline in centiseconds
--       opts.client   the key whose order is kept (default: the caller's address)
--   Answers are true, value, or false, "timeout" / an error text; they never raise in the caller.
--
-- How it works:
--   * every request takes its own skynet.response() closure and joins the queue of the next batch;
--   * the batch is flushed when batch_size requests wait, or `interval` after its first request (a
--     skynet.timeout that a flush by size cancels with skynet.kill, extension §8);
--   * a flushed batch is split by request type; each type's handler gets all its payloads at once, in
--     a coroutine of its own, so a slow type does not hold up the others ("get" asks the store for all
--     its keys with a single call);
--   * every request also has a deadline timer (cancelled when it is answered); at the deadline it is
--     completed with false, "timeout", and its result, if it ever comes, is dropped;
--   * answers go out per client in the order the client's requests arrived: a finished request waits
--     for the earlier unfinished requests of the same client. So a request is answered, at the latest,
--     once its own deadline and those of the client's earlier requests have passed.
local skynet = require "skynet"
require "skynet.manager"    -- skynet.kill, which also cancels a skynet.timeout

local args = { ... }
local BATCH_SIZE = math.tointeger(tonumber(args[1])) or 10
local INTERVAL = math.tointeger(tonumber(args[2])) or 10
local DEFAULT_TIMEOUT = math.tointeger(tonumber(args[3])) or 100
local store = args[4] and tonumber((args[4]:gsub("^:", "")), 16)

local queue = {}        -- requests waiting for the next flush, in arrival order
local flush_timer       -- the pending interval timer of the current batch
local clients = {}      -- client key -> { next_seq, next_out, reqs = { [seq] = request } }

local stats = {
    requests = 0,       -- requests received
    answered = 0,       -- answers sent
    timeouts = 0,       -- requests answered with "timeout"
    late = 0,           -- results that came after their request timed out
    timers_fired = 0,   -- deadline timers that ran (the others were cancelled in time)
    store_calls = 0,    -- calls to the store (one per batch that has "get" requests)
    by_size = 0,        -- batches flushed because batch_size requests were waiting
    by_timer = 0,       -- batches flushed by the interval timer
    batches = {},       -- per batch: { size, reason, waited (cs since its first request), types }
}

---------------------------------------------------------------------------------------------------
-- Batch handlers: handler(payloads, answer) gets every payload of one type in the batch and calls
-- answer(i, ok, value) for each; it may answer them one by one or all together. If it raises, the
-- requests it has not answered fail with the error.

local handlers = {}

function handlers.upper(payloads, answer)
    for i, p in ipairs(payloads) do
        if type(p) == "string" then
            answer(i, true, string.upper(p))
        else
            answer(i, false, "upper needs a string")
        end
    end
end

function handlers.sum(payloads, answer)
    for i, p in ipairs(payloads) do
        local total = 0
        if type(p) == "table" then
            for _, v in ipairs(p) do
                if type(v) ~= "number" then
                    total = nil
                    break
                end
                total = total + v
            end
        else
            total = nil
        end
        if total then
            answer(i, true, total)
        else
            answer(i, false, "sum needs a list of numbers")
        end
    end
end

-- One store call for every key of the batch (each key asked once).
function handlers.get(payloads, answer)
    local keys, index = {}, {}
    for _, key in ipairs(payloads) do
        if index[key] == nil then
            keys[#keys + 1] = key
            index[key] = #keys
        end
    end
    stats.store_calls = stats.store_calls + 1
    local found = skynet.call(store, "lua", "mget", keys)
    for i, key in ipairs(payloads) do
        answer(i, true, found[index[key]])
    end
end

-- A slow job: the payload is how many centiseconds it works. The items of a batch run side by side,
-- each answered when it is done.
function handlers.delay(payloads, answer)
    for i, ti in ipairs(payloads) do
        ti = math.tointeger(ti)
        if ti == nil or ti < 0 then
            answer(i, false, "delay needs a number of centiseconds")
        else
            skynet.fork(function()
                skynet.sleep(ti)
                answer(i, true, ti)
            end)
        end
    end
end

---------------------------------------------------------------------------------------------------
-- Answers, in order per client

local function release(key)
    local c = clients[key]
    while true do
        local req = c.reqs[c.next_out]
        if req == nil or not req.done then
            break
        end
        c.reqs[c.next_out] = nil
        c.next_out = c.next_out + 1
        req.resp(true, req.ok, req.value)   -- false when the client is gone: nothing to do
        stats.answered = stats.answered + 1
    end
    if c.next_out == c.next_seq then
        clients[key] = nil
    end
end

local function complete(req, ok, value)
    if req.done then
        -- it timed out before its result came
        stats.late = stats.late + 1
        return
    end
    req.done, req.ok, req.value = true, ok, value
    if req.timer then
        skynet.kill(req.timer)
        req.timer = nil
    end
    release(req.client)
end

---------------------------------------------------------------------------------------------------
-- Batches

local function run_group(rtype, group)
    local payloads = {}
    for i, req in ipairs(group) do
        payloads[i] = req.payload
    end
    local answered = {}
    local function answer(i, ok, value)
        if not answered[i] then
            answered[i] = true
            complete(group[i], ok, value)
        end
    end
    local ok, err = pcall(handlers[rtype], payloads, answer)
    if not ok then
        for i = 1, #group do
            answer(i, false, tostring(err))
        end
    end
end

local function flush(reason)
    if flush_timer then
        skynet.kill(flush_timer)
        flush_timer = nil
    end
    local batch = queue
    queue = {}
    local groups, order = {}, {}
    for _, req in ipairs(batch) do
        if not req.done then    -- a request that timed out while waiting is not worth processing
            local g = groups[req.type]
            if g == nil then
                g = {}
                groups[req.type] = g
                order[#order + 1] = req.type
            end
            g[#g + 1] = req
        end
    end
    if reason == "size" then
        stats.by_size = stats.by_size + 1
    else
        stats.by_timer = stats.by_timer + 1
    end
    local record = { size = #batch, reason = reason, waited = skynet.now() - batch[1].arrived, types = {} }
    for _, rtype in ipairs(order) do
        record.types[rtype] = #groups[rtype]
        skynet.fork(run_group, rtype, groups[rtype])
    end
    stats.batches[#stats.batches + 1] = record
end

local function enqueue(req)
    queue[#queue + 1] = req
    if #queue >= BATCH_SIZE then
        flush("size")
    elseif flush_timer == nil then
        flush_timer = skynet.timeout(INTERVAL, function()
            flush_timer = nil
            flush("timer")
        end)
    end
end

---------------------------------------------------------------------------------------------------
-- Requests

local CMD = {}

function CMD.request(source, rtype, payload, opts)
    opts = opts or {}
    local key = opts.client or source
    local c = clients[key]
    if c == nil then
        c = { next_seq = 1, next_out = 1, reqs = {} }
        clients[key] = c
    end
    local req = {
        client = key,
        type = rtype,
        payload = payload,
        resp = skynet.response(),
        arrived = skynet.now(),
    }
    c.reqs[c.next_seq] = req
    c.next_seq = c.next_seq + 1
    stats.requests = stats.requests + 1

    if handlers[rtype] == nil then
        -- answered at once, but still in its place among the client's answers
        complete(req, false, "unknown request type: " .. tostring(rtype))
        return
    end
    local ti = math.tointeger(opts.timeout) or DEFAULT_TIMEOUT
    req.timer = skynet.timeout(ti, function()
        req.timer = nil
        stats.timers_fired = stats.timers_fired + 1
        if not req.done then
            stats.timeouts = stats.timeouts + 1
            complete(req, false, "timeout")
        end
    end)
    enqueue(req)
end

function CMD.stats()
    skynet.retpack(stats)
end

function CMD.reset_stats()
    stats.requests, stats.answered, stats.timeouts, stats.late, stats.timers_fired = 0, 0, 0, 0, 0
    stats.store_calls, stats.by_size, stats.by_timer, stats.batches = 0, 0, 0, {}
    skynet.retpack(true)
end

function CMD.config()
    skynet.retpack({ batch_size = BATCH_SIZE, interval = INTERVAL, timeout = DEFAULT_TIMEOUT, store = store })
end

skynet.start(function()
    if store == nil then
        store = skynet.newservice("aggregator_store")
    end
    skynet.dispatch("lua", function(_, source, cmd, ...)
        local f = CMD[cmd]
        if f == nil then
            error("unknown command " .. tostring(cmd))
        end
        if cmd == "request" then
            f(source, ...)
        else
            f(...)
        end
    end)
end)
