"""Overload (issue 6): one service receives 5 million messages faster than it handles them.

Overload warnings appear, the debug console answers `list` and `stat` while the flood runs, and every
message is delivered, in order per producer. `stat` is given its own timeout of 0.5 s (the console's
`stat <centiseconds>`): the flooded service cannot answer a STAT queued behind millions of messages, and
the console shows it as TIMEOUT instead of waiting for it. That TIMEOUT is also what shows that the
console answered during the flood, not after it: no time limit on the answers, which a loaded machine
could exceed.
"""
import re
import time

from nettest import SANITIZER, Cases, LineReader, Node, connect

# Under a sanitizer fewer, but enough to back up for a few seconds (~3 s under AddressSanitizer here).
MESSAGES = 5000000 if SANITIZER is None else 2000000


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
            if l in ("<CMD OK>", "<CMD Error>"):
                return l == "<CMD OK>", out
            out.append(l)


def main():
    cases = Cases()
    node = Node(start="ov_main", thread=4, extra={"ov_messages": MESSAGES, "ov_producers": 2})
    cases.cleanup.append(node)
    state = {}

    def console_answers_during_flood():
        port = int(node.wait_for(r"Start debug console at 127\.0\.0\.1:(\d+)").group(1))
        consumer = node.wait_for(r"overload: consumer (:[0-9a-f]{8})").group(1)
        node.wait_for(r"overload: flood started")
        console = Console(port)
        cases.cleanup.append(console.s)
        assert node.count(r"overload: delivered") == 0, "the flood was over before the console was asked"
        # The answers count only if they came while the flood was still queued at the consumer: a STAT the
        # consumer could not answer in time shows it (and the commands before it came earlier). A console
        # that could answer only once the flood was over would never see one. The rounds stop at the first
        # such answer, so that a fast machine, which drains the flood sooner, still asks while it lasts.
        backlogged = 0
        for _ in range(5):
            ok, out = console.run("list")
            assert ok, ("list", out[:5])
            assert any(l.startswith(consumer + "\t") for l in out), out
            ok, out = console.run("stat 50")
            assert ok, ("stat", out[:5])
            row = [l for l in out if l.startswith(consumer + "\t")]
            assert len(row) == 1, out
            if row[0] == consumer + "\tTIMEOUT":
                backlogged += 1
                break
            time.sleep(0.3)
        assert backlogged >= 1, "the consumer answered every STAT at once: the flood never backed up"

    def every_message_delivered():
        m = node.wait_for(r"overload: delivered (\d+) of (\d+), (\d+) out of order", timeout=150)
        assert int(m.group(1)) == MESSAGES and int(m.group(2)) == MESSAGES, m.group(0)
        assert int(m.group(3)) == 0, m.group(0)

    def overload_warnings():
        lengths = [int(x) for x in re.findall(r"May overload, message queue length = (\d+)", node.output(100000))]
        assert lengths, "no overload warning"
        assert max(lengths) > 100000, lengths
        state["lengths"] = lengths

    cases.case("the debug console answers list and stat during the flood",
               console_answers_during_flood)
    cases.case("every one of the flood's messages is delivered, in order", every_message_delivered)
    cases.case("the flood is reported as 'May overload, message queue length = N'", overload_warnings)
    cases.finish()


if __name__ == "__main__":
    main()
