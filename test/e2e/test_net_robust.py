"""Bad input and resource tests of the socket layer, with real clients:
  * a 4 GB length prefix (to a length-prefixed reader that trusts it, and to the gate's 2-byte framing),
  * half a frame and then the close,
  * a flood past socket.limit,
  * 2,000 connect/close cycles without growth of file descriptors or memory,
  * running out of file descriptors: accepting pauses with back-off (no spinning) and recovers.
The node keeps serving other clients through all of it."""
import os
import re
import resource
import socket
import struct
import time

from nettest import SANITIZER, Cases, LineReader, Node, connect, recv_exact, recv_until_closed


def closed_by_peer(s):
    try:
        while True:
            data = s.recv(65536)
            if not data:
                return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def frame_echo(port):
    s = connect(port)
    s.sendall(struct.pack(">I", 5) + b"hello")
    assert recv_exact(s, 9) == struct.pack(">I", 5) + b"hello"
    s.close()


def echo_line(port):
    s = connect(port)
    r = LineReader(s)
    s.sendall(b"ping\n")
    assert r.readline() == "ping"
    s.close()


def gate_frame(port):
    s = connect(port)
    s.sendall(struct.pack(">H", 9) + b"echo:gate")
    n = struct.unpack(">H", recv_exact(s, 2))[0]
    assert recv_exact(s, n) == b"echo:gate"
    s.close()


def huge_prefix_reader(node, ports):
    rss0 = node.rss_kb()
    s = connect(ports["frame"])
    s.sendall(b"\xff\xff\xff\xff")
    # the reader now waits for 4 GB; what arrives is bounded by its socket.limit (64 KiB)
    try:
        for _ in range(16):
            s.sendall(b"x" * 16384)
    except (BrokenPipeError, ConnectionResetError):
        pass
    assert closed_by_peer(s), "the connection should be closed by the limit"
    s.close()
    assert node.rss_kb() - rss0 < 64 * 1024, "RSS grew by %d KB" % (node.rss_kb() - rss0)
    frame_echo(ports["frame"])


def huge_prefix_gate(node, ports):
    s = connect(ports["gate"])
    s.sendall(b"\xff\xff\xff\xff")  # a 65535-byte frame announced, two of its bytes sent
    time.sleep(0.2)
    s.close()
    gate_frame(ports["gate"])


def half_frame(node, ports):
    for port, head in ((ports["frame"], struct.pack(">I", 1000) + b"abc"), (ports["gate"], struct.pack(">H", 1000) + b"abc")):
        s = connect(port)
        s.sendall(head)
        s.close()
    frame_echo(ports["frame"])
    gate_frame(ports["gate"])
    echo_line(ports["echo"])


def flood(node, ports):
    s = connect(ports["frame"])
    s.sendall(struct.pack(">I", 0x7FFFFFFF))
    sent = 0
    try:
        while sent < 32 * 1024 * 1024:
            s.sendall(b"f" * 65536)
            sent += 65536
    except (BrokenPipeError, ConnectionResetError):
        pass
    assert closed_by_peer(s), "flood past the limit should be closed"
    s.close()
    node.wait_for(r"socket buffer overflow")
    frame_echo(ports["frame"])
    echo_line(ports["echo"])


def cycles(node, ports):
    def cycle(n):
        for _ in range(n):
            echo_line(ports["echo"])

    cycle(200)  # warm up: caches, the allocator, Lua states
    time.sleep(1)
    fds0, rss0 = node.fd_count(), node.rss_kb()
    cycle(2000)
    # the sessions close and exit asynchronously: wait (bounded) for the descriptors to go back
    deadline = time.time() + 20
    while node.fd_count() > fds0 + 2 and time.time() < deadline:
        time.sleep(0.2)
    fds1, rss1 = node.fd_count(), node.rss_kb()
    print("  fds %d -> %d, VmRSS %d KB -> %d KB" % (fds0, fds1, rss0, rss1))
    assert fds1 <= fds0 + 2, "file descriptors grew from %d to %d" % (fds0, fds1)
    if SANITIZER:
        # the sanitizers keep freed memory on purpose (quarantine, shadow): RSS says nothing there;
        # leaks are LeakSanitizer's job at exit
        print("  (VmRSS not checked under the %s sanitizer)" % SANITIZER)
    else:
        assert rss1 - rss0 < 24 * 1024, "VmRSS grew from %d KB to %d KB" % (rss0, rss1)
    assert node.alive()


def out_of_descriptors():
    """A node whose descriptor limit is low: the accept loop must pause, not spin, and recover.
    The frame reader serves each connection in a coroutine, so once the limit is reached no descriptor
    comes free until the clients go: every retry of accept fails for as long as they are held."""
    limit = 48

    def low_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

    node = Node(start="net_frame_reader", preexec_fn=low_limit)
    try:
        port = int(node.wait_for(r"FRAME_PORT (\d+)").group(1))
        held = []
        for _ in range(limit + 20):
            try:
                held.append(connect(port, timeout=5))
            except OSError:
                break
        node.wait_for(r"accept on listen socket \d+ failed \(.*\); accepting paused", timeout=30)
        time.sleep(3)  # out of descriptors for a while, with connections waiting: retries must back off
        assert node.alive(), "skynet died when out of descriptors"
        for s in held:
            s.close()
        m = node.wait_for(r"accept on listen socket \d+ resumed after (\d+) failed attempts", timeout=30)
        attempts = int(m.group(1))
        print("  %d failed accept attempts while out of descriptors" % attempts)
        # with back-off that is a handful of retries; a spinning loop would make millions
        assert 1 <= attempts < 100, "%d failed accept attempts" % attempts
        assert node.count(r"accepting paused") == 1, "the pause should be logged once"
        # and it serves again
        deadline = time.time() + 20
        while True:
            try:
                frame_echo(port)
                break
            except (AssertionError, OSError):
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
    finally:
        node.stop()
    reports = node.sanitizer_reports()
    assert not reports, "sanitizer: %s" % reports[0]


def main():
    cases = Cases()
    node = Node(start="net_robust_main", extra={"echo_host": "127.0.0.1", "echo_port": 0, "socket_threads": 2})
    cases.cleanup.append(node)
    ports = {}

    def started():
        ports["frame"] = int(node.wait_for(r"FRAME_PORT (\d+)").group(1))
        ports["gate"] = int(node.wait_for(r"GATE_PORT (\d+)").group(1))
        ports["echo"] = int(node.wait_for(r"Listening on port (\d+)\.\.\.").group(1))
        frame_echo(ports["frame"])
        gate_frame(ports["gate"])
        echo_line(ports["echo"])

    cases.case("robust: frame reader, gate and echo are up", started)
    if len(ports) == 3:
        cases.case("robust: a 4 GB length prefix is bounded by socket.limit", huge_prefix_reader, node, ports)
        cases.case("robust: ff ff ff ff to the gate allocates nothing and is dropped on close",
                   huge_prefix_gate, node, ports)
        cases.case("robust: half a frame then close", half_frame, node, ports)
        cases.case("robust: a flood past the limit is cut off", flood, node, ports)
        cases.case("robust: 2000 connect/close cycles, no fd or memory growth", cycles, node, ports)
    if SANITIZER:
        # a sanitizer runtime needs descriptors of its own (/proc/self/maps, the symbolizer) and fails
        # when the process has none left, so this case only runs on the normal build
        print("  (out-of-descriptors case not run under the %s sanitizer)" % SANITIZER)
    else:
        cases.case("robust: out of file descriptors, accept backs off and recovers", out_of_descriptors)
    cases.finish()


if __name__ == "__main__":
    main()
