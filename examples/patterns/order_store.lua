-- Pattern 3.1, multi-step requests: the ORDER service, where orders are recorded.
--   call "create_order", order_id, user_id, items, transaction_id  -> true | false, "Order exists"
--   call "get_order", order_id  -> true, order | false, "Order not found"
local skynet = require "skynet"

local orders = {}

local CMD = {}

function CMD.create_order(order_id, user_id, items, transaction_id)
    if orders[order_id] then
        return false, "Order exists"
    end
    orders[order_id] = {
        id = order_id, user = user_id, items = items, transaction = transaction_id, time = skynet.time(),
    }
    return true
end

function CMD.get_order(order_id)
    local order = orders[order_id]
    if not order then
        return false, "Order not found"
    end
    return true, order
end

skynet.start(function()
    skynet.dispatch("lua", function(_, _, cmd, ...)
        local f = CMD[cmd]
        if not f then
            error("unknown command " .. tostring(cmd))
        end
        skynet.ret(skynet.pack(f(...)))
    end)
    skynet.register("ORDER")
end)
