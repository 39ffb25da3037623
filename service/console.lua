-- console: reads lines from stdin and launches each as a service.
--
--   name arg1 arg2 ...        skynet.newservice(name, arg1, arg2, ...)
--   snax name arg1 ...        snax.newservice(name, arg1, ...)
--
-- stdin is read through the socket layer (socket.stdin / socket.readline), so waiting for input
-- never blocks a worker thread. A failed launch is logged and the console goes on reading; at the
-- end of the input the console exits.
local skynet = require "skynet"

local function split(line)
    local words = {}
    for word in line:gmatch("%S+") do
        words[#words + 1] = word
    end
    return words
end

local function launch(line)
    local words = split(line)
    if #words == 0 then
        return
    end
    local ok, err
    if words[1] == "snax" then
        if not words[2] then
            skynet.error("console: usage: snax <name> [args...]")
            return
        end
        local snax = require "skynet.snax"
        ok, err = pcall(snax.newservice, table.unpack(words, 2))
    else
        ok, err = pcall(skynet.newservice, table.unpack(words))
        if ok and err == nil then
            skynet.error(string.format("console: %s exited during its start", line))
            return
        end
    end
    if not ok then
        skynet.error(string.format("console: launch '%s' failed: %s", line, tostring(err)))
    end
end

local function main_loop(socket)
    local stdin = socket.stdin()
    while true do
        local line = socket.readline(stdin, "\n")
        if not line then
            break
        end
        launch(line)
    end
    skynet.error("console: end of input")
    skynet.exit()
end

skynet.start(function()
    local ok, socket = pcall(require, "skynet.socket")
    if not ok then
        -- Reading stdin any other way would block a worker thread; without the socket layer the
        -- console cannot work.
        skynet.error("console: needs skynet.socket to read stdin: " .. tostring(socket))
        skynet.exit()
    end
    skynet.fork(main_loop, socket)
end)
