"""socket.stdin(): a service reads the node's standard input line by line through the socket layer
(driver.bind of fd 0)."""
import subprocess

from nettest import Cases, Node


def main():
    cases = Cases()
    node = Node(start="net_stdin_reader", stdin=subprocess.PIPE)
    cases.cleanup.append(node)

    def read_lines():
        node.proc.stdin.write(b"first line\nsecond line\n")
        node.proc.stdin.flush()
        node.wait_for(r"^STDIN first line$")
        node.wait_for(r"^STDIN second line$")

    def close():
        node.proc.stdin.write(b"last")
        node.proc.stdin.close()
        node.wait_for(r"^STDIN CLOSED$")
        assert node.alive(), "the node must keep running after stdin closed"

    cases.case("stdin: lines written to the process arrive", read_lines)
    cases.case("stdin: end of input closes the socket, the node runs on", close)
    cases.finish()


if __name__ == "__main__":
    main()
