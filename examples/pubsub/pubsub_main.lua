-- The pub/sub node (examples/pubsub/README.md): starts the hub, names it ".pubsub" so that the `pubsub`
-- module finds it, opens its Unix socket path (and TCP port, when configured) and starts the monitor.
--
-- Config keys: pubsub_socket (path; required), pubsub_tcp_port (optional; 0 picks a free port),
-- pubsub_tcp_host (default 127.0.0.1), pubsub_max_frame, pubsub_max_clients, pubsub_max_pending,
-- pubsub_monitor (channels the monitor logs, separated by spaces; empty: no monitor).
local skynet = require "skynet"

local function env(key)
    local v = skynet.getenv(key)
    if v == nil or v == "" then
        return nil
    end
    return v
end

skynet.start(function()
    local path = env "pubsub_socket"
    assert(path, "pubsub: the config needs pubsub_socket (the path of the Unix socket)")
    local hub = skynet.newservice("pubsub_hub")
    skynet.name(".pubsub", hub)
    local addresses = skynet.call(hub, "lua", "open", {
        socket = path,
        tcp_port = env "pubsub_tcp_port",
        tcp_host = env "pubsub_tcp_host",
        max_frame = env "pubsub_max_frame",
        max_clients = env "pubsub_max_clients",
        max_pending = env "pubsub_max_pending",
    })
    local channels = env "pubsub_monitor"
    if channels then
        skynet.newservice("pubsub_monitor", channels)
    end
    skynet.error("pubsub: ready; chat with  python3 examples/pubsub/client/chat.py " .. path)
    if addresses.tcp then
        skynet.error("pubsub: or over TCP:       python3 examples/pubsub/client/chat.py tcp:" .. addresses.tcp)
    end
    skynet.exit()
end)
