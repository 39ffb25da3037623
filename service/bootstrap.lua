-- bootstrap: the first Lua service (spec §4.3). It brings up the system services in skynet's order,
-- launches the user's start service, and exits.
--
--   .launcher      snlua launcher, started directly with the core's LAUNCH (there is no launcher yet)
--   .cslave        cdummy: the single-node harbor slave (global name registry waiters)
--   DATACENTER     datacenterd, a global name
--   .service       service_mgr (it registers itself, and the global SERVICE)
--   start service  the config's `start`, default "main"
--
-- Only single-node operation exists here, so a config with `harbor` other than 0 is booted as if it
-- said 0, with a log line saying so.
local skynet = require "skynet"
require "skynet.manager"    -- skynet.launch, skynet.name, skynet.abort

-- A system service that cannot start leaves a node that can do nothing useful: say why and stop,
-- rather than hang with no start service.
local function fatal(what, err)
    skynet.error(string.format("bootstrap: %s failed: %s; aborting", what, tostring(err)))
    require("skynet.core").command("ABORT", "1")
end

-- newservice that reports instead of raising; returns the address or nil.
local function start_system_service(name)
    local ok, addr = pcall(skynet.newservice, name)
    if not ok then
        fatal("starting " .. name, addr)
        return nil
    end
    if not addr then
        fatal("starting " .. name, "it exited during its start")
        return nil
    end
    return addr
end

local function boot()
    local launcher = skynet.launch("snlua", "launcher")
    if not launcher then
        return fatal("launching the launcher", "LAUNCH snlua launcher returned nothing")
    end
    skynet.name(".launcher", launcher)

    local harbor = skynet.getenv "harbor"
    local harbor_id = tonumber(harbor or 0)
    if harbor_id ~= 0 then
        skynet.error(string.format(
            "bootstrap: harbor = %s, but only single-node operation is supported; booting as harbor 0",
            tostring(harbor)))
    end

    -- Single node: the node is its own master. The key may already be set by the config, and
    -- setenv of an existing key raises, so only set it when absent.
    if skynet.getenv "standalone" == nil then
        skynet.setenv("standalone", "true")
    end

    local slave = start_system_service "cdummy"
    if not slave then return end
    skynet.name(".cslave", slave)

    local datacenter = start_system_service "datacenterd"
    if not datacenter then return end
    skynet.name("DATACENTER", datacenter)

    -- service_mgr names itself .service (and SERVICE, since we are standalone).
    if not start_system_service "service_mgr" then return end

    local enablessl = skynet.getenv "enablessl"
    if enablessl ~= nil and enablessl ~= "false" then
        skynet.error("bootstrap: enablessl is set but TLS is not supported by this node; ignored")
    end

    -- skynet keeps an empty node running when the start service fails; a user who typed a wrong name
    -- is better served by the error and exit code 1 (ABORT takes an exit code here).
    local start = skynet.getenv "start" or "main"
    local ok, err = pcall(skynet.newservice, start)
    if not ok then
        skynet.error(string.format("bootstrap: start service '%s' failed: %s; stopping the node", start,
            tostring(err)))
        require("skynet.core").command("ABORT", "1")
        return
    end
    skynet.exit()
end

skynet.start(boot)
