-- The backend of the aggregator's "get" requests: a key/value table answered in bulk, with an
-- optional latency (centiseconds, the first argument) like a database round trip.
--   call "mget", {keys}   -> {values} (nil where a key is unknown)
--   call "set", key, value
--   call "calls"          -> how many mget calls it answered
local skynet = require "skynet"

local latency = math.tointeger(tonumber((...))) or 0

local data = {
    apple = 3, banana = 1, cherry = 12, durian = 40, elderberry = 7,
}
local mget_calls = 0

local CMD = {}

function CMD.mget(keys)
    mget_calls = mget_calls + 1
    if latency > 0 then
        skynet.sleep(latency)
    end
    local values = {}
    for i, k in ipairs(keys) do
        values[i] = data[k]
    end
    return values
end

function CMD.set(key, value)
    data[key] = value
    return true
end

function CMD.calls()
    return mget_calls
end

skynet.start(function()
    skynet.dispatch("lua", function(_, _, cmd, ...)
        local f = CMD[cmd]
        if f == nil then
            error("unknown command " .. tostring(cmd))
        end
        skynet.retpack(f(...))
    end)
end)
