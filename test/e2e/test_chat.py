"""End-to-end test of examples/chat: the chat node driven by nc-like clients (Python sockets).

The node runs examples/chat/config with the chat and the debug console on free ports of 127.0.0.1 (port 0,
read back from the log). Clients create and join rooms, talk, see join notices and history, disconnect
(cleanly, abruptly, with a reset), send bad commands, overlong lines and unknown rooms; then 200 clients in
20 rooms exchange 20,000 messages and each must receive exactly the messages of its room, in order.
"""
import os
import re
import socket
import struct
import threading
import time

from e2e_lib import ROOT, Node, case, finish, write_config

DEADLINE = time.time() + 150  # the whole file, well inside the runner's limit


def chat_config(top_level=False):
    if top_level:
        # the default node (./skynet config, what `make run` starts), with its ports moved
        text = 'include "%s"\n' % os.path.join(ROOT, "config")
    else:
        with open(os.path.join(ROOT, "examples", "chat", "config")) as f:
            text = f.read()
    return text + '\nchat_host = "127.0.0.1"\nchat_port = 0\nconsole_port = 0\n'


def wait_match(node, pattern, timeout=15):
    rx = re.compile(pattern)
    deadline = time.time() + timeout
    while time.time() < deadline:
        m = rx.search(node.output())
        if m:
            return m
        if node.proc.poll() is not None:
            break
        time.sleep(0.02)
    raise AssertionError("no %r in the node's output:\n%s" % (pattern, node.output()[-2000:]))


class Client:
    """A line client like nc; lines are read with a timeout, so a missing line fails the case."""

    def __init__(self, port, timeout=10):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.s.settimeout(timeout)
        self.buf = b""
        try:
            first = self.line()
        except socket.timeout:
            raise AssertionError("connected, but no welcome line within %s s" % timeout) from None
        m = re.fullmatch(r"\* welcome to the skynet chat, (\S+)", first)
        assert m, "welcome line: %r" % first
        self.nick = m.group(1)
        help_line = self.line()
        assert help_line.startswith("* commands: /nick name"), help_line

    def send(self, text):
        self.s.sendall(text.encode() + b"\n")

    def line(self):
        while b"\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise AssertionError("connection closed (have %r)" % self.buf[:100])
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line.decode("utf-8", "replace")

    def expect(self, pattern):
        """The next line must match `pattern` (a regex, whole line); returns the match."""
        line = self.line()
        m = re.fullmatch(pattern, line)
        assert m, "%s: expected %r, got %r" % (self.nick, pattern, line)
        return m

    def cmd(self, text, pattern):
        self.send(text)
        return self.expect(pattern)

    def nothing_pending(self):
        """Nothing more was sent to us: /help is answered next (the agent handles lines in order, and
        whatever the hub sent before is written before the answer)."""
        self.send("/help")
        line = self.line()
        assert line.startswith("* commands:"), "%s: unexpected line %r" % (self.nick, line)

    def closed(self, timeout=5):
        self.s.settimeout(timeout)
        try:
            while True:
                chunk = self.s.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except (ConnectionResetError, socket.timeout):
            return False

    def close(self):
        self.s.close()

    def reset(self):
        """Close with SO_LINGER 0: the peer gets a TCP reset instead of a clean close."""
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.s.close()


def named(port, nick):
    c = Client(port)
    c.cmd("/nick " + nick, r"\* you are now %s" % nick)
    c.nick = nick
    return c


node = Node(write_config(chat_config()))
port = None
clients = []
nodes = [node]


def guard():
    """Past the deadline (and before the runner's own limit kills this process and orphans the node),
    stop whatever node runs and fail."""
    time.sleep(max(0, DEADLINE + 15 - time.time()))
    print("CASE FAIL chat: the test ran past its deadline", flush=True)
    for n in nodes:
        n.stop()
    os._exit(1)


threading.Thread(target=guard, daemon=True).start()


@case("chat: the node starts, logs how to connect and the console's address")
def started():
    global port
    port = int(wait_match(node, r"chat: connect with nc 127\.0\.0\.1 (\d+)").group(1))
    assert port > 0
    wait_match(node, r"Start debug console at 127\.0\.0\.1:\d+")


@case("chat: the debug console answers on 127.0.0.1")
def console():
    cport = int(wait_match(node, r"Start debug console at 127\.0\.0\.1:(\d+)").group(1))
    s = socket.create_connection(("127.0.0.1", cport), timeout=10)
    data = b""
    s.sendall(b"list\n")
    while b"<CMD OK>" not in data:
        chunk = s.recv(65536)
        assert chunk, "console closed: %r" % data
        data += chunk
    s.close()
    assert b"Welcome to skynet console" in data, data[:200]
    assert b"chat_message_hub" in data, data


