-- pubsub: named channels for Lua services, over the hub of examples/pubsub (pubsub_hub.lua).
--
--   local pubsub = require "pubsub"
--   local sub = pubsub.subscribe("chat", "string pair", function(msg)
--       local name, text = msg:read_string(), msg:read_string()
--   end)
--   pubsub.publish("chat", "string pair", "lua", "hello")        -- waits; returns the subscribers reached
--   pubsub.post("chat", "string pair", "lua", "hello")           -- does not wait
--   sub:unsubscribe()
--
-- Fields: a Lua integer is an integer field, a float a float field, a string a string field (it must be
-- UTF-8), and pubsub.bytes(s) a bytes field. pubsub.writer() builds a message field by field instead.
-- A message handed to a callback has msg.channel, msg.type, msg.from, msg.n, the values msg[1..n], their
-- kinds msg.kinds[1..n] ("string", "integer", "float", "bytes"), and read_* methods that take the fields
-- in order, as the Python client's MessageReader does.
--
-- The hub is the service named ".pubsub", or whatever pubsub.use(addr) says. Subscriptions of this
-- service are kept per channel here: the hub sees one subscription per channel, whose type is the type
-- of the local subscribers ("*" when they all take any type).
local skynet = require "skynet"
local queue = require "skynet.queue"
local wire = require "pubsub.wire"

local string_format = string.format
local math_type = math.type
local type = type
local select = select
local error = error
local setmetatable = setmetatable

local PTYPE_PUBSUB = 26   -- as in pubsub_hub.lua

local pubsub = {}

local hub_address       -- resolved lazily, or set by pubsub.use
local local_subs = {}   -- channel -> { [token] = true }, and the type the hub knows: wire_types[channel]
local wire_types = {}
-- Calls to the hub that change subscriptions go one at a time, so that the hub sees the changes in the
-- order they were made here.
local in_order = queue()

-------------------------------------------------------------------------------- the hub

function pubsub.use(addr)
    hub_address = addr
end

local function hub()
    if hub_address == nil then
        hub_address = skynet.localname(".pubsub")
        if hub_address == nil then
            error("pubsub: no hub (start pubsub_hub and name it .pubsub, or call pubsub.use(addr))", 3)
        end
    end
    return hub_address
end

-------------------------------------------------------------------------------- writing messages

local BYTES = {}   -- metatable of pubsub.bytes values

-- Marks a string as a bytes field (any bytes, not only UTF-8).
function pubsub.bytes(s)
    if type(s) ~= "string" then
        error("pubsub.bytes needs a string, got " .. type(s), 2)
    end
    return setmetatable({ s }, BYTES)
end

local writer_methods = {}
writer_methods.__index = writer_methods

function writer_methods:string(v)
    wire.pack_field(self.parts, "string", v)
    return self
end

function writer_methods:integer(v)
    wire.pack_field(self.parts, "integer", v)
    return self
end

function writer_methods:float(v)
    wire.pack_field(self.parts, "float", v)
    return self
end

function writer_methods:bytes(v)
    wire.pack_field(self.parts, "bytes", v)
    return self
end

-- The encoded body (what goes on the wire after the channel and type).
function writer_methods:body()
    return table.concat(self.parts)
end

-- A message built field by field: pubsub.writer():string("x"):integer(1):float(0.5):bytes("\0")
function pubsub.writer()
    return setmetatable({ parts = {} }, writer_methods)
end

-- The body of the values given to publish/post: one writer, or a list of plain values.
local function encode_values(...)
    local n = select("#", ...)
    local first = ...
    if n == 1 and getmetatable(first) == writer_methods then
        return first:body()
    end
    local parts = {}
    for i = 1, n do
        local v = select(i, ...)
        local t = type(v)
        if t == "string" then
            wire.pack_field(parts, "string", v)
        elseif t == "number" then
            wire.pack_field(parts, math_type(v) == "integer" and "integer" or "float", v)
        elseif t == "table" and getmetatable(v) == BYTES then
            wire.pack_field(parts, "bytes", v[1])
        else
            error(string_format("pubsub: field %d is a %s (strings, numbers and pubsub.bytes only)", i, t), 3)
        end
    end
    return table.concat(parts)
end

local function check_names(channel, msgtype, level)
    local ok, why = wire.check_name(channel, "channel")
    if ok then
        ok, why = wire.check_name(msgtype, "message type")
    end
    if not ok then
        error("pubsub: " .. why, level + 1)
    end
end

-- Publishes and waits for the hub: returns the number of subscribers reached (0 when nobody listens).
-- Raises when the channel carries another type.
function pubsub.publish(channel, msgtype, ...)
    check_names(channel, msgtype, 2)
    local body = encode_values(...)
    local n, _, why = skynet.call(hub(), "lua", "publish", channel, msgtype, body)
    if not n then
        error("pubsub: publish refused: " .. tostring(why), 2)
    end
    return n
end

-- Publishes without waiting; a refusal is logged by the hub.
function pubsub.post(channel, msgtype, ...)
    check_names(channel, msgtype, 2)
    local body = encode_values(...)
    skynet.send(hub(), "lua", "publish", channel, msgtype, body)
end

-------------------------------------------------------------------------------- reading messages

local reader_methods = {}
reader_methods.__index = reader_methods

