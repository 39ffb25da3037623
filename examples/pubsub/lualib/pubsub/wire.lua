-- pubsub.wire: the frames and message bodies of the pub/sub protocol (examples/pubsub/README.md,
-- "Wire format"). Shared by the hub, which speaks it to outside processes, and by the `pubsub` module,
-- which uses the same message body encoding so that a message means the same to every subscriber.
--
-- Pure functions over strings: no skynet, no sockets, so everything here is tested in isolation too.
local string_pack = string.pack
local string_unpack = string.unpack
local string_byte = string.byte
local string_sub = string.sub
local utf8_len = utf8.len
local math_type = math.type
local type = type
local pcall = pcall
local error = error
local tostring = tostring

local wire = {}

wire.VERSION = 1
wire.MAX_NAME = 255          -- bytes of a channel name or message type
wire.ANY_TYPE = "*"          -- subscribe to every type of a channel
wire.DEFAULT_MAX_FRAME = 1024 * 1024
wire.MIN_MAX_FRAME = 64
wire.MAX_MAX_FRAME = 16 * 1024 * 1024

-- Frame kinds. Client to node:
wire.HELLO = 0x01
wire.SUBSCRIBE = 0x02
wire.UNSUBSCRIBE = 0x03
wire.PUBLISH = 0x04
wire.PING = 0x05
wire.BYE = 0x06
-- Node to client:
wire.WELCOME = 0x81
wire.OK = 0x82
wire.ERROR = 0x83
wire.DELIVER = 0x84
wire.PONG = 0x85
wire.BYE_ACK = 0x86

-- Error codes of ERROR frames. The first four close the connection after the ERROR frame.
wire.E_MALFORMED = 1
wire.E_TOO_LARGE = 2
wire.E_UNKNOWN_KIND = 3
wire.E_PROTOCOL = 4
wire.E_TYPE_MISMATCH = 5
wire.E_NOT_SUBSCRIBED = 6
wire.E_LIMIT = 7

wire.ERROR_NAMES = {
    [1] = "malformed", [2] = "too large", [3] = "unknown kind", [4] = "protocol",
    [5] = "type mismatch", [6] = "not subscribed", [7] = "limit",
}

-- Field tags of a message body.
wire.STRING = 0x01
wire.INTEGER = 0x02
wire.FLOAT = 0x03
wire.BYTES = 0x04

local KIND_NAME = { [0x01] = "string", [0x02] = "integer", [0x03] = "float", [0x04] = "bytes" }
wire.KIND_NAME = KIND_NAME

-------------------------------------------------------------------------------- names

-- A channel name or message type: 1..255 bytes of UTF-8. Returns true, or false and why.
function wire.check_name(s, what)
    if type(s) ~= "string" then
        return false, what .. " must be a string, got " .. type(s)
    end
    if #s == 0 or #s > wire.MAX_NAME then
        return false, what .. " must be 1.." .. wire.MAX_NAME .. " bytes"
    end
    if not utf8_len(s) then
        return false, what .. " is not UTF-8"
    end
    return true
end

-------------------------------------------------------------------------------- message bodies

-- Appends one field to the array `parts` (to be concatenated). kind is "string", "integer", "float" or
-- "bytes"; raises on a value that does not fit its kind.
function wire.pack_field(parts, kind, v)
    local n = #parts + 1
    if kind == "string" then
        if type(v) ~= "string" then
            error("string field: expected a string, got " .. type(v), 3)
        end
        if not utf8_len(v) then
            error("string field is not UTF-8 (send it as bytes)", 3)
        end
        parts[n] = string_pack(">Bs4", wire.STRING, v)
    elseif kind == "integer" then
        if math_type(v) ~= "integer" then
            error("integer field: expected an integer, got " .. tostring(v), 3)
        end
        parts[n] = string_pack(">Bi8", wire.INTEGER, v)
    elseif kind == "float" then
        if type(v) ~= "number" then
            error("float field: expected a number, got " .. type(v), 3)
        end
        parts[n] = string_pack(">Bd", wire.FLOAT, v)
    elseif kind == "bytes" then
        if type(v) ~= "string" then
            error("bytes field: expected a string, got " .. type(v), 3)
        end
        parts[n] = string_pack(">Bs4", wire.BYTES, v)
    else
        error("unknown field kind " .. tostring(kind), 3)
    end
end

-- Decodes the fields of body[pos..]: values and kinds (arrays of the same length n), n; or nil and why.
-- Never raises, whatever the bytes.
function wire.decode_fields(body, pos)
    pos = pos or 1
    local len = #body
    local values, kinds, n = {}, {}, 0
    while pos <= len do
        local tag = string_byte(body, pos)
        pos = pos + 1
        local v
        if tag == wire.STRING or tag == wire.BYTES then
            if pos + 3 > len then
                return nil, "truncated field length"
            end
            local size = string_unpack(">I4", body, pos)
            pos = pos + 4
            if pos + size - 1 > len then
                return nil, "field longer than the frame"
            end
            v = string_sub(body, pos, pos + size - 1)
            pos = pos + size
            if tag == wire.STRING and not utf8_len(v) then
                return nil, "string field is not UTF-8"
            end
        elseif tag == wire.INTEGER then
            if pos + 7 > len then
                return nil, "truncated integer field"
            end
            v = string_unpack(">i8", body, pos)
            pos = pos + 8
        elseif tag == wire.FLOAT then
            if pos + 7 > len then
                return nil, "truncated float field"
            end
            v = string_unpack(">d", body, pos)
            pos = pos + 8
        else
            return nil, string.format("unknown field tag 0x%02x", tag)
        end
        n = n + 1
        values[n] = v
        kinds[n] = KIND_NAME[tag]
    end
    return values, kinds, n
