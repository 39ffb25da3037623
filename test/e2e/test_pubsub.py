"""End-to-end test of examples/pubsub: the node runs with the example's own config (its socket path in a
temporary directory, TCP on, the monitor on the test's channels) and is driven by real clients: the
Python module skypubsub, raw sockets for bad frames, and the chat program.

The monitor service (a Lua subscriber) logs each message it gets as
    monitor: [channel] type from client N: field, field, ...
which is how the test sees what the Lua side received.
"""
import math
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

from nettest import ROOT, SANITIZER, Cases, Node, recv_exact

sys.path.insert(0, os.path.join(ROOT, "examples", "pubsub", "client"))
import skypubsub  # noqa: E402

SLOW = 3 if SANITIZER else 1
WAIT = 20 * SLOW          # seconds any expected thing may take
MAX_FRAME = 65536
CHAT = os.path.join(ROOT, "examples", "pubsub", "client", "chat.py")


def config_text(sock_path):
    with open(os.path.join(ROOT, "examples", "pubsub", "config")) as f:
        text = f.read()
    settings = {
        "pubsub_socket": '"%s"' % sock_path,
        "pubsub_tcp_port": "0",
        "pubsub_monitor": '"alpha beta types"',
        "pubsub_max_frame": str(MAX_FRAME),
        "pubsub_max_pending": "1048576",
    }
    for key, value in settings.items():
        text, n = re.subn(r"(?m)^%s\s*=.*$" % key, "%s = %s" % (key, value), text)
        assert n == 1, "the example's config has no %s line" % key
    return text


def wait_until(cond, what, timeout=WAIT):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = cond()
        if got:
            return got
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)


class Inbox:
    """A subscriber callback that collects (channel, type, sender, values) thread-safely."""

    def __init__(self):
        self.lock = threading.Lock()
        self.items = []

    def __call__(self, reader):
        with self.lock:
            self.items.append((reader.channel, reader.type, reader.sender, reader.values()))

    def snapshot(self):
        with self.lock:
            return list(self.items)

    def wait_count(self, n, what):
        wait_until(lambda: len(self.snapshot()) >= n, "%s: %d messages (have %d)" % (what, n, len(self.snapshot())))
        return self.snapshot()


# ---- the monitor's log lines

LOG_RE = re.compile(r"monitor: \[(?P<ch>[^\]]+)\] (?P<type>.+?) from (?P<from>client \d+|:[0-9a-f]{8}): ?(?P<fields>.*)$")
TOKEN_RE = re.compile(r'\s*("(?:[^"\\]|\\\d{3})*"|0x[0-9a-f]*|[^,\s]+)\s*(,|$)')


def parse_fields(text):
    values, pos = [], 0
    while pos < len(text):
        m = TOKEN_RE.match(text, pos)
        if not m:
            raise AssertionError("cannot parse monitor fields %r at %d" % (text, pos))
        tok = m.group(1)
        if tok.startswith('"'):
            raw = re.sub(rb"\\(\d{3})", lambda x: bytes((int(x.group(1)),)), tok[1:-1].encode("utf-8"))
            values.append(raw.decode("utf-8"))
        elif tok.startswith("0x"):
            values.append(bytes.fromhex(tok[2:]))
        elif re.fullmatch(r"-?\d+", tok):
            values.append(int(tok))
        else:
            values.append(float(tok))
        pos = m.end()
    return values


def monitor_lines(node):
    out = []
    with node.cond:
        lines = list(node.lines)
    for line in lines:
        m = LOG_RE.search(line)
        if m:
            out.append((m.group("ch"), m.group("type"), m.group("from"), m.group("fields")))
    return out


def same(a, b):
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) and math.isnan(b):
            return True
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    return type(a) is type(b) and a == b


def same_values(xs, ys):
    return len(xs) == len(ys) and all(same(x, y) for x, y in zip(xs, ys))


# ---- raw frames

