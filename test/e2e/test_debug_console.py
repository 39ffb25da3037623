"""End-to-end test of service/debug_console driven over TCP: list, mem, stat, call, kill, netstat, help,
unknown commands, and HTTP (refused unless enabled)."""
import os
import re
import tempfile
import time

from nettest import Cases, LineReader, Node, connect, recv_until_closed, recv_until_closed_or_reset


class Console:
    def __init__(self, port):
        self.s = connect(port)
        self.r = LineReader(self.s)
        welcome = self.r.readline()
        assert welcome == "Welcome to skynet console", welcome

    def run(self, line):
        """Sends a command; returns (ok, output lines)."""
        self.s.sendall(line.encode() + b"\n")
        out = []
        while True:
            l = self.r.readline()
            if l == "<CMD OK>":
                return True, out
            if l == "<CMD Error>":
                return False, out
            out.append(l)

    def close(self):
        self.s.close()


def http_get(port, path):
    s = connect(port)
    s.sendall(("GET %s HTTP/1.1\r\nHost: localhost\r\nUser-Agent: e2e\r\n\r\n" % path).encode())
    data = recv_until_closed(s)
    s.close()
    # a console without HTTP greets first (telnet style), then refuses
    at = data.find(b"HTTP/1.1 ")
    assert at >= 0, "no HTTP status line in %r" % data[:200]
    head, _, body = data[at:].partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0].decode()
    return status, body.decode()


