-- The chat node's start service: starts CHAT_HUB, the debug console (127.0.0.1 only) and the TCP front
-- (chat_watchdog), then logs how to connect. Config keys: chat_host, chat_port, chat_maxclient,
-- console_port (see examples/chat/config).
local skynet = require "skynet"

local function number_env(key, default)
    local v = skynet.getenv(key)
    if v == nil or v == "" then
        return default
    end
    return assert(math.tointeger(tonumber(v)), key .. " must be an integer, got " .. v)
end

skynet.start(function()
    skynet.newservice("chat_message_hub")
    local console_port = number_env("console_port", nil)
    if console_port then
        skynet.newservice("debug_console", "127.0.0.1", console_port)
    end
    local watchdog = skynet.newservice("chat_watchdog")
    local host = skynet.getenv("chat_host") or "0.0.0.0"
    local _, port = skynet.call(watchdog, "lua", "start", {
        host = host,
        port = number_env("chat_port", 8888),
        maxclient = number_env("chat_maxclient", 1024),
    })
    local shown = (host == "0.0.0.0" or host == "::") and "127.0.0.1" or host
    skynet.error(string.format("chat: connect with nc %s %d", shown, port))
    skynet.exit()
end)