end

-------------------------------------------------------------------------------- frames

-- A whole frame: the 4-byte length, the kind, the payload.
local function frame(kind, payload)
    return string_pack(">I4B", #payload + 1, kind) .. payload
end
wire.frame = frame

function wire.hello(name)
    return frame(wire.HELLO, string_pack(">I2s1", wire.VERSION, name))
end

function wire.welcome(client_id, max_frame)
    return frame(wire.WELCOME, string_pack(">I2I4I4", wire.VERSION, client_id, max_frame))
end

function wire.ok(req, value)
    return frame(wire.OK, string_pack(">I4I4", req, value or 0))
end

function wire.error_frame(req, code, text)
    if #text > 1000 then
        text = string_sub(text, 1, 1000)
    end
    return frame(wire.ERROR, string_pack(">I4I2s2", req or 0, code, text))
end

function wire.subscribe(req, channel, msgtype)
    return frame(wire.SUBSCRIBE, string_pack(">I4s1s1", req, channel, msgtype))
end

function wire.unsubscribe(req, channel)
    return frame(wire.UNSUBSCRIBE, string_pack(">I4s1", req, channel))
end

function wire.publish(req, channel, msgtype, body)
    return frame(wire.PUBLISH, string_pack(">I4s1s1", req, channel, msgtype) .. body)
end

function wire.deliver(from, channel, msgtype, body)
    return frame(wire.DELIVER, string_pack(">I4s1s1", from, channel, msgtype) .. body)
end

function wire.ping(req)
    return frame(wire.PING, string_pack(">I4", req))
end

function wire.pong(req)
    return frame(wire.PONG, string_pack(">I4", req))
end

function wire.bye()
    return frame(wire.BYE, "")
end

function wire.bye_ack()
    return frame(wire.BYE_ACK, "")
end

-- What a frame's payload (without length and kind) must hold, for each kind sent by clients, as a
-- string.unpack format. PUBLISH has a body after its header.
local CLIENT_FORMATS = {
    [wire.HELLO] = ">I2s1",
    [wire.SUBSCRIBE] = ">I4s1s1",
    [wire.UNSUBSCRIBE] = ">I4s1",
    [wire.PUBLISH] = ">I4s1s1",
    [wire.PING] = ">I4",
    [wire.BYE] = "",
}

local function unpack_all(fmt, s, pos)
    return pcall(string_unpack, fmt, s, pos)
end

-- Parses a frame sent by a client (without its 4-byte length, so s starts with the kind). Returns
--   kind, { fields... }         for a well-formed frame (PUBLISH: req, channel, type, body)
--   nil, code, reason           otherwise (E_UNKNOWN_KIND or E_MALFORMED)
-- Names are checked here too (1..255 bytes of UTF-8), and so is the body of a PUBLISH.
function wire.parse_client_frame(s)
    local kind = string_byte(s, 1)
    if kind == nil then
        return nil, wire.E_MALFORMED, "empty frame"
    end
    local fmt = CLIENT_FORMATS[kind]
    if fmt == nil then
        return nil, wire.E_UNKNOWN_KIND, string.format("unknown frame kind 0x%02x", kind)
    end
    if fmt == "" then
        if #s ~= 1 then
            return nil, wire.E_MALFORMED, "unexpected bytes after the frame kind"
        end
        return kind, {}
    end
    local r = table.pack(unpack_all(fmt, s, 2))
    if not r[1] then
        return nil, wire.E_MALFORMED, "truncated frame"
    end
    local nextpos = r[r.n]
    local f = table.move(r, 2, r.n - 1, 1, {})
    if kind == wire.PUBLISH then
        local ok, why = wire.check_name(f[2], "channel")
        if not ok then
            return nil, wire.E_MALFORMED, why
        end
        ok, why = wire.check_name(f[3], "message type")
        if not ok then
            return nil, wire.E_MALFORMED, why
        end
        local body = string_sub(s, nextpos)
        local values, err = wire.decode_fields(body, 1)
        if not values then
            return nil, wire.E_MALFORMED, err
        end
        f[4] = body
        return kind, f
    end
    if nextpos ~= #s + 1 then
        return nil, wire.E_MALFORMED, "unexpected bytes at the end of the frame"
    end
    if kind == wire.HELLO then
        if #f[2] > 0 and not utf8_len(f[2]) then
            return nil, wire.E_MALFORMED, "client name is not UTF-8"
        end
    elseif kind == wire.SUBSCRIBE then
        local ok, why = wire.check_name(f[2], "channel")
        if ok then
            ok, why = wire.check_name(f[3], "message type")
        end
        if not ok then
            return nil, wire.E_MALFORMED, why
        end
    elseif kind == wire.UNSUBSCRIBE then
        local ok, why = wire.check_name(f[2], "channel")
        if not ok then
            return nil, wire.E_MALFORMED, why
        end
    end
    return kind, f
end

return wire