def main():
    cases = Cases()
    node = Node(start="net_console_main")
    cases.cleanup.append(node)
    ports = []
    target = None

    def started():
        nonlocal target
        for m in [node.wait_for(r"Start debug console at 127\.0\.0\.1:(\d+)")]:
            ports.append(int(m.group(1)))
        target = node.wait_for(r"TARGET (:[0-9a-f]+)").group(1)
        # the second console (HTTP enabled)
        with node.cond:
            found = [int(m.group(1)) for m in (re.search(r"Start debug console at 127\.0\.0\.1:(\d+)", l)
                                               for l in node.lines) if m]
        assert len(found) == 2, found
        ports[:] = found

    cases.case("console: two consoles start on free ports", started)
    if len(ports) != 2:
        cases.finish()
    console = Console(ports[0])
    cases.cleanup.append(console)

    def list_services():
        ok, out = console.run("list")
        assert ok, out
        assert any(l.startswith(target + "\t") and "net_console_target" in l for l in out), out
        assert any("debug_console" in l for l in out), out

    def mem():
        ok, out = console.run("mem")
        assert ok, out
        line = [l for l in out if l.startswith(target + "\t")]
        assert line and "Kb" in line[0], out

    def stat():
        ok, out = console.run("stat")
        assert ok, out
        line = [l for l in out if l.startswith(target + "\t")]
        assert line and "message:" in line[0] and "mqlen:" in line[0], out

    def call():
        ok, out = console.run('call %s "add", 2, 40' % target)
        assert ok, out
        assert "1\t42" in out and "n\t1" in out, out
        ok, out = console.run('call %s "echo", "hi", true' % target)
        assert ok and "1\thi" in out and "2\ttrue" in out, out
        ok, out = console.run("call %s nonsense(" % target)
        assert not ok, out

    def kill():
        ok, out = console.run("kill " + target)
        assert ok, out
        ok, out = console.run("list")
        assert ok and not any(l.startswith(target + "\t") for l in out), out
        ok, out = console.run('call %s "echo", 1' % target)
        assert not ok, "a call to the killed service must fail: %s" % out

    def others():
        ok, out = console.run("help")
        assert ok and any(l.startswith("netstat\t") for l in out) and any(l.startswith("call\t") for l in out), out
        ok, out = console.run("netstat")
        assert ok and any("type:LISTEN" in l for l in out) and any("type:TCP" in l for l in out), out
        ok, out = console.run("getenv harbor")
        assert ok and out == ["0"], out
        ok, out = console.run("no_such_command")
        assert not ok and any("Invalid command" in l for l in out), out
        ok, out = console.run("ping .launcher")
        assert ok, out
        ok, out = console.run("info")
        assert not ok, "info without an address is an error line, not a crash: %s" % out
        ok, out = console.run("gc")
        assert ok, out

    def every_command():
        """Each of skynet's commands answers <CMD OK> or a clean <CMD Error>, and the console goes on."""
        ok, out = console.run("start net_console_target")
        assert ok and any("net_console_target" in l for l in out), out
        fresh = out[0].split("\t")[0]
        for line in ("task " + fresh, "uniqtask " + fresh, "info " + fresh, "killtask %s nothing" % fresh,
                     "dbg %s PING" % fresh, "logon " + fresh, "logoff " + fresh, "signal %s 1" % fresh,
                     "trace %s on" % fresh, "trace %s off" % fresh, "cmem", "service", "clearcache",
                     "setenv net_console_key hello", "exit " + fresh):
            ok, out = console.run(line)
            assert ok, "%s: %s" % (line, out)
        ok, out = console.run("getenv net_console_key")
        assert ok and out == ["hello"], out
        ok, out = console.run("setenv net_console_key again")
        assert not ok, "setenv of an existing key is an error line: %s" % out
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
            f.write("return 6 * 7\n")
            script = f.name
        try:
            ok, out = console.run("inject .launcher " + script)
            assert ok, out
        finally:
            os.unlink(script)
        ok, out = console.run("inject .launcher /no/such/file.lua")
        assert ok and any("Can't open" in l for l in out), out
        for line in ("snax no_such_snax", "start no_such_service", "log no_such_service"):
            ok, out = console.run(line)
            assert ok and out == ["Failed"], "%s: %s" % (line, out)
        for line in ("task", "kill", "call", "ping :7fffff"):
            ok, out = console.run(line)
            assert not ok, "%s should fail cleanly: %s" % (line, out)

    def http_refused():
        status, body = http_get(ports[0], "/list")
        assert status.startswith("HTTP/1.1 403"), status
        node.wait_for(r"HTTP request refused")

    def http_enabled():
        status, body = http_get(ports[1], "/list")
        assert status.startswith("HTTP/1.1 200"), status
        assert "<CMD OK>" in body and "debug_console" in body, body
        status, body = http_get(ports[1], "/nothing_here")
        assert status.startswith("HTTP/1.1 400"), status
        # a header line over the console's line limit ends the headers; the request is still answered
        s = connect(ports[1])
        s.sendall(b"GET /list HTTP/1.1\r\nX-Long: " + b"h" * 70000 + b"\r\n\r\n")
        data = recv_until_closed_or_reset(s)
        s.close()
        assert data.startswith(b"HTTP/1.1 200 OK\r\n") and b"<CMD OK>" in data, data[:200]

    too_long = "Line too long (the limit is 65536 bytes); closing the connection"

    def overlong_answer(port, pieces, http=False):
        """Connects, sends the pieces (no newline among them), returns the lines the console sent until it
        closed the connection."""
        s = connect(port)
        try:
            if not http:
                assert LineReader(s).readline() == "Welcome to skynet console"
            for piece in pieces:
                try:
                    s.sendall(piece)
                except OSError:
                    break  # the console closed the connection before the last piece: what we test
            return recv_until_closed_or_reset(s).decode("utf-8", "replace").splitlines()
        finally:
            s.close()

    def overlong_line():
        other = Console(ports[0])
        try:
            lines = overlong_answer(ports[0], [b"x" * 70000])
            assert lines == [too_long, "<CMD Error>"], lines[:5]
            node.wait_for(r"debug console: a line over 65536 bytes from 127\.0\.0\.1:\d+; connection closed")
            # in pieces, so that the line is kept across many reads before it passes the limit
            lines = overlong_answer(ports[0], [b"z" * 1000] * 70)
            assert lines == [too_long, "<CMD Error>"], lines[:5]
            # the HTTP-enabled console reads its first line the same way
            lines = overlong_answer(ports[1], [b"GET /" + b"a" * 70000], http=True)
            assert lines == [too_long, "<CMD Error>"], lines[:5]
            # the node and the other connections go on
            ok, out = other.run("ping .launcher")
            assert ok, out
            fresh = Console(ports[0])
            ok, out = fresh.run("list")
            fresh.close()
            assert ok and any("debug_console" in l for l in out), out
        finally:
            other.close()
        assert node.alive(), "the node died"

    def long_and_split_lines():
        c = Console(ports[0])
        try:
            # exactly at the limit: read as a line (an unknown command), and the connection stays
            c.s.sendall(b"y" * 65536 + b"\n")
            got = [c.r.readline(), c.r.readline()]
            assert got == ["Invalid command, type help for command list", "<CMD Error>"], got
            # a command that arrives in pieces, and two commands in one send
            for piece in (b"get", b"env har", b"bor\n"):
                c.s.sendall(piece)
                time.sleep(0.05)
            got = [c.r.readline(), c.r.readline()]
            assert got == ["0", "<CMD OK>"], got
            c.s.sendall(b"getenv thread\r\ngetenv harbor\n")
            got = [c.r.readline() for _ in range(4)]
            assert got == ["4", "<CMD OK>", "0", "<CMD OK>"], got
        finally:
            c.close()

    cases.case("console: list shows the services", list_services)
    cases.case("console: mem", mem)
    cases.case("console: stat", stat)
    cases.case("console: call with Lua arguments", call)
    cases.case("console: kill", kill)
    cases.case("console: help, netstat, getenv, ping, gc and an unknown command", others)
    cases.case("console: every other command answers OK or a clean error", every_command)
    cases.case("console: HTTP is refused unless enabled", http_refused)
    cases.case("console: HTTP when enabled", http_enabled)
    cases.case("console: a line over 64 KiB gets an error, only that connection is closed", overlong_line)
    cases.case("console: a line of exactly 64 KiB and a command sent in pieces are read whole",
               long_and_split_lines)
    cases.case("console: still answering after all that", lambda: console.run("list")[0] or (_ for _ in ()).throw(
        AssertionError("list failed")))
    cases.finish()


if __name__ == "__main__":
    main()
