// libFuzzer target: the debug console's command parser (service/debug_console.lua), run in-process.
//
// The service file is loaded unchanged into a Lua state whose `skynet`, `skynet.socket` and friends are
// stubs (below): skynet.start runs at once, the accept callback is kept, and each input is one
// connection whose data comes from socket.read. Lua line coverage goes to libFuzzer
// (lua_fuzz_support.h). The first byte picks the console (plain, or with "http"), the peer (local or
// remote) and whether the data arrives a line per read or in 3-byte pieces; the rest is what the client
// sends.
//
// Properties, whatever the client sends:
//   * the connection loop never dies on an error (it would log "peer <error>") and always closes;
//   * every command line is answered, and the answer ends with "<CMD OK>" or "<CMD Error>";
//   * a client that is not on the local host never gets a local-only command run (start, kill, call,
//     inject, setenv, signal...): none of their effects reach the stubs;
//   * an HTTP request line gets an HTTP response.
#include <lua.hpp>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "lua_fuzz_support.h"

namespace {

constexpr const char* stubs = R"lua(
local H = { lines = {}, pos = 1, out = {}, errors = {}, effects = {}, env = {}, closed = false,
    awaiting_answer = false, http_seen = false, broken = nil, clock = 0 }
__fuzz = H

local HTTP_METHODS = { GET = true, POST = true, HEAD = true, PUT = true, DELETE = true, OPTIONS = true,
    PATCH = true, CONNECT = true, TRACE = true }

local function effect(what)
    H.effects[#H.effects + 1] = what
end

local function last_write_is_answer()
    local w = H.out[#H.out]
    return w == "<CMD OK>\n" or w == "<CMD Error>\n"
end

local skynet = {}
function skynet.start(f) f() end
function skynet.error(...) H.errors[#H.errors + 1] = table.pack(...) end
function skynet.address(h)
    if type(h) == "number" then return string.format(":%08x", h) end
    return tostring(h)
end
function skynet.self() return 9 end
function skynet.harbor() return 0 end
function skynet.now() H.clock = H.clock + 1 return H.clock end
function skynet.localname(name)
    return ({ [".launcher"] = 3, [".service"] = 7 })[name]
end
function skynet.getenv(k) return H.env[k] end
function skynet.setenv(k, v)
    effect("setenv")
    if H.env[k] ~= nil then error("Can't setenv exist key : " .. k) end
    H.env[k] = v
end
function skynet.fork(f, ...) f(...) end
function skynet.send(addr, proto, cmd)
    if proto == "debug" and cmd == "EXIT" then effect("exit") end
    return 0
end
function skynet.newservice(name, ...)
    effect("newservice")
    if name == nil then error("newservice needs a name") end
    return 42
end
local launcher = {
    LIST = function() return { [":00000008"] = "snlua main", [":0000000a"] = "snlua other 1 2" } end,
    STAT = function() return { [":00000008"] = { mqlen = 0, task = 1, message = 10, cpu = 0.5 } } end,
    MEM = function() return { [":00000008"] = "12.00 Kb (snlua main)" } end,
    GC = function() return { [":00000008"] = "11.00 Kb (snlua main)" } end,
    KILL = function(h) effect("kill") return { [skynet.address(h)] = "snlua other" } end,
    LOGLAUNCH = function() effect("loglaunch") return 43 end,
}
local debug_answers = {
    RUN = function() effect("inject") return true, "injected" end,
    PING = function() end,
    TASK = function() return { ["1"] = "sleep" } end,
    UNIQTASK = function() return {} end,
    KILLTASK = function() return "killed" end,
    INFO = function() return "info text" end,
    TRACELOG = function() end,
    STAT = function() return { mqlen = 0 } end,
}
function skynet.call(addr, proto, cmd, ...)
    if addr == ".launcher" then
        local f = launcher[cmd]
        if not f then error("call failed") end
        return f(...)
    elseif addr == "SERVICE" then
        return {}
    elseif proto == "debug" then
        effect("debug " .. tostring(cmd))
        local f = debug_answers[cmd]
        if not f then error("call failed") end
        return f(...)
    end
    effect("call")
    return cmd, ...
end

local socket = {}
function socket.listen(ip, port) return 1, ip, port end
function socket.start(id, accept)
    if accept then H.accept = accept end
    return id
end
-- The console cuts lines out of what socket.read returns. A chunk never holds the end of one line and
-- the start of the next, so the console reads again only once it has answered the line that ended.
function socket.read()
    -- The answer to the previous command must be complete before the next line is read.
    if H.awaiting_answer and not last_write_is_answer() then
        H.broken = H.broken or "a command line got no <CMD OK> / <CMD Error> at the end of its answer"
    end
    H.awaiting_answer = false
    local chunk = H.chunks[H.pos]
    if chunk == nil then return false, "" end
    H.pos = H.pos + 1
    H.partial = H.partial .. chunk
    if chunk:sub(-1) == "\n" then
        local stripped = H.partial:sub(1, -2):gsub("\r$", "")
        H.partial = ""
        local method = stripped:match("^(%u+) %S+ HTTP/%d")
        if method and HTTP_METHODS[method] then
            H.http_seen = true
        elseif stripped ~= "" and not H.http_seen then
            H.awaiting_answer = true
        end
    end
    return chunk
end
function socket.write(_, s) H.out[#H.out + 1] = s return true end
function socket.close() H.closed = true end
function socket.netstat()
    return { { id = 1, type = "LISTEN", address = 9, sock = "127.0.0.1:8000", read = 0, write = 0 },
        { id = 2, type = "TCP", address = 9, peer = "127.0.0.1:5000", read = 2048, write = 5 * 1024 * 1024,
            wbuffer = 100, rtime = 5, wtime = 9000 } }
end

local core = { command = function(cmd)
    if cmd == "SIGNAL" then effect("signal") end
end }

package.preload["skynet"] = function() return skynet end
package.preload["skynet.manager"] = function() return skynet end
package.preload["skynet.socket"] = function() return socket end
package.preload["skynet.core"] = function() return core end
package.preload["skynet.codecache"] = function() return { clear = function() effect("clearcache") end } end
package.preload["skynet.memory"] = function()
    return { info = function() return { [8] = 1000 } end, total = function() return 5000 end,
        block = function() return 2 end }
end
package.preload["skynet.snax"] = function()
    return { newservice = function() effect("snax") return { handle = 44 } end }
end
-- No file is ever opened: `inject` of /dev/zero would read forever.
io.open = function() return nil, "files are not opened in the fuzz harness" end

-- One connection: `data` is what the client sends, `peer` its address, `piece` the most bytes one read
-- returns (lines that arrive in pieces). Returns nil or what broke.
return function(data, peer, piece)
    H.chunks, H.pos, H.out, H.errors, H.effects, H.env = {}, 1, {}, {}, {}, {}
    H.closed, H.awaiting_answer, H.http_seen, H.broken, H.partial = false, false, false, nil, ""
    -- Every line with its "\n", then an unfinished last line (the console drops it at the close).
    for line in data:gmatch("[^\n]*\n?") do
        for at = 1, #line, piece do H.chunks[#H.chunks + 1] = line:sub(at, at + piece - 1) end
    end
    H.accept(5, peer)
    if H.awaiting_answer and not last_write_is_answer() then
        H.broken = H.broken or "the last command line got no <CMD OK> / <CMD Error>"
    end
    if not H.closed then return "the connection was not closed" end
    for _, e in ipairs(H.errors) do
        if e.n == 2 and e[1] == peer and e[2] ~= "connected" and e[2] ~= "disconnected" then
            return "the connection loop died: " .. tostring(e[2])
        end
    end
    if H.broken then return H.broken end
    local remote = not peer:match("^127%.")
    if remote then
        local allowed = { ["debug PING"] = true, ["debug TASK"] = true, ["debug UNIQTASK"] = true,
            ["debug INFO"] = true, ["debug TRACELOG"] = true, clearcache = true }
        for _, what in ipairs(H.effects) do
            if not allowed[what] then return "a remote client made the console do: " .. what end
        end
    end
    if H.http_seen then
        local answered = false
        for _, w in ipairs(H.out) do
            if w:match("^HTTP/1%.1 %d%d%d ") then answered = true end
        end
        if not answered then return "an HTTP request got no HTTP response" end
    end
end
)lua";

struct console {
    lua_State* L = nullptr;
    int run_ref = LUA_NOREF;
};

console consoles[2];   // [0] plain, [1] with HTTP enabled

void load(console& c, bool http) {
    c.L = fuzz::new_state(true);
    lua_State* L = c.L;
    if (luaL_loadbufferx(L, stubs, std::strlen(stubs), "=stubs", "t") != LUA_OK ||
        lua_pcall(L, 0, 1, 0) != LUA_OK) {
        fuzz::fail("stubs:", lua_tostring(L, -1));
    }
    c.run_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    const char* root = std::getenv("FUZZ_ROOT");
    std::string path = std::string(root ? root : ".") + "/service/debug_console.lua";
    if (luaL_loadfilex(L, path.c_str(), "t") != LUA_OK) {
        fuzz::fail("cannot load the console (run from the repository root):", lua_tostring(L, -1));
    }
    lua_pushliteral(L, "127.0.0.1");
    lua_pushliteral(L, "0");
    int nargs = 2;
    if (http) {
        lua_pushliteral(L, "http");
        ++nargs;
    }
    if (lua_pcall(L, nargs, 0, 0) != LUA_OK) fuzz::fail("the console did not start:", lua_tostring(L, -1));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (consoles[0].L == nullptr) {
        load(consoles[0], false);
        load(consoles[1], true);
    }
    if (size == 0) return 0;
    console& c = consoles[data[0] & 1];
    const char* peer = (data[0] & 2) ? "10.1.2.3:5000" : "127.0.0.1:5000";
    fuzz::begin_run();
    lua_State* L = c.L;
    lua_settop(L, 0);
    lua_rawgeti(L, LUA_REGISTRYINDEX, c.run_ref);
    lua_pushlstring(L, reinterpret_cast<const char*>(data + 1), size - 1);
    lua_pushstring(L, peer);
    lua_pushinteger(L, (data[0] & 4) ? 3 : static_cast<lua_Integer>(size));
    int rc = lua_pcall(L, 3, 1, 0);
    if (fuzz::current_budget().exhausted) return 0;   // cut short: nothing to judge
    if (rc != LUA_OK) fuzz::fail("debug console harness raised:", lua_tostring(L, -1));
    if (!lua_isnil(L, -1)) fuzz::fail("debug console:", lua_tostring(L, -1));
    lua_settop(L, 0);
    return 0;
}
