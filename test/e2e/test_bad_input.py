"""Bad input gives a clear error and nothing else (issue 6): every row of test/BAD_INPUT.md, checked.

Each row is (what the user does wrong, the exact text they see, one line or several in order). In the
expected text, <config> stands for the config file's path, <dir> for its directory, <N> for any number (a
line number, a socket id or a port) and <H> for a service handle's 8 hex digits, so that the rows do not
break when a file gains a line. Run with BAD_INPUT_TABLE=1 to print
the rows as the markdown of test/BAD_INPUT.md instead of checking them.
"""
import os
import re
import socket
import struct
import subprocess
import tempfile
import time

from nettest import ROOT, SKYNET, Cases, LineReader, Node, connect, recv_until_closed, recv_until_closed_or_reset

PRINT_TABLE = bool(os.environ.get("BAD_INPUT_TABLE"))
BASE = """thread = 2
harbor = 0
start = "main"
bootstrap = "snlua bootstrap"
luaservice = "./service/?.lua"
lualoader = "./lualib/loader.lua"
lua_path = "./lualib/?.lua;./lualib/?/init.lua"
"""


def pattern(expected, config=None):
    """The regex of an expected text: placeholders become what they stand for, the rest is literal."""
    rx = re.escape(expected)
    rx = rx.replace(re.escape("<N>"), r"\d+")
    rx = rx.replace(re.escape("<H>"), r"[0-9a-f]{8}")
    if config:
        rx = rx.replace(re.escape("<config>"), re.escape(config))
        rx = rx.replace(re.escape("<dir>"), re.escape(os.path.dirname(config)))
    return rx


class Table:
    """Collects the rows of one area; checks each against the text the user got."""

    def __init__(self, title, where):
        self.title, self.where, self.rows, self.wrong = title, where, [], []

    def check(self, bad_input, expected, got, config=None):
        """`got` is the text the user saw: each expected line must be one of its lines, in order. An empty
        `bad_input` continues the row above (more of what the same input shows)."""
        if bad_input == "" and self.rows:
            self.rows[-1] = (self.rows[-1][0], self.rows[-1][1] + "\n" + expected)
        else:
            self.rows.append((bad_input, expected))
        lines = got.splitlines()
        at = 0
        for part in expected.split("\n"):
            rx = re.compile("^" + pattern(part, config) + "$")
            while at < len(lines) and not rx.match(lines[at]):
                at += 1
            if at == len(lines):
                self.wrong.append("%s: expected %r, got %r" % (bad_input, part, got[-400:]))
                return
            at += 1

    def finish(self):
        if PRINT_TABLE:
            print("\n### %s\n\n%s\n\n| bad input | what the user sees |\n|---|---|" % (self.title, self.where))
            for bad_input, expected in self.rows:
                shown = " <br> ".join("`%s`" % part for part in expected.split("\n"))
                print("| %s | %s |" % (bad_input.replace("|", "\\|"), shown.replace("|", "\\|")))
        assert not self.wrong, "%d rows differ: %s" % (len(self.wrong), " || ".join(self.wrong))


def run_skynet(args, timeout=20):
    p = subprocess.run([SKYNET] + args, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                       errors="replace")
    return p.returncode, p.stdout + p.stderr


