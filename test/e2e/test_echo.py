"""End-to-end test of examples/echo: the TCP echo server driven by real clients.

The example runs with its own config, changed only to listen on a free port of 127.0.0.1 (port 0, read
back from its "Listening on port N..." line).
"""
import os
import re
import socket
import threading

from nettest import ROOT, Cases, LineReader, Node, connect, recv_until_closed

CLIENTS = 100
LINES = 1000


def echo_config():
    with open(os.path.join(ROOT, "examples", "echo", "config")) as f:
        text = f.read()
    text = re.sub(r"(?m)^echo_port\s*=.*$", "echo_port = 0", text)
    text = re.sub(r"(?m)^echo_host\s*=.*$", 'echo_host = "127.0.0.1"', text)
    return text


def one_client(port, node):
    s = connect(port)
    local_port = s.getsockname()[1]
    reader = LineReader(s)
    s.sendall(b"hello\n?\n123\n")
    got = [reader.readline() for _ in range(3)]
    assert got == ["hello", "?", "123"], got
    # a last line without newline, then a half-close (what `nc -N` does): it still comes back
    s.sendall(b"tail")
    s.shutdown(socket.SHUT_WR)
    rest = reader.buf + recv_until_closed(s)
    assert rest == b"tail", rest
    s.close()
    node.wait_for(r"Got connection from a client: 127\.0\.0\.1:%d" % local_port)
    node.wait_for(r"Got packet hello$")
    node.wait_for(r"Got packet 123$")
    node.wait_for(r"Error receiving a packet: closed")


def listen_counters():
    """The kernel's ListenOverflows and ListenDrops (/proc/net/netstat): connections a full accept queue lost."""
    try:
        with open("/proc/net/netstat") as f:
            rows = [line.split() for line in f if line.startswith("TcpExt:")]
        names, values = rows[0], rows[1]
        return {n: int(v) for n, v in zip(names[1:], values[1:]) if n in ("ListenOverflows", "ListenDrops")}
    except (OSError, IndexError, ValueError):
        return {}


def many_clients(port, node):
    errors = []
    before = listen_counters()

    def run(i):
        phase = "connect"
        try:
            s = connect(port, timeout=120)
            phase = "read"
            lines = [("client %d line %d" % (i, j)).encode() for j in range(LINES)]

            def send():
                try:
                    for k in range(0, LINES, 50):
                        s.sendall(b"".join(l + b"\n" for l in lines[k:k + 50]))
                except OSError as e:
                    errors.append("client %d send: %s" % (i, e))

            sender = threading.Thread(target=send)
            sender.start()
            reader = LineReader(s)
            for j in range(LINES):
                line = reader.readline()
                if line != lines[j].decode():
                    errors.append("client %d line %d: got %r" % (i, j, line))
                    break
            sender.join()
            s.close()
        except Exception as e:  # noqa: BLE001 - collected and reported by the case
            errors.append("client %d (%s): %s: %s" % (i, phase, type(e).__name__, e))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "clients still running after 300 s"
    if errors:
        # what the node said besides the packets, and whether the kernel dropped connects: enough to tell a
        # full accept queue from a session that failed to start
        raise AssertionError("%d errors, first: %s\nlisten counters before %s, after %s\nnode, besides packets:\n%s" % (
            len(errors), errors[:3], before, listen_counters(),
            "\n".join(node.unusual([r"Got packet ", r"Got connection from a client", r"Error receiving a packet: closed",
                          r"LAUNCH snlua echo_session ", r"\] KILL self$"]))))


def main():
    cases = Cases()
    node = Node(config_text=echo_config())
    cases.cleanup.append(node)
    port = None

    def started():
        nonlocal port
        port = int(node.wait_for(r"Listening on port (\d+)\.\.\.").group(1))
        assert port > 0

    cases.case("echo: the example starts and reports its port", started)
    if port:
        cases.case("echo: one client gets its lines back, the server logs connect, packets and close",
                   one_client, port, node)
        cases.case("echo: %d concurrent clients x %d lines each, every line back in order" % (CLIENTS, LINES),
                   many_clients, port, node)
        cases.case("echo: the node is still up", lambda: node.alive() or (_ for _ in ()).throw(
            AssertionError("skynet exited")))
    cases.finish()


if __name__ == "__main__":
    main()
