"""Shared helpers of the networking end-to-end tests (python3 stdlib only).

Node starts ./skynet (SKYNET_BIN) with a generated config, collects its output in a thread, and is always
stopped (SIGTERM, then SIGKILL) by Cases.run. Each case prints "CASE PASS <name>" or "CASE FAIL <name>: why".
"""
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SKYNET = os.path.abspath(os.path.join(ROOT, os.environ.get("SKYNET_BIN", "./skynet")))



def _sanitizer():
    """"address" or "thread" when SKYNET_BIN was built with that sanitizer, else None."""
    try:
        with open(SKYNET, "rb") as f:
            data = f.read()
    except OSError:
        return None
    if b"__asan_init" in data:
        return "address"
    if b"__tsan_init" in data:
        return "thread"
    return None


SANITIZER = _sanitizer()

CONFIG = """
root = "./"
thread = {thread}
harbor = 0
start = "{start}"
bootstrap = "snlua bootstrap"
luaservice = root .. "service/?.lua;" .. root .. "test/e2e/svc/?.lua;" .. root .. "examples/echo/?.lua"
lualoader = root .. "lualib/loader.lua"
lua_path = root .. "lualib/?.lua;" .. root .. "lualib/?/init.lua"
lua_cpath = root .. "luaclib/?.so"
"""


def lua_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    return '"%s"' % str(v).replace("\\", "\\\\").replace('"', '\\"')


class Node:
    """A running ./skynet. `config_text` replaces the generated config when given."""

    def __init__(self, start=None, extra=None, config_text=None, thread=4, preexec_fn=None, stdin=None):
        text = config_text if config_text is not None else CONFIG.format(thread=thread, start=start)
        for k, v in (extra or {}).items():
            text += "%s = %s\n" % (k, lua_value(v))
        fd, self.config = tempfile.mkstemp(prefix="skynet-e2e-", suffix=".config")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        self.lines = []
        self.cond = threading.Condition()
        self.proc = subprocess.Popen([SKYNET, self.config], cwd=ROOT, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, stdin=stdin if stdin is not None else subprocess.DEVNULL,
                                     preexec_fn=preexec_fn)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self.cond:
                self.lines.append(line)
                # keep memory bounded when a test logs a lot (the echo example logs every packet)
                if len(self.lines) > 200000:
                    del self.lines[:100000]
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    @property
    def pid(self):
        return self.proc.pid

    def wait_for(self, pattern, timeout=30):
        """The first match of `pattern` in the output (searching from the start); raises on timeout."""
        rx = re.compile(pattern)
        deadline = time.time() + timeout
        with self.cond:
            checked = 0
            while True:
                for line in self.lines[checked:]:
                    m = rx.search(line)
                    if m:
                        return m
                checked = len(self.lines)
                if self.proc.poll() is not None and checked == len(self.lines):
                    raise AssertionError("skynet exited (%s) before printing %r" % (self.proc.returncode, pattern))
                left = deadline - time.time()
                if left <= 0:
                    raise AssertionError("timed out waiting for %r" % pattern)
                self.cond.wait(min(left, 0.5))

    def count(self, pattern):
        rx = re.compile(pattern)
        with self.cond:
            return sum(1 for line in self.lines if rx.search(line))

    def unusual(self, usual, last=20):
        """The last `last` output lines that match none of the regexes in `usual`: what to show when a test of
        a chatty example fails."""
        rxs = [re.compile(p) for p in usual]
        with self.cond:
            return [line for line in self.lines if not any(rx.search(line) for rx in rxs)][-last:]

    def output(self, last=40):
        with self.cond:
            return "\n".join(self.lines[-last:])

    def alive(self):
        return self.proc.poll() is None

    def fd_count(self):
        return len(os.listdir("/proc/%d/fd" % self.pid))

    def rss_kb(self):
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def sanitizer_reports(self):
        """Summary lines of sanitizer reports (ThreadSanitizer, AddressSanitizer, LeakSanitizer...)."""
        with self.cond:
            return [l for l in self.lines if l.startswith("SUMMARY: ") and "Sanitizer" in l]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.reader.join(timeout=5)
        try:
            os.unlink(self.config)
        except OSError:
            pass


def connect(port, host="127.0.0.1", timeout=10):
    s = socket.create_connection((host, port), timeout=timeout)
    s.settimeout(timeout)
    return s


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise AssertionError("connection closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf


def recv_until_closed(s, limit=1 << 24):
    """Everything until the peer closes (raises socket.timeout if it never does)."""
    buf = b""
    while len(buf) < limit:
        chunk = s.recv(65536)
        if not chunk:
            return buf
        buf += chunk
    return buf


def recv_until_closed_or_reset(s):
    """Everything the peer sent before it closed. A peer that closes while some of our bytes are still
    unread in its kernel makes the kernel reset the connection: what arrived before is still read, then
    the reset ends it like a close."""
    buf = b""
    while True:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            return buf
        if not chunk:
            return buf
        buf += chunk


class LineReader:
    def __init__(self, s):
        self.s = s
        self.buf = b""

    def readline(self):
        while b"\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise AssertionError("connection closed while reading a line (have %r)" % self.buf[:80])
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line.decode("utf-8", "replace")


class Cases:
    """Runs cases in order; prints CASE lines; exits non-zero if any failed."""

    def __init__(self):
        self.failed = 0
        self.cleanup = []

    def case(self, name, fn, *args):
        try:
            fn(*args)
            print("CASE PASS %s" % name, flush=True)
        except Exception as e:  # noqa: BLE001 - every failure is reported, never raised
            self.failed += 1
            why = "%s: %s" % (type(e).__name__, e)
            print("CASE FAIL %s: %s" % (name, why.replace("\n", " | ")), flush=True)
            traceback.print_exc(file=sys.stdout)
            for node in list(self.cleanup):
                if isinstance(node, Node):
                    print("---- node output ----\n" + node.output(), flush=True)

    def finish(self):
        nodes = []
        for thing in self.cleanup:
            try:
                (getattr(thing, "stop", None) or thing.close)()
            except Exception:  # noqa: BLE001
                pass
            if isinstance(thing, Node):
                nodes.append(thing)
        # In a sanitizer build (make test SAN=...) any report is a failure, whatever the cases said.
        reports = [r for n in nodes for r in n.sanitizer_reports()]
        if reports:
            self.failed += 1
            print("CASE FAIL sanitizer reports: %d, first: %s" % (len(reports), reports[0]), flush=True)
        sys.exit(1 if self.failed else 0)