def config_errors():
    t = Table("Config files", "What ./skynet prints when it cannot start; it exits with code 1.")
    d = tempfile.mkdtemp(prefix="skynet-bad-input-")

    def node_with(name, text, bad_input, *expected):
        path = os.path.join(d, name)
        with open(path, "wb") as f:
            f.write(text.encode("latin-1") if isinstance(text, str) else text)
        rc, out = run_skynet([path])
        if rc != 1:
            t.wrong.append("%s: exit code %s" % (bad_input, rc))
        for e in expected:
            t.check(bad_input, e, out, path)

    rc, out = run_skynet([])
    t.check("no config file argument", "Need a config file. Usage: skynet configfilename", out)
    rc, out = run_skynet([os.path.join(d, "missing")])
    t.check("a config file that does not exist", "cannot open config file '<config>': No such file or directory",
            out, os.path.join(d, "missing"))
    node_with("syntax", 'thread = 2\nstart = = "x"\n', "a syntax error (line 2: `start = = \"x\"`)",
              "<config>:2: unexpected symbol near '='")
    node_with("unset", 'thread = 2\nstart = "$SKYNET_SURELY_UNSET"\n', "`$NAME` of an unset environment variable",
              "<config>:2: os.getenv() failed: SKYNET_SURELY_UNSET")
    node_with("table", "thread = 2\nbadkey = { 1, 2 }\n", "a table value (`badkey = { 1, 2 }`)",
              "<config>: Invalid config table key = badkey (a table value)")
    node_with("function", "thread = 2\nf = function() end\n", "a function value",
              "<config>: Invalid config table key = f (a function value)")
    node_with("numkey", 'thread = 2\n_ENV[1] = "x"\n', "a key that is not a string (`_ENV[1] = \"x\"`)",
              "<config>: Invalid config table: key 1 is a number, not a string")
    node_with("include", 'include "nothere"\n', "`include` of a missing file",
              "<config>:1: cannot open config file '<dir>/nothere': No such file or directory")
    node_with("self", 'include "self"\n', "a file that includes itself",
              "<config>:1: config includes nested more than 64 deep (does a file include itself?)")
    node_with("runtime", "thread = 2\nx = nil .. 1\n", "a runtime error (`x = nil .. 1`)",
              "<config>:2: attempt to concatenate a nil value")
    node_with("binary", b"\x1bLua", "a precompiled (binary) chunk",
              "<config>: attempt to load a binary chunk (mode is 't')")
    # Each of these also names a bootstrap that cannot launch, so a value wrongly let through fails the row
    # at once with another message instead of starting a node.
    thread_rule = '<config>: thread must be an integer from 1 to 1024, or 0 or "auto" (one per core), got '
    for name, line, expected in [
        ("thread_word", 'thread = "many"', thread_rule + '"many"'),
        ("thread_negative", "thread = -4", thread_rule + '"-4"'),
        ("thread_fraction", "thread = 2.5", thread_rule + '"2.5"'),
        ("thread_huge", "thread = 100000", thread_rule + '"100000"'),
        ("harbor_word", 'harbor = "x"', '<config>: harbor must be an integer from 0 to 255, got "x"'),
        ("harbor_huge", "harbor = 256", '<config>: harbor must be an integer from 0 to 255, got "256"'),
        ("socket_threads_zero", "socket_threads = 0",
         '<config>: socket_threads must be an integer from 1 to 64, got "0"'),
    ]:
        node_with(name, line + '\nbootstrap = "nosuchkind x"\n', "`%s`" % line, expected)
    node_with("logger", BASE + 'logger = "/nonexistent/dir/log"\n', "`logger` in a directory that does not exist",
              "logger: can't open log file /nonexistent/dir/log\n[:00000000] FAILED launch logger /nonexistent/dir/log\n"
              "Can't launch logger service")
    node_with("bootkind", BASE.replace("snlua bootstrap", "nosuchkind bootstrap"),
              "`bootstrap` of an unknown service kind",
              "[:00000000] launch nosuchkind bootstrap failed: unknown service kind\n"
              "[:00000000] Bootstrap error : nosuchkind bootstrap")
    node_with("nostart", BASE.replace('"main"', '"no_such_start"'), "a `start` service that does not exist",
              "[:<H>] lua loader error : ./lualib/loader.lua:<N>: cannot open ./service/no_such_start.lua: "
              "No such file or directory\n"
              "[:<H>] bootstrap: start service 'no_such_start' failed: ./lualib/skynet/lazy/node.lua:<N>: call failed; "
              "stopping the node")
    t.finish()