@case("chat: three clients create and join rooms, talk, see join notices and history")
def three_clients():
    alice, bob, carol = named(port, "alice"), named(port, "bob"), named(port, "carol")
    clients.extend([alice, bob, carol])
    carol.cmd("/nick alice", r"error: nickname in use: alice")
    alice.cmd("/create lobby", r"\* created and joined lobby; you talk in lobby")
    alice.send("hello, anyone?")
    alice.send("  spaces are kept  ")
    # /who is answered after the hub took alice's two messages (same sender, same order)
    alice.cmd("/who", r"\* in lobby: alice")

    bob.cmd("/join lobby", r"\* joined lobby; you talk in lobby")
    bob.expect(r"\* history of lobby: 2 messages")
    bob.expect(r"\[lobby\] \(\d\d:\d\d:\d\d\) alice: hello, anyone\?")
    bob.expect(r"\[lobby\] \(\d\d:\d\d:\d\d\) alice:   spaces are kept  ")
    alice.expect(r"\[lobby\] \* bob joined")

    carol.cmd("/join lobby", r"\* joined lobby; you talk in lobby")
    carol.expect(r"\* history of lobby: 2 messages")
    carol.expect(r"\[lobby\] \(\d\d:\d\d:\d\d\) alice: hello, anyone\?")
    carol.expect(r"\[lobby\] \(\d\d:\d\d:\d\d\) alice:   spaces are kept  ")
    alice.expect(r"\[lobby\] \* carol joined")
    bob.expect(r"\[lobby\] \* carol joined")

    bob.send("hi from bob")
    alice.expect(r"\[lobby\] bob: hi from bob")
    carol.expect(r"\[lobby\] bob: hi from bob")
    bob.nothing_pending()  # a sender does not get its own message back

    alice.cmd("/who", r"\* in lobby: alice, bob, carol")
    alice.cmd("/rooms", r"\* rooms: \*lobby \(3\)")

    # a second room; carol and bob are in both, the current room is the last joined
    carol.cmd("/create dev", r"\* created and joined dev; you talk in dev")
    bob.cmd("/join dev", r"\* joined dev; you talk in dev")
    carol.expect(r"\[dev\] \* bob joined")
    carol.send("in dev now")
    bob.expect(r"\[dev\] carol: in dev now")
    bob.cmd("/join lobby", r"\* you talk in lobby")  # already a member: just switches
    bob.send("back in lobby")
    alice.expect(r"\[lobby\] bob: back in lobby")
    carol.expect(r"\[lobby\] bob: back in lobby")
    alice.cmd("/rooms", r"\* rooms: dev \(2\), \*lobby \(3\)")
    alice.nothing_pending()  # nothing of dev reached alice

    # /leave: the others are told; the leaver hears no more of the room
    bob.cmd("/leave dev", r"\* left dev; you talk in lobby")
    carol.expect(r"\[dev\] \* bob left")
    carol.send("bob is gone")
    carol.cmd("/who dev", r"\* in dev: carol")
    bob.nothing_pending()

    # renames are told to the rooms
    carol.cmd("/nick carla", r"\* you are now carla")
    carol.nick = "carla"
    alice.expect(r"\[lobby\] \* carol is now carla")
    bob.expect(r"\[lobby\] \* carol is now carla")
    carol.cmd("/join lobby", r"\* you talk in lobby")
    carol.send("//slash at the start")
    alice.expect(r"\[lobby\] carla: /slash at the start")
    bob.expect(r"\[lobby\] carla: /slash at the start")
    # telnet ends lines with \r\n
    carol.s.sendall(b"from telnet\r\n")
    alice.expect(r"\[lobby\] carla: from telnet")
    bob.expect(r"\[lobby\] carla: from telnet")


@case("chat: a client that vanishes without /quit leaves every room and the others are told")
def abrupt_close():
    alice, bob, carla = clients
    carla.close()  # no /quit: the connection just ends
    got_alice = {alice.line()}
    got_bob = {bob.line()}
    assert got_alice == {"[lobby] * carla disconnected"}, got_alice
    assert got_bob == {"[lobby] * carla disconnected"}, got_bob
    alice.cmd("/who", r"\* in lobby: alice, bob")
    alice.cmd("/who dev", r"\* in dev: \(nobody\)")  # the room stays, empty
    # the name is free again
    c2 = named(port, "carla")
    c2.cmd("/quit", r"\* bye")
    assert c2.closed(), "the connection should end after /quit"


