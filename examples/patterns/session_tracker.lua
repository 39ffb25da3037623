-- Pattern 4.1, session tracking: "start_operation" answers at once with an operation id, the work runs
-- in a forked coroutine, and the client is told with a "operation_complete" message when it is done;
-- meanwhile "get_status" reports where it is.
--   call "start_operation", duration_cs, input -> true, operation_id
--   send (to the client) "operation_complete", operation_id, result
--   call "get_status", operation_id  -> true, status ("running" | "completed"), result
--                                    | false, "Operation not found"
-- Beyond the tutorial: finished operations are forgotten KEEP centiseconds after they completed, so
-- the table does not grow forever.
local skynet = require "skynet"

local KEEP = 6000   -- one minute

local active_sessions = {}
local last_id = 0

local function generate_id()
    last_id = last_id + 1
    return "op-" .. last_id
end

local function perform_long_operation(duration, input)
    skynet.sleep(duration)
    return string.upper(tostring(input))
end

skynet.start(function()
    skynet.dispatch("lua", function(_, source, cmd, ...)
        if cmd == "start_operation" then
            local duration, input = ...
            local operation_id = generate_id()
            active_sessions[operation_id] = {
                status = "running",
                start_time = skynet.time(),
                client = source,
            }

            -- Start background operation
            skynet.fork(function()
                local result = perform_long_operation(duration, input)
                active_sessions[operation_id].result = result
                active_sessions[operation_id].status = "completed"

                -- Notify client
                skynet.send(source, "lua", "operation_complete", operation_id, result)

                skynet.sleep(KEEP)
                active_sessions[operation_id] = nil
            end)

            skynet.ret(skynet.pack(true, operation_id))

        elseif cmd == "get_status" then
            local operation_id = ...
            local session_data = active_sessions[operation_id]
            if session_data then
                skynet.ret(skynet.pack(true, session_data.status, session_data.result))
            else
                skynet.ret(skynet.pack(false, "Operation not found"))
            end
        else
            error("unknown command " .. tostring(cmd))
        end
    end)
end)