def lua_api(node):
    t = Table("Services and the Lua API",
              "The error the caller's `pcall` gets (the call raises), then the node's log lines, if any.")
    node.wait_for(r"PROBES DONE")
    out = node.output(2000)
    probes = dict(re.findall(r"^PROBE (.*?) => (.*)$", out, re.M))

    def probe(name, expected, *log):
        t.check(name, expected, probes.get(name, "(no probe line)"))
        for line in log:
            t.check("", "[:<H>] " + line, out)

    probe("newservice of an unknown service", "./lualib/skynet/lazy/node.lua:<N>: call failed",
          "lua loader error : ./lualib/loader.lua:<N>: cannot open ./service/no_such_service.lua: "
          "No such file or directory")
    probe("uniqueservice of an unknown service", "./lualib/skynet/lazy/node.lua:<N>: ./lualib/skynet/lazy/node.lua:<N>: call failed")
    probe("newservice without a name", "./lualib/skynet/lazy/node.lua:<N>: call failed",
          "lua loader error : ./lualib/loader.lua:<N>: no service name given to the loader")
    probe("newservice with a function argument", "Unsupport type function to serialize")
    probe("a service whose main chunk raises", "./lualib/skynet/lazy/node.lua:<N>: call failed",
          "lua loader error : ./test/e2e/svc/bi_mainerror.lua:2: bi_mainerror: main chunk failure")
    probe("a service whose start function raises", "./lualib/skynet/lazy/node.lua:<N>: call failed",
          "init service failed: ./test/e2e/svc/bi_starterror.lua:5: bi_starterror: start failure")
    probe("pack a function", "Unsupport type function to serialize")
    probe("pack a coroutine", "Unsupport type thread to serialize")
    probe("pack a full userdata", "Unsupport type userdata to serialize")
    probe("pack tables nested 40 deep", "serialize can't pack too depth table")
    probe("send a function", "Unsupport type function to serialize")
    probe("unpack a truncated message", "Invalid serialize stream (truncated at byte 1 of 5)")
    probe("unpack an unknown type byte", "Invalid serialize stream (unknown type at byte 1 of 1)")
    probe("call an address that does not exist", "call to invalid address :007fffff")
    probe("call an unknown local name", "call to invalid address .nosuch")
    probe("send with an unknown protocol name", "unknown protocol nosuchproto")
    probe("send to a table address", "dest address type (table) must be a string or number.")
    probe("call address 0", "Invalid service address 0")
    probe("sleep with a ti that is not a number", "timeout needs a number of centiseconds (got string)")
    probe("timeout with a ti that is not a number", "timeout needs a number of centiseconds (got table)")
    probe("setenv of an existing key", "Can't setenv exist key : thread")
    probe("register_protocol of a string", "register_protocol needs a table, got string")
    probe("register_protocol with id 256", "register_protocol needs a string name and an integer id in 0..255")
    probe("register_protocol of a name taken", "protocol lua (222) is already registered")
    probe("dispatch of an unknown protocol", "unknown protocol bi_nosuch")
    probe("netpack.pack of 70,000 bytes", "./test/e2e/svc/bi_probe.lua:<N>: Invalid size (too long) of data : 70000")
    probe("socket.limit(fd, -1)", "./test/e2e/svc/bi_probe.lua:<N>: socket.limit: limit must be a positive integer, got -1")
    probe('skynet.core.intcommand("NEXTSESSION", 0)',
          './test/e2e/svc/bi_probe.lua:<N>: NEXTSESSION: the session must be an integer from 1 to 2147483647, got "0"')
    probe('skynet.core.command("NEXTSESSION", "2147483648")',
          './test/e2e/svc/bi_probe.lua:<N>: NEXTSESSION: the session must be an integer from 1 to 2147483647, got "2147483648"')
    assert node.alive(), "the node died"
    t.finish()