local function take(msg, kind)
    local i = msg.pos
    if i > msg.n then
        error(string_format("pubsub: no field %d to read as %s (the message has %d)", i, kind, msg.n), 3)
    end
    local k = msg.kinds[i]
    if kind and k ~= kind then
        error(string_format("pubsub: field %d is %s, not %s", i, k, kind), 3)
    end
    msg.pos = i + 1
    return msg[i], k
end

function reader_methods:read_string() return (take(self, "string")) end
function reader_methods:read_integer() return (take(self, "integer")) end
function reader_methods:read_float() return (take(self, "float")) end
function reader_methods:read_bytes() return (take(self, "bytes")) end
-- The next field whatever its kind: value, kind.
function reader_methods:read() return take(self, nil) end
-- Fields not read yet.
function reader_methods:remaining() return self.n - self.pos + 1 end

local function new_message(channel, msgtype, from, values, kinds, n)
    local msg = setmetatable({ channel = channel, type = msgtype, from = from, kinds = kinds, n = n, pos = 1 },
        reader_methods)
    for i = 1, n do
        msg[i] = values[i]
    end
    return msg
end

-- Decodes a message body into a reader (also useful to test encoders): nil and why when malformed.
function pubsub.decode(body, channel, msgtype, from)
    local values, kinds, n = wire.decode_fields(body, 1)
    if not values then
        return nil, kinds
    end
    return new_message(channel, msgtype, from, values, kinds, n)
end

-------------------------------------------------------------------------------- subscribing

-- The type the hub should know for a channel: the one concrete type of the local subscribers, or "*".
local function wanted_type(channel)
    local subs = local_subs[channel]
    if subs == nil then
        return nil
    end
    local t = wire.ANY_TYPE
    for token in pairs(subs) do
        if token.type ~= wire.ANY_TYPE then
            t = token.type
        end
    end
    return t
end

-- Tells the hub what this service wants for `channel` now. Raises the hub's refusal (without a position:
-- the callers add theirs).
local function sync_channel(channel)
    local want = wanted_type(channel)
    if want == wire_types[channel] then
        return
    end
    local ok, _, why
    if want == nil then
        ok, _, why = skynet.call(hub(), "lua", "unsubscribe", channel)
        wire_types[channel] = nil
    else
        ok, _, why = skynet.call(hub(), "lua", "subscribe", channel, want)
        if ok then
            wire_types[channel] = want
        end
    end
    if not ok then
        error("pubsub: " .. tostring(why), 0)
    end
end

local token_methods = {}
token_methods.__index = token_methods

function token_methods:unsubscribe()
    pubsub.unsubscribe(self)
end

-- Subscribes `callback(msg)` to the channel. msgtype "*" takes messages of any type; otherwise the
-- channel must carry that type (else this raises). Returns a token for unsubscribe.
function pubsub.subscribe(channel, msgtype, callback)
    check_names(channel, msgtype, 2)
    if type(callback) ~= "function" then
        error("pubsub.subscribe needs a callback function", 2)
    end
    for token in pairs(local_subs[channel] or {}) do
        if msgtype ~= wire.ANY_TYPE and token.type ~= wire.ANY_TYPE and token.type ~= msgtype then
            error(string_format("pubsub: this service takes '%s' on '%s' already, not '%s'",
                token.type, channel, msgtype), 2)
        end
    end
    local token = setmetatable({ channel = channel, type = msgtype, callback = callback }, token_methods)
    local subs = local_subs[channel]
    if subs == nil then
        subs = {}
        local_subs[channel] = subs
    end
    subs[token] = true
    local ok, err = pcall(in_order, sync_channel, channel)
    if not ok then
        subs[token] = nil
        if next(subs) == nil then
            local_subs[channel] = nil
        end
        error(err, 2)
    end
    return token
end

function pubsub.unsubscribe(token)
    local subs = local_subs[token.channel]
    if subs == nil or not subs[token] then
        return false
    end
    subs[token] = nil
    if next(subs) == nil then
        local_subs[token.channel] = nil
    end
    local ok, err = pcall(in_order, sync_channel, token.channel)
    if not ok then
        error(err, 2)
    end
    return true
end

-- Deliveries from the hub: every local subscriber of the channel gets its own reader.
skynet.register_protocol {
    name = "pubsub",
    id = PTYPE_PUBSUB,
    pack = skynet.pack,
    unpack = skynet.unpack,
    dispatch = function(_, _, channel, msgtype, from, body)
        local subs = local_subs[channel]
        if subs == nil then
            return   -- unsubscribed while this was on its way
        end
        local values, kinds, n = wire.decode_fields(body, 1)
        if not values then
            skynet.error("pubsub: dropped a malformed message on " .. tostring(channel) .. ": " .. kinds)
            return
        end
        -- A copy of the set: a callback may unsubscribe (itself or others) while we go.
        local list = {}
        for token in pairs(subs) do
            list[#list + 1] = token
        end
        for _, token in ipairs(list) do
            if subs[token] and (token.type == wire.ANY_TYPE or token.type == msgtype) then
                local ok, err = xpcall(token.callback, debug.traceback,
                    new_message(channel, msgtype, from, values, kinds, n))
                if not ok then
                    skynet.error("pubsub: callback on " .. channel .. " failed: " .. tostring(err))
                end
            end
        end
    end,
}

-- Whether `from` (msg.from) is a Lua service, and its address: a service's handle has this bit set.
function pubsub.from_service(from)
    if from and from & 0x80000000 ~= 0 then
        return from & 0x7fffffff
    end
    return nil
end

return pubsub