@case("chat: a client whose connection is reset (SO_LINGER 0) leaves and the others are told")
def reset_close():
    alice, bob, _ = clients
    dave = named(port, "dave")
    dave.cmd("/join lobby", r"\* joined lobby; you talk in lobby")
    dave.expect(r"\* history of lobby: \d+ messages?")
    alice.expect(r"\[lobby\] \* dave joined")
    bob.expect(r"\[lobby\] \* dave joined")
    dave.reset()  # (its history is still unread)
    alice.expect(r"\[lobby\] \* dave disconnected")
    bob.expect(r"\[lobby\] \* dave disconnected")
    alice.cmd("/who", r"\* in lobby: alice, bob")


@case("chat: /quit says bye, closes the connection, and the others see 'quit'")
def quit_cleanly():
    alice, bob, _ = clients
    bob.cmd("/quit", r"\* bye")
    assert bob.closed(), "connection still open after /quit"
    alice.expect(r"\[lobby\] \* bob quit")
    alice.cmd("/who", r"\* in lobby: alice")
    # lines sent together are answered in order: the history of a /join comes before the next answer,
    # and "* bye" is the last line
    eve = named(port, "eve")
    eve.s.sendall(b"/join lobby\n/who\n/quit\n")
    eve.expect(r"\* joined lobby; you talk in lobby")
    n = int(eve.expect(r"\* history of lobby: (\d+) messages?").group(1))
    for _ in range(n):
        eve.expect(r"\[lobby\] \(\d\d:\d\d:\d\d\) \w+: .*")
    eve.expect(r"\* in lobby: alice, eve")
    eve.expect(r"\* bye")
    assert eve.closed() and eve.buf == b"", "more after bye: %r" % eve.buf
    alice.expect(r"\[lobby\] \* eve joined")
    alice.expect(r"\[lobby\] \* eve quit")


@case("chat: unknown commands, unknown rooms and bad arguments get error lines")
def errors():
    c = Client(port)
    clients.append(c)
    c.cmd("/frobnicate", r"error: unknown command /frobnicate \(/help lists the commands\)")
    c.cmd("/", r"error: unknown command / \(/help lists the commands\)")
    c.cmd("talking to nobody", r"error: you are not in a room; /join or /create one first \(/help\)")
    c.cmd("/join nosuch", r"error: no such room: nosuch \(/rooms lists them, /create makes one\)")
    c.cmd("/leave nosuch", r"error: no such room: nosuch")
    c.cmd("/who nosuch", r"error: no such room: nosuch")
    c.cmd("/who", r"error: you are not in a room; /who room names one")
    c.cmd("/leave", r"error: you are not in a room")
    c.cmd("/leave lobby", r"error: you are not in lobby")
    c.cmd("/create lobby", r"error: room exists: lobby \(/join lobby to enter it\)")
    c.cmd("/join", r"error: usage: /join room")
    c.cmd("/create bad/name", r"error: usage: /create room \(1-32 letters, digits, _ or -\)")
    c.cmd("/nick", r"error: usage: /nick name \(1-32 letters, digits, _ or -\)")
    c.cmd("/nick " + "x" * 33, r"error: usage: /nick name \(1-32 letters, digits, _ or -\)")
    c.cmd("/join two words", r"error: one word expected after /join")
    c.cmd("/help", r"\* commands: .*lines up to 4096 bytes")
    c.cmd("/JOIN lobby", r"\* joined lobby; you talk in lobby")  # commands ignore case
    n = int(c.expect(r"\* history of lobby: (\d+) messages?").group(1))
    for _ in range(n):
        c.expect(r"\[lobby\] \(\d\d:\d\d:\d\d\) \w+: .*")


@case("chat: lines over 4096 bytes get an error line and are dropped; the connection goes on")
def long_lines():
    alice = clients[0]
    c = clients[-1]  # in lobby with alice
    alice.expect(r"\[lobby\] \* %s joined" % c.nick)
    alice.cmd("/who", r"\* in lobby: alice, %s" % c.nick)
    # exactly the limit: said to the room
    c.send("a" * 4096)
    alice.expect(r"\[lobby\] guest\d+: a{4096}")
    # one byte more: refused, and nothing reaches the room
    c.cmd("b" * 4097, r"error: line too long \(the limit is 4096 bytes\); ignored")
    # the limit plus \r\n is still fine
    c.s.sendall(b"c" * 4096 + b"\r\n")
    alice.expect(r"\[lobby\] guest\d+: c{4096}")
    # a megabyte without a newline, in pieces: one error line, then the next line is served
    for _ in range(16):
        c.s.sendall(b"d" * 65536)
    c.expect(r"error: line too long \(the limit is 4096 bytes\); ignored")
    c.s.sendall(b"ddd\nafter the long one\n")
    alice.expect(r"\[lobby\] guest\d+: after the long one")
    alice.nothing_pending()
    c.nothing_pending()


