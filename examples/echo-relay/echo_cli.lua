-- The CLI of the echo relay: reads lines from the terminal (socket.stdin + socket.readline), sends each
-- to the relay by its name, and waits at most echo_timeout seconds for the worker's answer: it prints
-- the upper-cased text and the worker's address, or "timeout". At end of input it asks the relay to
-- finish (bounded by the same timeout), prints the counters and ends the node.
--
-- Lines "/stats" and "/kill" are commands: the relay's counters, and killing the relay (every line
-- after that times out, since the relay's name has nobody behind it). Empty lines are skipped.
local skynet = require "skynet"
require "skynet.manager"
local socket = require "skynet.socket"

local relay_name = skynet.getenv("echo_relay_name") or "relay"
local timeout = math.floor((tonumber(skynet.getenv("echo_timeout")) or 2) * 100)
local prompt = skynet.getenv("echo_prompt") or "> "

local waiting = nil     -- the line waiting for its answer: { id = n, answer = nil | table }
local last_id = 0

local function out(text)
    io.write(text .. "\n")  -- one write per line, so log lines never land inside it
    io.stdout:flush()
end

-- The answer of a worker. Answers to lines that already timed out are dropped.
local function echo_response(id, resp)
    local w = waiting
    if w and w.id == id then
        w.answer = resp
        skynet.wakeup(w)
    end
end

-- skynet.call bounded by `ti` centiseconds: true, results... or false, "timeout" / the error.
local function call_within(ti, addr, ...)
    local token = {}
    local result
    local args = table.pack(...)
    skynet.fork(function()
        result = table.pack(pcall(skynet.call, addr, "lua", table.unpack(args, 1, args.n)))
        skynet.wakeup(token)
    end)
    skynet.sleep(ti, token)
    if not result then
        return false, "timeout"
    end
    return table.unpack(result, 1, result.n)
end

local function echo(line)
    last_id = last_id + 1
    local w = { id = last_id }
    waiting = w
    if not skynet.send(relay_name, "lua", "echo", w.id, line) then
        waiting = nil
        out("  error: relay not available")
        return
    end
    -- like the seed's select over the inbox and time.after("2s"): a sleep that the answer cuts short
    skynet.sleep(timeout, w)
    waiting = nil
    if w.answer then
        out("  " .. w.answer.data)
        out("  from worker: " .. skynet.address(w.answer.worker))
    else
        out("  timeout")
    end
end

local function show_stats()
    local ok, s = call_within(timeout, relay_name, "stats")
    if ok then
        out(string.format("  messages: %d, workers spawned: %d, workers exited: %d", s.messages,
            s.workers_spawned, s.workers_exited))
    else
        out("  timeout")
    end
end

local function kill_relay()
    local addr = skynet.query(relay_name)
    if addr then
        skynet.kill(addr)
        out("  relay " .. skynet.address(addr) .. " killed")
    else
        out("  no relay running")
    end
end

local function main()
    local stdin = assert(socket.stdin(), "cannot read the standard input")
    out("Echo Client")
    out("Type messages to echo. Ctrl-D to exit.")
    while true do
        if prompt ~= "" then
            io.write(prompt)
            io.stdout:flush()
        end
        local line = socket.readline(stdin)
        if not line then
            break
        end
        line = line:gsub("\r$", "")
        if line == "/stats" then
            show_stats()
        elseif line == "/kill" then
            kill_relay()
        elseif line ~= "" then
            echo(line)
        end
    end
    out("")
    -- let the relay see its last workers end, so their exit lines are logged before the node stops
    local ok, s = call_within(timeout, relay_name, "drain")
    if ok then
        out(string.format("Goodbye! (%d messages, %d workers)", s.messages, s.workers_spawned))
    else
        out("Goodbye! (the relay did not answer)")
    end
    socket.close(stdin)
    skynet.abort()
end

skynet.start(function()
    skynet.dispatch("lua", function(_, _, cmd, ...)
        if cmd == "echo_response" then
            echo_response(...)
        end
    end)
    skynet.fork(main)
end)
