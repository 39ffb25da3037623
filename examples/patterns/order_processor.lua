-- Pattern 3.1, multi-step requests: process_order checks the inventory, takes the payment, updates
-- the inventory and records the order, each step a call to another service found by name
-- (skynet.query, extension §8), as in the tutorial.
--   call "process_order", order_id, user_id, items  -> true, transaction_id | false, reason
--
-- Beyond the tutorial: requests are handled concurrently, so between this order's check and its
-- update another order may take the last items. The update checks again, and if it fails the payment
-- is refunded (a compensating step) instead of leaving the customer charged for nothing. A missing
-- service fails the order instead of raising.
local skynet = require "skynet"

local function calculate_total(items)
    local total = 0
    for _, item in ipairs(items) do
        total = total + item.qty * item.price
    end
    return total
end

local function process_order(order_id, user_id, items)
    local inventory_service = skynet.query("INVENTORY")
    local payment_service = skynet.query("PAYMENT")
    local order_service = skynet.query("ORDER")
    if not (inventory_service and payment_service and order_service) then
        return false, "Service unavailable"
    end

    -- Step 1: validate inventory
    local ok, available = skynet.call(inventory_service, "lua", "check_inventory", items)
    if not ok or not available then
        return false, "Items not available"
    end

    -- Step 2: process payment
    local paid, transaction_id = skynet.call(payment_service, "lua", "process_payment", user_id,
        calculate_total(items))
    if not paid then
        return false, "Payment failed: " .. tostring(transaction_id)
    end

    -- Step 3: update inventory (checked again; undo the payment if the items are gone meanwhile)
    local updated = skynet.call(inventory_service, "lua", "update_inventory", items)
    if not updated then
        skynet.call(payment_service, "lua", "refund", transaction_id)
        return false, "Items not available"
    end

    -- Step 4: create order record
    local created, err = skynet.call(order_service, "lua", "create_order", order_id, user_id, items,
        transaction_id)
    if not created then
        skynet.call(payment_service, "lua", "refund", transaction_id)
        skynet.call(inventory_service, "lua", "restock", items)
        return false, err
    end

    return true, transaction_id
end

skynet.start(function()
    skynet.dispatch("lua", function(_, _, cmd, ...)
        if cmd == "process_order" then
            skynet.ret(skynet.pack(process_order(...)))
        else
            error("unknown command " .. tostring(cmd))
        end
    end)
    skynet.register("ORDER_PROCESSOR")
end)