ROOMS = 20
PER_ROOM = 10
MESSAGES = 100  # per client: 200 clients x 100 = 20,000 messages


@case("chat: 200 clients in 20 rooms exchange 20,000 messages; each gets exactly its room's, in order")
def many_clients():
    n = ROOMS * PER_ROOM
    conns = [None] * n
    errors = []

    def setup(i):
        stage = "connect"
        t0 = time.time()
        try:
            c = Client(port, timeout=60)
            stage = "nick"
            c.cmd("/nick u%d" % i, r"\* you are now u%d" % i)
            c.nick = "u%d" % i
            conns[i] = c
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append("setup %d (%s, after %.1f s): %s" % (i, stage, time.time() - t0, e))

    threads = [threading.Thread(target=setup, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=max(1, DEADLINE - time.time()))
    if errors:
        print("---- node output (last lines) ----\n" + "\n".join(node.output().splitlines()[-40:]), flush=True)
    assert not errors, "%d setup errors, first: %s" % (len(errors), errors[:3])
    # the first client of each room creates it, then the others join (so every member is in before
    # anyone talks); earlier members see the later joins
    for r in range(ROOMS):
        conns[r].cmd("/create room%d" % r, r"\* created and joined room%d; you talk in room%d" % (r, r))
    for i in range(ROOMS, n):
        conns[i].send("/join room%d" % (i % ROOMS))
    for i in range(ROOMS, n):
        conns[i].expect(r"\* joined room%d; you talk in room%d" % (i % ROOMS, i % ROOMS))

    def talk(i):
        c = conns[i]
        room = "room%d" % (i % ROOMS)
        members = {"u%d" % j for j in range(i % ROOMS, n, ROOMS)}
        others = members - {c.nick}
        try:
            c.s.sendall(b"".join(("m %s %d\n" % (c.nick, k)).encode() for k in range(MESSAGES)))
            want = len(others) * MESSAGES
            next_seq = {u: 0 for u in others}
            joins = 0
            got = 0
            rx = re.compile(r"\[(\w+)\] (\w+): m (\w+) (\d+)")
            while got < want:
                line = c.line()
                m = rx.fullmatch(line)
                if m is None:
                    j = re.fullmatch(r"\[(\w+)\] \* (\w+) joined", line)
                    if j and j.group(1) == room and j.group(2) in others:
                        joins += 1
                        continue
                    raise AssertionError("unexpected line %r" % line)
                r, sender, named_sender, seq = m.group(1), m.group(2), m.group(3), int(m.group(4))
                if r != room or sender not in others or named_sender != sender:
                    raise AssertionError("a message of another room or sender: %r" % line)
                if seq != next_seq[sender]:
                    raise AssertionError("from %s: got #%d, expected #%d" % (sender, seq, next_seq[sender]))
                next_seq[sender] += 1
                got += 1
            c.nothing_pending()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append("client u%d: %s: %s" % (i, type(e).__name__, e))

    t0 = time.time()
    threads = [threading.Thread(target=talk, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=max(1, DEADLINE - time.time()))
    assert not any(t.is_alive() for t in threads), "clients still running at the deadline"
    assert not errors, "%d errors, first: %s" % (len(errors), errors[:3])
    print("  20,000 messages, 180,000 deliveries in %.1f s" % (time.time() - t0), flush=True)
    for c in conns:
        c.close()
    # every agent goes, and the hub forgets them: the rooms are empty
    probe = Client(port)
    deadline = time.time() + 20
    while True:
        line = probe.cmd("/rooms", r"\* rooms: .*").group(0)
        counts = re.findall(r"room\d+ \((\d+)\)", line)
        if len(counts) == ROOMS and all(x == "0" for x in counts):
            break
        assert time.time() < deadline, "rooms not emptied: %s" % line
        time.sleep(0.2)
    probe.close()


@case("chat: the node is still up and logged no Lua error")
def still_up():
    assert node.proc.poll() is None, "the node exited"
    out = node.output()
    assert "lua call" not in out and "stack traceback" not in out, out[-3000:]


try:
    for c in clients:
        c.close()
finally:
    node.stop()

top = Node(write_config(chat_config(top_level=True)))
nodes.append(top)
try:
    @case("chat: the top-level config (make run) starts the chat node and prints how to connect")
    def top_level():
        tport = int(wait_match(top, r"chat: connect with nc 127\.0\.0\.1 (\d+)").group(1))
        wait_match(top, r"Start debug console at 127\.0\.0\.1:\d+")
        c = Client(tport)
        c.cmd("/rooms", r"\* no rooms yet; /create one")
        c.close()
finally:
    top.stop()

finish()
