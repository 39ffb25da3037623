-- Started as a unique service; its start is slow so that concurrent uniqueservice calls overlap.
-- Every start is counted in the datacenter under ("svc_unique", <first arg>).
local skynet = require "skynet"
local datacenter = require "skynet.datacenter"
local tag = ... or "default"

skynet.start(function()
    local n = datacenter.get("svc_unique", tag) or 0
    datacenter.set("svc_unique", tag, n + 1)
    skynet.sleep(20)
    skynet.dispatch("lua", function(_, _, command)
        if command == "whoami" then
            skynet.retpack(skynet.self(), tag)
        end
    end)
end)
