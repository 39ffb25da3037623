-- Pattern 5.1, message batching: "process" requests are not answered one by one; they are collected
-- and processed together when batch_size of them wait or `interval` after the first one, then each
-- caller gets its answer.
--   skynet.newservice("batch_processor", batch_size, interval_cs)    (defaults 100 and 100, as in
--   the tutorial)
--   call "process", x  -> x * x
--   call "batches"     -> the size of every batch processed so far
--
-- As in the tutorial the answers go out with skynet.redirect, the raw form of skynet.ret: a message of
-- type "response" to the caller, carrying the caller's session. Fixes to the tutorial's code: the
-- answer goes to the caller (item.source) as a "response", not to this service as "lua"; the request
-- is marked as answered elsewhere with skynet.ignoreret(); and a batch flushed by size cancels the
-- pending timer (skynet.kill), which the tutorial leaves running to flush the next batch too early.
local skynet = require "skynet"
require "skynet.manager"    -- skynet.kill

local batch_size, interval = ...
batch_size = math.tointeger(tonumber(batch_size)) or 100
interval = math.tointeger(tonumber(interval)) or 100

local batch_queue = {}
local batch_timer
local batches = {}

local function process_item(x)
    return x * x
end

local function process_batch()
    if #batch_queue == 0 then
        return
    end

    local current_batch = batch_queue
    batch_queue = {}
    batches[#batches + 1] = #current_batch

    -- Process all items in batch
    local results = {}
    for i, item in ipairs(current_batch) do
        results[i] = process_item(item.data)
    end

    -- Send responses
    for i, item in ipairs(current_batch) do
        if item.session ~= 0 then   -- a send expects nothing back
            skynet.redirect(item.source, skynet.self(), "response", item.session, skynet.pack(results[i]))
        end
    end
end

skynet.start(function()
    skynet.dispatch("lua", function(session, source, cmd, ...)
        if cmd == "process" then
            batch_queue[#batch_queue + 1] = {
                data = ...,
                source = source,
                session = session,
            }
            -- Don't call skynet.ret(): the answer comes when the batch is processed
            skynet.ignoreret()

            if #batch_queue >= batch_size then
                if batch_timer then
                    skynet.kill(batch_timer)
                    batch_timer = nil
                end
                process_batch()
            elseif not batch_timer then
                batch_timer = skynet.timeout(interval, function()
                    batch_timer = nil
                    process_batch()
                end)
            end
        elseif cmd == "batches" then
            skynet.ret(skynet.pack(batches))
        else
            error("unknown command " .. tostring(cmd))
        end
    end)
end)