def frame(kind, payload=b""):
    return struct.pack(">IB", len(payload) + 1, kind) + payload


def s1(b):
    return bytes((len(b),)) + b


def raw_connect(path, hello=True, name=b"raw"):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(WAIT)
    s.connect(path)
    if hello:
        s.sendall(frame(skypubsub.HELLO, struct.pack(">H", 1) + s1(name)))
        kind, payload = raw_read(s)
        assert kind == skypubsub.WELCOME, "WELCOME expected, got %r" % kind
    return s


def raw_read(s):
    """(kind, payload), or (None, None) at EOF."""
    buf = b""
    while len(buf) < 4:
        chunk = s.recv(4 - len(buf))
        if not chunk:
            return None, None
        buf += chunk
    (n,) = struct.unpack(">I", buf)
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise AssertionError("EOF inside a frame from the hub")
        data += chunk
    return data[0], data[1:]


def expect_error_then_close(s, code, what):
    kind, payload = raw_read(s)
    assert kind == skypubsub.ERROR, "%s: ERROR frame expected, got %r" % (what, kind)
    _, got_code, size = struct.unpack_from(">IHH", payload)
    text = payload[8:8 + size].decode()
    assert got_code == code, "%s: code %d expected, got %d (%s)" % (what, code, got_code, text)
    assert text, "%s: a reason" % what
    kind, _ = raw_read(s)
    assert kind is None, "%s: the hub should close after the ERROR frame, sent %r" % (what, kind)
    s.close()
    return text


# ---- the cases