def console(node):
    t = Table("Debug console (service/debug_console.lua)",
              "What the console client reads; <CMD Error> ends a failed command, the connection stays.")
    ports = [int(p) for p in re.findall(r"Start debug console at 127\.0\.0\.1:(\d+)", node.output(2000))]
    assert len(ports) == 2, ports
    s = connect(ports[0])
    r = LineReader(s)
    assert r.readline() == "Welcome to skynet console"

    def command(line, expected):
        s.sendall(line.encode() + b"\n")
        got = []
        while not got or not got[-1].startswith("<CMD"):
            got.append(r.readline())
        t.check("`%s`" % line, expected + "\n<CMD Error>", "\n".join(got))
        if got[-1] != "<CMD Error>":
            t.wrong.append("%s: ended with %s" % (line, got[-1]))

    command("nosuchcommand", "Invalid command, type help for command list")
    command("kill zz", "./service/debug_console.lua:<N>: Need an address")
    command("task .nosuch", "./service/debug_console.lua:<N>: Not a valid name")
    command("call :00000008", "./service/debug_console.lua:<N>: need arguments")
    command("call :00000008 nil+", "./service/debug_console.lua:<N>: Invalid arguments")
    command("ping :007fffff", "./service/debug_console.lua:<N>: call to invalid address :007fffff")
    s.close()

    s = connect(ports[0])
    r = LineReader(s)
    assert r.readline() == "Welcome to skynet console"
    s.sendall(b"x" * 70000)
    got = recv_until_closed_or_reset(s).decode("utf-8", "replace")
    s.close()
    t.check("a line of 70,000 bytes without a newline (the connection is closed)",
            "Line too long (the limit is 65536 bytes); closing the connection\n<CMD Error>", got)
    node.wait_for(r"debug console: a line over")
    t.check("", "[:<H>] debug console: a line over 65536 bytes from 127.0.0.1:<N>; connection closed",
            node.output(2000))

    def http(port, request):
        h = connect(port)
        h.sendall(request)
        data = recv_until_closed(h).decode("utf-8", "replace")
        h.close()
        at = data.find("HTTP/1.1 ")
        return data[at:].replace("\r\n", "\n") if at >= 0 else data

    got = http(ports[0], b"GET /list HTTP/1.1\r\nHost: x\r\n\r\n")
    t.check("an HTTP request to a console without `http`", "HTTP/1.1 403 Forbidden", got)
    t.check("", "HTTP access to the debug console is disabled.", got)
    node.wait_for(r"debug console: HTTP request refused")
    t.check("", "[:<H>] debug console: HTTP request refused from 127.0.0.1:<N>", node.output(2000))
    got = http(ports[1], b"POST /list HTTP/1.1\r\n\r\n")
    t.check("HTTP `POST` (console with `http`)", "HTTP/1.1 405 Method Not Allowed", got)
    t.check("", "Only GET is supported.", got)
    got = http(ports[1], b"GET /nosuch HTTP/1.1\r\n\r\n")
    t.check("HTTP `GET /nosuch` (console with `http`)", "HTTP/1.1 400 Bad Request", got)
    t.check("", "Invalid command, type help for command list", got)
    t.finish()


def raw_sockets(node):
    t = Table("Length-prefixed readers and the gate",
              "A reader with `socket.limit(fd, 64 KiB)` (test/e2e/svc/net_frame_reader.lua), and "
              "`service/gate.lua` (2-byte netpack frames) whose watchdog (test/e2e/svc/net_gate_watchdog.lua) "
              "prints the events it gets. Log lines of the node.")
    frame_port = int(node.wait_for(r"FRAME_PORT (\d+)").group(1))
    gate_port = int(node.wait_for(r"GATE_PORT (\d+)").group(1))
    f = connect(frame_port)
    f.sendall(b"\xff\xff\xff\xff" + b"x" * 70000)
    closed = recv_until_closed(f) == b""
    f.close()
    if not closed:
        t.wrong.append("the reader did not close the connection")
    g = connect(gate_port)
    g.sendall(b"\xff\xff" + b"y" * 100)
    g.close()
    node.wait_for(r"WATCHDOG close")
    node.wait_for(r"frame reader: connection \d+ closed waiting")
    logs = node.output(2000)
    t.check("length prefix `ff ff ff ff` then 70,000 bytes (the connection is closed)",
            "[:<H>] socket buffer overflow: fd=<N> size=70000\n"
            "[:<H>] frame reader: connection <N> closed waiting for 4294967295 bytes", logs)
    t.check("to the gate: header `ff ff` (a 65,535-byte frame), 100 bytes, then close; the gate held the "
            "100 bytes, not 64 KiB, drops them and tells the watchdog nothing but the close",
            "WATCHDOG open <N> 127.0.0.1:<N>\nWATCHDOG close <N>", logs)
    t.finish()


