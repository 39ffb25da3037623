-- Helper for the lualib integration tests: a service whose "lua" commands exercise one rule of
-- skynet.lua each and record what they observed, so that the test can ask for it afterwards.
local skynet = require "skynet"

local notes = {}          -- key -> value observed by a command, read back with NOTE
local held = {}           -- key -> response closure kept for later
local last_source = nil

local function note(key, value)
    notes[key] = value
end

-- Runs f and returns the error text it raised, or "no error".
local function error_of(f, ...)
    local ok, err = pcall(f, ...)
    if ok then
        return "no error"
    end
    return tostring(err)
end

local cmd = {}

function cmd.ECHO(...)
    skynet.retpack(...)
end

function cmd.RAW(text)
    skynet.ret(text)
end

function cmd.FAIL(text)
    error(text or "boom")
end

function cmd.NORET()
    -- deliberately no answer: the caller waits, skynet logs "Maybe forgot response"
end

function cmd.SLEEP(ti, ...)
    skynet.sleep(ti)
    skynet.retpack(...)
end

-- Holds the request until a to-be-closed variable is closed by exit or kill; the closer tells
-- `notify` which key was closed.
function cmd.TBCSLEEP(notify, key)
    local guard <close> = setmetatable({}, { __close = function()
        skynet.send(notify, "lua", "closed", key)
    end })
    skynet.sleep(100000)
    skynet.retpack "woke"
end

function cmd.EXIT()
    skynet.exit()
end

function cmd.EXITLATER(ti)
    skynet.ret()
    skynet.sleep(ti)
    skynet.exit()
end

function cmd.RETTWICE()
    local first = skynet.retpack "first"
    note("ret1", first)
    note("ret2", error_of(skynet.retpack, "second"))
end

-- Called with send: ret returns false and nothing is sent.
function cmd.RETSEND()
    note("retsend", skynet.retpack "x")
    note("retsend2", error_of(skynet.ret))
end

function cmd.RESPOND(...)
    local r = skynet.response()
    note("test_before", r "TEST")
    note("ret_after_response", error_of(skynet.ret))
    note("response_twice_call", error_of(skynet.response))
    note("first", r(true, ...))
    note("test_after", r "TEST")
    note("second", error_of(r, true, "again"))
end

function cmd.RESPONDFALSE()
    local r = skynet.response()
    note("false_result", r(false))
end

function cmd.RESPONDSEND()
    local r = skynet.response()
    note("send_response_result", tostring((r(true, "ignored"))))
    note("send_response_type", type(r))
end

-- Keeps the response closure; RELEASE answers it later.
function cmd.HOLD(key)
    held[key] = skynet.response()
end

function cmd.RELEASE(key, ...)
    local r = held[key]
    held[key] = nil
    local alive = r "TEST"
    local sent = r(true, ...)
    skynet.retpack(alive, sent)
end

function cmd.CONTEXT()
    local session, source = skynet.context()
    skynet.retpack(session, source)
end

function cmd.CONTEXTSEND()
    local session, source = skynet.context()
    note("ctx_session", session)
    note("ctx_source", source)
end

function cmd.IGNORE()
    skynet.ignoreret()
    note("ignore_ret", error_of(skynet.ret))
end

function cmd.WHO()
    local _, source = skynet.context()
    last_source = source
end

function cmd.LASTSOURCE()
    skynet.retpack(last_source)
end

function cmd.NOTE(key)
    skynet.retpack(notes[key])
end

-- Calls `addr` and reports the error text (or the results).
function cmd.CALL(addr, ...)
    local r = table.pack(pcall(skynet.call, addr, "lua", ...))
    skynet.retpack(table.unpack(r, 1, r.n))
end

-- Calls `addr` with a request that never returns, so that this service is "calling" it.
function cmd.CALLFOREVER(addr, ...)
    skynet.ret()
    local ok, err = pcall(skynet.call, addr, "lua", ...)
    note("forever", ok and "returned" or tostring(err))
end

function cmd.SETINFO(value)
    skynet.info_func(function(...)
        return value, ...
    end)
    skynet.ret()
end

-- Captures the unknown-session error text instead of only logging it.
local capturing = false
function cmd.CAPTURE_UNKNOWN()
    if capturing then
        return skynet.ret()
    end
    capturing = true
    local old_resp
    old_resp = skynet.dispatch_unknown_response(function(...)
        note("unknown_response", error_of(old_resp, ...))
    end)
    local old_req
    old_req = skynet.dispatch_unknown_request(function(...)
        note("unknown_request", error_of(old_req, ...))
    end)
    skynet.ret()
end

function cmd.TRACETAG()
    skynet.retpack(skynet.tracetag())
end

function cmd.SELF()
    skynet.retpack(skynet.self())
end

skynet.register_protocol {
    name = "upper",
    id = 200,
    pack = function(text) return text end,
    unpack = skynet.tostring,
    dispatch = function(_, _, text)
        skynet.ret(string.upper(text))
    end,
}

skynet.start(function()
    skynet.dispatch("lua", function(_, _, command, ...)
        local f = cmd[command]
        if f == nil then
            error("ll_echo: unknown command " .. tostring(command))
        end
        f(...)
    end)
end)