class PubSubTest:
    def __init__(self, cases):
        self.cases = cases
        self.dir = tempfile.mkdtemp(prefix="skynet-pubsub-")
        self.path = os.path.join(self.dir, "hub.sock")
        self.node = Node(config_text=config_text(self.path))
        cases.cleanup.append(self.node)
        cases.cleanup.append(_TempDir(self.dir))   # after the node: it is removed once the node stopped
        self.comms = []
        self.node.wait_for(r"monitor: watching alpha, beta, types", timeout=WAIT)
        m = self.node.wait_for(r"pubsub: listening for TCP clients on 127\.0\.0\.1:(\d+)", timeout=WAIT)
        self.tcp_port = int(m.group(1))
        self.node.wait_for(r"pubsub: ready", timeout=WAIT)

    def comm(self, name, **kw):
        c = skypubsub.Communicator(self.path, name=name, timeout=WAIT, **kw)
        self.comms.append(c)
        self.cases.cleanup.append(c)
        return c

    def probe(self, name):
        """A publish-and-sync round trip from a fresh client proves the hub still serves."""
        c = self.comm(name)
        got = Inbox()
        skypubsub.Subscriber(c, "health", "ping", got)
        n = skypubsub.Publisher(c, "health", "ping").send(skypubsub.MessageWriter.of(name), wait=True)
        assert n >= 1, "health publish reached %r" % n
        got.wait_count(1, "health echo")
        c.disconnect()

    # -- three clients and a Lua service on two channels

    def two_channels(self):
        a, b, c = self.comm("A"), self.comm("B"), self.comm("C")
        ia, ib, ic = Inbox(), Inbox(), Inbox()
        skypubsub.Subscriber(a, "alpha", "note", ia)
        skypubsub.Subscriber(b, "beta", "note", ib)
        skypubsub.Subscriber(c, "alpha", "note", ic)
        skypubsub.Subscriber(c, "beta", "note", ic)
        per = 40
        expect = {"alpha": [], "beta": []}
        ids = {}

        def publish_all(comm, name):
            pubs = {ch: skypubsub.Publisher(comm, ch, "note") for ch in ("alpha", "beta")}
            for i in range(per):
                for ch in ("alpha", "beta"):
                    pubs[ch].send(skypubsub.MessageWriter.of(name, i, i * 0.5))
            comm.sync()

        threads = []
        for comm, name in ((a, "A"), (b, "B"), (c, "C")):
            ids[comm.client_id] = name
            for ch in ("alpha", "beta"):
                expect[ch] += [(name, i) for i in range(per)]
            t = threading.Thread(target=publish_all, args=(comm, name))
            t.start()
            threads.append(t)
        for t in threads:
            t.join(WAIT)
        total = 3 * per
        got_a = ia.wait_count(total, "A on alpha")
        got_b = ib.wait_count(total, "B on beta")
        got_c = ic.wait_count(2 * total, "C on both")
        wait_until(lambda: len([l for l in monitor_lines(self.node) if l[0] in ("alpha", "beta")]) >= 2 * total,
                   "the monitor's %d lines" % (2 * total))
        time.sleep(0.3)   # anything extra would show up now

        def check(items, channels, who):
            items = items if isinstance(items, list) else items.snapshot()
            want = sorted(m for ch in channels for m in expect[ch])
            have = sorted((v[0], v[1]) for ch, t, sender, v in items)
            assert have == want, "%s: %d messages, expected %d" % (who, len(have), len(want))
            for ch, t, sender, v in items:
                assert ch in channels and t == "note", "%s got %s/%s" % (who, ch, t)
                assert ids[sender] == v[0], "%s: sender id %d is not %s's" % (who, sender, v[0])
                assert v[2] == v[1] * 0.5 and isinstance(v[2], float), "%s: float field %r" % (who, v)
            # each publisher's messages in the order it sent them, per channel
            for ch in channels:
                for name in ("A", "B", "C"):
                    seq = [v[1] for c2, t, s, v in items if c2 == ch and v[0] == name]
                    assert seq == list(range(per)), "%s: %s's messages on %s out of order" % (who, name, ch)

        check(ia, ["alpha"], "A")
        check(ib, ["beta"], "B")
        check(ic, ["alpha", "beta"], "C")
        assert len(ia.snapshot()) == len(got_a) and len(ib.snapshot()) == len(got_b) and len(ic.snapshot()) == len(got_c)
        lua = []
        for ch, t, sender, fields in monitor_lines(self.node):
            if ch in ("alpha", "beta"):
                values = parse_fields(fields)
                num = int(sender.split()[1])
                lua.append((ch, t, num, values))
        check(lua, ["alpha", "beta"], "the Lua monitor")
        for comm in (a, b, c):
            comm.disconnect()

    # -- typed fields, both ways through Lua

    def typed_fields(self):
        a, b = self.comm("typed-a"), self.comm("typed-b")
        got = Inbox()
        skypubsub.Subscriber(b, "types", "mixed", got)
        values = ["", "héllo ☃ \"quoted\" back\\slash\ttab\nline", "x" * 5000,
                  0, 1, -1, 2 ** 63 - 1, -2 ** 63, 1.0, 0.1, -0.0, 1e300, 5e-324, float("inf"), float("-inf"),
                  float("nan"), b"", bytes(range(256)), b"\x00\xff" * 1000]
        w = skypubsub.MessageWriter()
        for v in values:
            w.write(v)
        assert skypubsub.Publisher(a, "types", "mixed").send(w, wait=True) == 2, "b and the monitor"
        item = got.wait_count(1, "typed message")[0]
        assert same_values(item[3], values), "python to python: %r" % (item[3][:5],)
        line = wait_until(lambda: [l for l in monitor_lines(self.node) if l[0] == "types"], "the monitor's line")[0]
        assert line[1] == "mixed", line[1]
        lua_values = parse_fields(line[3])
        assert same_values(lua_values, values), "through Lua: %r" % (lua_values[:5],)
        # the reader's typed methods, as in the Echo tutorial
        r = skypubsub.MessageReader(w.data())
        assert r.readString() == "" and r.read_string().startswith("héllo") and len(r.read_string()) == 5000
        assert r.read_int() == 0 and r.readInt() == 1
        try:
            r.read_string()
            raise AssertionError("read_string of an integer field did not raise")
        except TypeError:
            pass
        for bad in (True, None, [1], 2 ** 63):
            try:
                skypubsub.MessageWriter().write(bad)
                raise AssertionError("write(%r) did not raise" % (bad,))
            except (TypeError, OverflowError):
                pass
        a.disconnect()
        b.disconnect()

    # -- the README's example session, byte for byte

    def readme_session(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(WAIT)
        s.connect(self.path)
        s.sendall(bytes.fromhex("00 00 00 07 01 00 01 03") + b"cli")
        welcome = recv_exact(s, 15)
        assert len(welcome) == 15 and welcome[:7] == bytes.fromhex("00 00 00 0b 81 00 01"), welcome.hex(" ")
        client = welcome[7:11]
        assert welcome[11:] == struct.pack(">I", MAX_FRAME), welcome.hex(" ")
        s.sendall(bytes.fromhex("00 00 00 0c 02 00 00 00 01 04") + b"chat" + bytes.fromhex("01") + b"*")
        assert recv_exact(s, 13) == bytes.fromhex("00 00 00 09 82 00 00 00 01 00 00 00 00")
        publish = (bytes.fromhex("00 00 00 15 04 00 00 00 00 04") + b"chat" + bytes.fromhex("01") + b"t" +
                   bytes.fromhex("02 00 00 00 00 00 00 00 2a"))
        s.sendall(publish)
        deliver = (bytes.fromhex("00 00 00 15 84") + client + bytes.fromhex("04") + b"chat" +
                   bytes.fromhex("01") + b"t" + bytes.fromhex("02 00 00 00 00 00 00 00 2a"))
        got = recv_exact(s, len(deliver))
        assert got == deliver, got.hex(" ")
        s.sendall(bytes.fromhex("00 00 00 01 06"))
        assert recv_exact(s, 5) == bytes.fromhex("00 00 00 01 86")
        assert s.recv(1) == b"", "closed after BYE"
        s.close()

    # -- one communicator shared by threads

    def shared_by_threads(self):
        x, y = self.comm("shared"), self.comm("receiver")
        got = Inbox()
        skypubsub.Subscriber(y, "threads", "n", got)
        per, nthreads = 200, 4
        errors = []

        def publisher(k):
            try:
                pub = skypubsub.Publisher(x, "threads", "n")
                for i in range(per):
                    # requests that wait for their answer mixed with ones that do not
                    n = pub.send(skypubsub.MessageWriter.of(k, i), wait=(i % 50 == 0))
                    assert n in (None, 1), n
            except Exception as e:  # noqa: BLE001
                errors.append(e)

        def churn():
            try:
                for _ in range(30):
                    s = skypubsub.Subscriber(x, "churn", "n", lambda r: None)
                    x.sync()
                    s.unsubscribe()
            except Exception as e:  # noqa: BLE001
                errors.append(e)

        threads = [threading.Thread(target=publisher, args=(k,)) for k in range(nthreads)]
        threads.append(threading.Thread(target=churn))
        for t in threads:
            t.start()
        for t in threads:
            t.join(WAIT)
        assert not errors, errors
        items = got.wait_count(per * nthreads, "all the threads' messages")
        for k in range(nthreads):
            seq = [v[1] for _, _, _, v in items if v[0] == k]
            assert seq == list(range(per)), "thread %d's messages out of order or missing" % k
        x.disconnect()
        y.disconnect()

    # -- a client that disconnects mid-frame

    def mid_frame(self):
        a, b = self.comm("steady-a"), self.comm("steady-b")
        got = Inbox()
        skypubsub.Subscriber(b, "steady", "n", got)
        pub = skypubsub.Publisher(a, "steady", "n")
        count = 1500
        errors = []

        def stream():
            try:
                for i in range(count):
                    pub.send(skypubsub.MessageWriter.of(i))
                a.sync()
            except Exception as e:  # noqa: BLE001
                errors.append(e)

        t = threading.Thread(target=stream)
        t.start()
        quitters = 0
        for how in ("inside the payload", "inside the length", "right after HELLO", "inside a PUBLISH"):
            s = raw_connect(self.path, name=b"quitter")
            if how == "inside the payload":
                s.sendall(struct.pack(">I", 100) + b"\x04" + b"\x00" * 9)
            elif how == "inside the length":
                s.sendall(b"\x00\x00")
            elif how == "inside a PUBLISH":
                sub = frame(skypubsub.SUBSCRIBE, struct.pack(">I", 1) + s1(b"steady") + s1(b"n"))
                s.sendall(sub)
                body = skypubsub.MessageWriter.of("x" * 1000).data()
                pf = frame(skypubsub.PUBLISH, struct.pack(">I", 0) + s1(b"steady") + s1(b"n") + body)
                s.sendall(pf[:len(pf) // 2])
            s.close()
            quitters += 1
        t.join(WAIT)
        assert not errors, "the publisher failed: %r" % errors
        items = got.wait_count(count, "the steady stream")
        assert [v[0] for _, _, _, v in items] == list(range(count)), "the stream arrived whole and in order"
        wait_until(lambda: self.node.count(r"client \d+ \(quitter\) disconnected") >= quitters,
                   "the hub to log the quitters")
        assert self.node.count(r"quitter\) disconnected \(closed in the middle of a frame\)") >= 2, \
            self.node.output(20)
        stats_ok = skypubsub.Publisher(a, "steady", "n").send(skypubsub.MessageWriter.of(-1), wait=True)
        assert stats_ok == 1, "only b is left on the channel (the quitter's subscription went), got %r" % stats_ok
        a.disconnect()
        b.disconnect()

    # -- bad frames

    def bad_frames(self):
        keeper = self.comm("keeper")
        got = Inbox()
        skypubsub.Subscriber(keeper, "kept", "n", got)
        pub = skypubsub.Publisher(keeper, "kept", "n")
        bad = [
            ("unknown frame kind", frame(0x7F, b"abc"), skypubsub.E_UNKNOWN_KIND),
            ("a node-to-client kind", frame(skypubsub.DELIVER, b"\x00" * 8), skypubsub.E_UNKNOWN_KIND),
            ("length over the maximum", struct.pack(">I", MAX_FRAME + 1), skypubsub.E_TOO_LARGE),
            ("length ff ff ff ff", b"\xff\xff\xff\xff", skypubsub.E_TOO_LARGE),
            ("HTTP garbage", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", skypubsub.E_TOO_LARGE),
            ("zero length", b"\x00\x00\x00\x00", skypubsub.E_MALFORMED),
            ("bad field tag", frame(skypubsub.PUBLISH, struct.pack(">I", 0) + s1(b"c") + s1(b"t") + b"\x09"),
             skypubsub.E_MALFORMED),
            ("truncated SUBSCRIBE", frame(skypubsub.SUBSCRIBE, struct.pack(">I", 1) + b"\x05ab"),
             skypubsub.E_MALFORMED),
            ("channel not UTF-8", frame(skypubsub.SUBSCRIBE, struct.pack(">I", 1) + s1(b"\xff\xfe") + s1(b"t")),
             skypubsub.E_MALFORMED),
            ("string field not UTF-8", frame(skypubsub.PUBLISH, struct.pack(">I", 0) + s1(b"c") + s1(b"t") +
                                             b"\x01\x00\x00\x00\x01\xff"), skypubsub.E_MALFORMED),
            ("HELLO twice", frame(skypubsub.HELLO, struct.pack(">H", 1) + s1(b"x")), skypubsub.E_PROTOCOL),
        ]
        for i, (what, data, code) in enumerate(bad):
            s = raw_connect(self.path, name=what.encode())
            s.sendall(data)
            expect_error_then_close(s, code, what)
            # the others keep working
            assert pub.send(skypubsub.MessageWriter.of(i), wait=True) == 1, "%s: the keeper's publish" % what
        items = got.wait_count(len(bad), "the keeper's messages")
        assert [v[0] for _, _, _, v in items] == list(range(len(bad)))
        # before HELLO, and a wrong version
        s = raw_connect(self.path, hello=False)
        s.sendall(frame(skypubsub.PING, struct.pack(">I", 9)))
        expect_error_then_close(s, skypubsub.E_PROTOCOL, "a frame before HELLO")
        s = raw_connect(self.path, hello=False)
        s.sendall(frame(skypubsub.HELLO, struct.pack(">H", 99) + s1(b"future")))
        expect_error_then_close(s, skypubsub.E_PROTOCOL, "version 99")
        # errors that are about the request, not the frame: answered, the connection stays
        other = self.comm("other")
        try:
            skypubsub.Subscriber(other, "kept", "other type", lambda r: None)
            raise AssertionError("a subscription of another type was accepted")
        except skypubsub.PubSubError as e:
            assert e.code == skypubsub.E_TYPE_MISMATCH, e
        try:
            skypubsub.Publisher(other, "kept", "wrong").send(b"", wait=True)
            raise AssertionError("a publish of another type was accepted")
        except skypubsub.PubSubError as e:
            assert e.code == skypubsub.E_TYPE_MISMATCH, e
        other.sync()
        assert other.is_connected()
        # a frame over the limit is refused locally, before it could get the client closed
        try:
            skypubsub.Publisher(other, "kept", "n").send(b"\x04" + struct.pack(">I", MAX_FRAME) + b"x" * MAX_FRAME)
            raise AssertionError("an oversized publish was sent")
        except ValueError:
            pass
        assert self.node.alive(), "the node is running"
        keeper.disconnect()
        other.disconnect()
        self.probe("after-bad-frames")

    # -- a subscriber that never reads

    def slow_subscriber(self):
        s = raw_connect(self.path, name=b"sleepy")
        s.sendall(frame(skypubsub.SUBSCRIBE, struct.pack(">I", 1) + s1(b"flood") + s1(b"blob")))
        kind, _ = raw_read(s)
        assert kind == skypubsub.OK
        a, b = self.comm("flooder"), self.comm("reader")
        got = Inbox()
        skypubsub.Subscriber(b, "flood", "blob", got)
        pub = skypubsub.Publisher(a, "flood", "blob")
        blob = b"z" * 60000
        n = 60      # 3.6 MB: far past the 1 MiB the node keeps for one client
        for i in range(n):
            pub.send(skypubsub.MessageWriter().write_int(i).write_bytes(blob))
            # paced by the reader, so that only the sleepy client falls behind
            got.wait_count(i + 1, "the reading subscriber")
        items = got.snapshot()
        assert [v[0] for _, _, _, v in items] == list(range(n))
        self.node.wait_for(r"client \d+ \(sleepy\) disconnected \(too slow", timeout=WAIT)
        # the sleepy client finds the end of the stream after what was already on its way
        s.settimeout(WAIT)
        while True:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
        s.close()
        a.disconnect()
        b.disconnect()
        self.probe("after-the-slow-one")

    # -- TCP and the wait() dispatch of the Echo tutorial

    def tcp_and_wait_dispatch(self):
        t = skypubsub.Communicator(("127.0.0.1", self.tcp_port), name="tcp", timeout=WAIT, dispatch="wait")
        self.cases.cleanup.append(t)
        u = self.comm("unix")
        got = []
        skypubsub.Subscriber(t, "bridge", "string pair", lambda r: got.append((r.read_string(), r.read_string())))
        skypubsub.Publisher(u, "bridge", "string pair").send(
            skypubsub.MessageWriter().writeString("unix").writeString("to tcp"))
        u.sync()
        deadline = time.time() + WAIT
        while not got and time.time() < deadline:
            assert t.wait(10)
        assert got == [("unix", "to tcp")], got
        t.disconnect()
        assert not t.is_connected()
        u.disconnect()

    # -- the chat program

    def chat(self):
        def start(name):
            p = subprocess.Popen([sys.executable, CHAT, self.path], cwd=ROOT, stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            self.cases.cleanup.append(_Proc(p))
            p.stdin.write((name + "\n").encode())
            p.stdin.flush()
            return p

        lines = {}

        def reader(p, key):
            lines[key] = []
            for raw in p.stdout:
                lines[key].append(raw.decode("utf-8", "replace").rstrip("\n"))

        alice, bob = start("alice"), start("bob")
        for p, key in ((alice, "alice"), (bob, "bob")):
            threading.Thread(target=reader, args=(p, key), daemon=True).start()
        wait_until(lambda: all(any("Hello %s" % k in l for l in lines.get(k, [])) for k in ("alice", "bob")),
                   "both chats to start")
        # A chat reads its input once subscribed, and sees its own lines: once both saw their first line,
        # both are subscribed.
        for p, key in ((alice, "alice"), (bob, "bob")):
            p.stdin.write(("%s is here\n" % key).encode())
            p.stdin.flush()
        wait_until(lambda: all(any(l.endswith("%s: %s is here" % (k, k)) for l in lines[k]) for k in ("alice", "bob")),
                   "both chats to see their own first line")
        alice.stdin.write("hi bob\n".encode())
        alice.stdin.flush()
        wait_until(lambda: any(l.endswith("alice: hi bob") for l in lines["bob"]), "bob to see alice's line")
        bob.stdin.write("hello alice ☃\n".encode())
        bob.stdin.flush()
        wait_until(lambda: any(l.endswith("bob: hello alice ☃") for l in lines["alice"]), "alice to see bob's line")
        assert any(l.endswith("alice: hi bob") for l in lines["alice"]), "alice sees her own line too"
        for p in (alice, bob):
            p.stdin.close()
        for p in (alice, bob):
            assert p.wait(WAIT) == 0, "chat exit code %r" % p.returncode
        wait_until(lambda: self.node.count(r"\(chat\) disconnected \(said bye\)") >= 2, "both chats to say bye")

    def stop_removes_socket(self):
        assert os.path.exists(self.path), "the socket file while running"
        self.node.stop()
        assert self.node.proc.returncode == 0, "exit code %r" % self.node.proc.returncode
        assert not os.path.exists(self.path), "the socket file was removed at stop"


class _TempDir:
    def __init__(self, path):
        self.path = path

    def stop(self):
        shutil.rmtree(self.path, ignore_errors=True)


class _Proc:
    def __init__(self, p):
        self.p = p

    def stop(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait(10)


def main():
    cases = Cases()
    t = None
    try:
        t = PubSubTest(cases)
    except Exception as e:  # noqa: BLE001
        cases.case("the node starts with the example's config", lambda: (_ for _ in ()).throw(e))
    if t is not None:
        cases.case("three clients and a Lua service on two channels see exactly their channels' messages",
                   t.two_channels)
        cases.case("typed fields round-trip (python to python, and through Lua)", t.typed_fields)
        cases.case("the README's session, byte for byte", t.readme_session)
        cases.case("one communicator shared by publishing and subscribing threads", t.shared_by_threads)
        cases.case("a client that disconnects mid-frame does not disturb the others", t.mid_frame)
        cases.case("bad frames get an error frame and are closed while others keep working", t.bad_frames)
        cases.case("a subscriber that never reads is dropped; the others get everything", t.slow_subscriber)
        cases.case("TCP clients, and dispatch in wait() as in the Echo tutorial", t.tcp_and_wait_dispatch)
        cases.case("the chat program exchanges lines between two clients", t.chat)
        cases.case("stopping the node removes the socket file", t.stop_removes_socket)
    cases.finish()


if __name__ == "__main__":
    main()
