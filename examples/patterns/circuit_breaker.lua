-- Pattern 6.1, circuit breaker: calls to a service (by name) go through a breaker. After `threshold`
-- failures in a row the breaker opens: calls fail at once, without reaching the service, for
-- `timeout` seconds. Then it is half-open: one call is let through; if it succeeds the breaker
-- closes, if it fails it opens again.
--   skynet.newservice("circuit_breaker", threshold, timeout_seconds)   (defaults 5 and 60)
--   call "call", service_name, ...  -> true, results... | false, "Circuit breaker open"
--                                    | false, "Service call failed: ..."
--   call "state", service_name       -> state, failures
--
-- Fixes to the tutorial's code: the breaker table is stored (the tutorial makes a new one for every
-- call, so it never opens); success and failure answers have the same shape (a flag first); only
-- one trial call passes while half-open; an unregistered name counts as a failure.
local skynet = require "skynet"

local threshold, timeout = ...
threshold = math.tointeger(tonumber(threshold)) or 5
timeout = tonumber(timeout) or 60

local circuit_breakers = {}

local function breaker(service_name)
    local cb = circuit_breakers[service_name]
    if cb == nil then
        cb = {
            state = "closed",   -- closed, open, half-open
            failures = 0,
            last_failure = 0,
            threshold = threshold,
            timeout = timeout,  -- seconds
            trial = false,      -- a half-open trial call is under way
        }
        circuit_breakers[service_name] = cb
    end
    return cb
end

local function call_with_circuit(service_name, ...)
    local cb = breaker(service_name)

    if cb.state == "open" then
        if skynet.time() - cb.last_failure > cb.timeout then
            cb.state = "half-open"
        else
            return false, "Circuit breaker open"
        end
    end
    if cb.state == "half-open" then
        if cb.trial then
            return false, "Circuit breaker open"
        end
        cb.trial = true
    end

    local service = skynet.query(service_name)
    local ok, result
    if service then
        ok, result = pcall(skynet.call, service, ...)
    else
        ok, result = false, "no service named " .. service_name
    end
    cb.trial = false

    if ok then
        cb.failures = 0
        cb.state = "closed"
        return true, result
    else
        cb.failures = cb.failures + 1
        cb.last_failure = skynet.time()

        if cb.failures >= cb.threshold or cb.state == "half-open" then
            cb.state = "open"
        end

        return false, "Service call failed: " .. tostring(result)
    end
end

skynet.start(function()
    skynet.dispatch("lua", function(_, _, cmd, ...)
        if cmd == "call" then
            skynet.ret(skynet.pack(call_with_circuit(...)))
        elseif cmd == "state" then
            local cb = breaker((...))
            skynet.ret(skynet.pack(cb.state, cb.failures))
        else
            error("unknown command " .. tostring(cmd))
        end
    end)
end)
