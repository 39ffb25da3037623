-- Pattern 3.1, multi-step requests: the PAYMENT service.
--   call "process_payment", user_id, amount  -> true, transaction_id | false, reason
--   call "refund", transaction_id            -> true | false, reason
--   call "balance", user_id                  -> true, balance
local skynet = require "skynet"

local balances = { alice = 100, bob = 5 }
local transactions = {}     -- id -> { user, amount, refunded }
local last_id = 0

local CMD = {}

function CMD.process_payment(user_id, amount)
    local balance = balances[user_id]
    if balance == nil then
        return false, "Unknown user"
    end
    if balance < amount then
        return false, "Insufficient funds"
    end
    balances[user_id] = balance - amount
    last_id = last_id + 1
    local id = string.format("tx-%04d", last_id)
    transactions[id] = { user = user_id, amount = amount }
    return true, id
end

function CMD.refund(transaction_id)
    local tx = transactions[transaction_id]
    if tx == nil or tx.refunded then
        return false, "No such transaction"
    end
    tx.refunded = true
    balances[tx.user] = balances[tx.user] + tx.amount
    return true
end

function CMD.balance(user_id)
    return true, balances[user_id] or 0
end

skynet.start(function()
    skynet.dispatch("lua", function(_, _, cmd, ...)
        local f = CMD[cmd]
        if not f then
            error("unknown command " .. tostring(cmd))
        end
        skynet.ret(skynet.pack(f(...)))
    end)
    skynet.register("PAYMENT")
end)
