-- pubsub_monitor: a Lua subscriber, the example of the `pubsub` module. Subscribes to the channels named
-- in its arguments with type "*" (every type) and logs every message, one line each:
--   monitor: [chat] string pair from client 2: "alice", "hello"
-- Fields: strings in double quotes (control characters, '"' and '\' as \ddd), integers as they are,
-- floats exactly (%.17g, with ".0" when they would look like an integer), bytes as 0x and hex digits.
local skynet = require "skynet"
local pubsub = require "pubsub"

local function show(value, kind)
    if kind == "string" then
        return '"' .. value:gsub('[%c"\\]', function(c)
            return string.format("\\%03d", c:byte())
        end) .. '"'
    elseif kind == "bytes" then
        return "0x" .. value:gsub(".", function(c)
            return string.format("%02x", c:byte())
        end)
    elseif kind == "float" then
        -- exact, and never mistaken for an integer: 1.0 shows as "1.0"
        local text = string.format("%.17g", value)
        if text:match("^-?%d+$") then
            text = text .. ".0"
        end
        return text
    end
    return tostring(value)
end

local function sender(from)
    local service = pubsub.from_service(from)
    if service then
        return skynet.address(service)
    end
    return "client " .. from
end

local function log_message(msg)
    local fields = {}
    for i = 1, msg.n do
        fields[i] = show(msg[i], msg.kinds[i])
    end
    skynet.error(string.format("monitor: [%s] %s from %s: %s", msg.channel, msg.type, sender(msg.from),
        table.concat(fields, ", ")))
end

local args = table.pack(...)   -- the service's arguments: channel names

skynet.start(function()
    local channels = {}
    for i = 1, args.n do
        for name in tostring(args[i]):gmatch("%S+") do
            pubsub.subscribe(name, "*", log_message)
            channels[#channels + 1] = name
        end
    end
    skynet.error("monitor: watching " .. table.concat(channels, ", "))
end)