def chat():
    t = Table("Chat (examples/chat)", "The line the client reads; the connection stays.")
    with open(os.path.join(ROOT, "examples", "chat", "config")) as f:
        text = f.read() + '\nchat_host = "127.0.0.1"\nchat_port = 0\nconsole_port = 0\n'
    node = Node(config_text=text)
    try:
        port = int(node.wait_for(r"chat: connect with nc 127\.0\.0\.1 (\d+)").group(1))
        s = connect(port)
        r = LineReader(s)
        r.readline()
        r.readline()
        for line, expected in [
            (b"/nosuch", "error: unknown command /nosuch (/help lists the commands)"),
            (b"x" * 5000, "error: line too long (the limit is 4096 bytes); ignored"),
            (b"hello", "error: you are not in a room; /join or /create one first (/help)"),
            (b"/join nope", "error: no such room: nope (/rooms lists them, /create makes one)"),
            (b"/nick bad name!", "error: one word expected after /nick"),
        ]:
            s.sendall(line + b"\n")
            shown = "a line of 5,000 bytes" if len(line) > 100 else "`%s`" % line.decode()
            t.check(shown, expected, r.readline())
        s.close()
    finally:
        node.stop()
    t.finish()


def pubsub():
    t = Table("Pub/sub (examples/pubsub)",
              "The ERROR frame the client gets (its code, then its text); the connection is then closed.")
    d = tempfile.mkdtemp(prefix="skynet-bad-input-")
    with open(os.path.join(ROOT, "examples", "pubsub", "config")) as f:
        text = f.read()
    for key, value in (("pubsub_socket", '"%s"' % os.path.join(d, "ps.sock")), ("pubsub_tcp_port", '"0"'),
                       ("pubsub_max_frame", "65536")):
        text = re.sub(r"(?m)^%s\s*=.*$" % key, "%s = %s" % (key, value), text)
    node = Node(config_text=text)
    try:
        port = int(node.wait_for(r"pubsub: listening for TCP clients on 127\.0\.0\.1:(\d+)").group(1))

        def frame(kind, payload):
            return struct.pack(">IB", len(payload) + 1, kind) + payload

        hello = frame(0x01, struct.pack(">H", 1) + b"\x03bob")
        names = {1: "malformed", 2: "too large", 3: "unknown kind", 4: "protocol"}
        for bad_input, data, expected in [
            ("a length over the maximum (70,000 > 65,536)", struct.pack(">I", 70000),
             "2 (too large): frame of 70000 bytes; the limit is 65536"),
            ("an HTTP request", b"GET / HTTP/1.1\r\n\r\n", "2 (too large): frame of 1195725856 bytes; the limit is 65536"),
            ("a length of 0", b"\0\0\0\0", "1 (malformed): empty frame (length 0)"),
            ("an unknown frame kind (0x7f)", hello + frame(0x7F, b"abc"), "3 (unknown kind): unknown frame kind 0x7f"),
            ("a truncated SUBSCRIBE", hello + frame(0x02, b"\0\0"), "1 (malformed): truncated frame"),
            ("a channel name that is not UTF-8", hello + frame(0x02, b"\0\0\0\1\x01\xff\x01t"),
             "1 (malformed): channel is not UTF-8"),
            ("a frame before HELLO", frame(0x05, b"\0\0\0\1"), "4 (protocol): the first frame must be HELLO"),
            ("HELLO twice", hello + hello, "4 (protocol): HELLO twice"),
            ("HELLO of protocol version 99", frame(0x01, struct.pack(">H", 99) + b"\0"),
             "4 (protocol): protocol version 99 is not supported (this is 1)"),
        ]:
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(data)
            got = recv_until_closed(s)
            s.close()
            shown = "(no ERROR frame)"
            while len(got) >= 5:
                n, kind = struct.unpack(">IB", got[:5])
                body, got = got[5:4 + n], got[4 + n:]
                if kind == 0x83:
                    _req, code, length = struct.unpack(">IHH", body[:8])
                    shown = "%d (%s): %s" % (code, names.get(code, "?"), body[8:8 + length].decode())
            t.check(bad_input, expected, shown)
    finally:
        node.stop()
    t.finish()


def main():
    cases = Cases()
    node = Node(start="bi_main")
    cases.cleanup.append(node)
    cases.case("config errors: one line naming the file, exit 1", config_errors)
    cases.case("Lua API: bad arguments, unknown services, unpackable values", lua_api, node)
    cases.case("debug console: unknown commands, bad addresses, HTTP", console, node)
    cases.case("length-prefixed reader past socket.limit, truncated gate frame", raw_sockets, node)
    cases.case("chat: bad lines", chat)
    cases.case("pub/sub: malformed frames", pubsub)
    cases.finish()


if __name__ == "__main__":
    main()
