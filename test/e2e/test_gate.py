"""End-to-end test of service/gate (snax.gateserver + skynet.netpack): framing, forwarding to an agent,
kick, maxclient, and frames split or packed arbitrarily by TCP."""
import socket
import struct
import threading

from nettest import Cases, Node, connect, recv_exact

MAXCLIENT = 20


def frame(payload):
    return struct.pack(">H", len(payload)) + payload


def read_frame(s):
    n = struct.unpack(">H", recv_exact(s, 2))[0]
    return recv_exact(s, n)


def closed_by_peer(s):
    try:
        return s.recv(1) == b""
    except (ConnectionResetError, socket.timeout):
        return True


def framing(port):
    s = connect(port)
    s.sendall(frame(b"echo:one"))
    assert read_frame(s) == b"echo:one"
    # several frames in one write
    s.sendall(frame(b"echo:a") + frame(b"echo:b") + frame(b"echo:c"))
    assert [read_frame(s) for _ in range(3)] == [b"echo:a", b"echo:b", b"echo:c"]
    # a frame split byte by byte across writes (the header too)
    for b in frame(b"echo:split"):
        s.sendall(bytes([b]))
    assert read_frame(s) == b"echo:split"
    # the largest frame the framing allows, in both directions
    s.sendall(frame(b"big"))
    assert read_frame(s) == b"B" * 65535
    big = b"echo:" + b"x" * (65535 - 5)
    s.sendall(frame(big))
    assert read_frame(s) == big
    s.close()


def forward_to_agent(port):
    s = connect(port)
    s.sendall(frame(b"agent"))
    assert read_frame(s) == b"forwarded"
    s.sendall(frame(b"hello") + frame(b"again"))
    first = read_frame(s).decode()
    second = read_frame(s).decode()
    assert first.startswith("agent:hello:"), first
    assert second.startswith("agent:again:"), second
    fd = int(first.rsplit(":", 1)[1])
    assert fd > 0, "the agent sees the connection id as the session"
    s.close()


def kick(port, node):
    s = connect(port)
    s.sendall(frame(b"echo:before"))
    assert read_frame(s) == b"echo:before"
    s.sendall(frame(b"kick"))
    assert closed_by_peer(s), "kicked connection still open"
    s.close()


def watchdog_notified(node):
    node.wait_for(r"WATCHDOG open \d+ 127\.0\.0\.1:\d+")
    node.wait_for(r"WATCHDOG close \d+")


def maxclient(port):
    extra = 5
    socks = [connect(port) for _ in range(MAXCLIENT + extra)]
    served, refused = 0, 0
    for i, s in enumerate(socks):
        try:
            s.sendall(frame(b"echo:%d" % i))
            if read_frame(s) == b"echo:%d" % i:
                served += 1
        except (AssertionError, ConnectionResetError, BrokenPipeError):
            refused += 1
    for s in socks:
        s.close()
    assert served <= MAXCLIENT, "served %d > maxclient %d" % (served, MAXCLIENT)
    assert refused >= extra, "refused only %d" % refused


def concurrent(port):
    errors = []

    def run(i):
        try:
            s = connect(port)
            payloads = [b"echo:%d-%d" % (i, j) for j in range(200)]
            s.sendall(b"".join(frame(p) for p in payloads))
            for p in payloads:
                got = read_frame(s)
                if got != p:
                    errors.append("client %d: %r != %r" % (i, got, p))
                    break
            s.close()
        except Exception as e:  # noqa: BLE001
            errors.append("client %d: %s" % (i, e))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors[:3]


def main():
    cases = Cases()
    # several network threads: accepted connections land on other threads than the listener
    node = Node(start="net_gate_watchdog", extra={"gate_maxclient": MAXCLIENT, "socket_threads": 3})
    cases.cleanup.append(node)
    port = None

    def started():
        nonlocal port
        port = int(node.wait_for(r"GATE_PORT (\d+)").group(1))
        assert port > 0

    cases.case("gate: open returns the bound port", started)
    if port:
        cases.case("gate: netpack framing, packed and split frames, 64 KiB frames", framing, port)
        cases.case("gate: forward sends packets to the agent as PTYPE_CLIENT", forward_to_agent, port)
        cases.case("gate: kick closes the connection and the watchdog hears it", kick, port, node)
        cases.case("gate: the watchdog hears of opens and closes", watchdog_notified, node)
        cases.case("gate: 10 concurrent clients x 200 frames", concurrent, port)
        cases.case("gate: connections beyond maxclient are refused", maxclient, port)
    cases.finish()


if __name__ == "__main__":
    main()
