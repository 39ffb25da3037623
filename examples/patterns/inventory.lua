-- Pattern 3.1, multi-step requests: the INVENTORY service. Items are lists of { sku, qty, price }.
--   call "check_inventory", items   -> true, available (boolean)
--   call "update_inventory", items  -> true | false, "Items not available"
--       takes the items out of stock, all or nothing, checking again: another order may have taken
--       them since this one's check
--   call "restock", items           -> true
--   call "stock", sku               -> true, quantity
local skynet = require "skynet"

local stock = { apple = 10, pear = 4, plum = 0 }

local function available(items)
    local wanted = {}
    for _, item in ipairs(items) do
        wanted[item.sku] = (wanted[item.sku] or 0) + item.qty
    end
    for sku, qty in pairs(wanted) do
        if (stock[sku] or 0) < qty then
            return false
        end
    end
    return true
end

local CMD = {}

function CMD.check_inventory(items)
    return true, available(items)
end

function CMD.update_inventory(items)
    if not available(items) then
        return false, "Items not available"
    end
    for _, item in ipairs(items) do
        stock[item.sku] = stock[item.sku] - item.qty
    end
    return true
end

function CMD.restock(items)
    for _, item in ipairs(items) do
        stock[item.sku] = (stock[item.sku] or 0) + item.qty
    end
    return true
end

function CMD.stock(sku)
    return true, stock[sku] or 0
end

skynet.start(function()
    skynet.dispatch("lua", function(_, _, cmd, ...)
        local f = CMD[cmd]
        if not f then
            error("unknown command " .. tostring(cmd))
        end
        skynet.ret(skynet.pack(f(...)))
    end)
    skynet.register("INVENTORY")
end)
