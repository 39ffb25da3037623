-- The listener of the echo server: accepts connections and gives each one its own service
-- (echo_session), the way the Elixir version spawns a process per client.
local skynet = require "skynet"
local socket = require "skynet.socket"

skynet.start(function()
    local host = skynet.getenv("echo_host") or "0.0.0.0"
    local port = math.tointeger(tonumber(skynet.getenv("echo_port"))) or 8000
    local id, _, bound_port = socket.listen(host, port)
    skynet.error(string.format("Listening on port %d...", bound_port))
    socket.start(id, function(fd, addr)
        -- The new service takes the connection over with socket.start; if it cannot even start, the
        -- connection is closed here so that it does not linger.
        local ok = pcall(skynet.newservice, "echo_session", fd, addr)
        if not ok then
            skynet.error(string.format("Cannot start a session for %s", addr))
            socket.close_fd(fd)
        end
    end)
end)
