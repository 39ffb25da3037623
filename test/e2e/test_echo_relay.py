"""End-to-end test of examples/echo-relay: the node runs with the example's own config and is driven
through its standard input, as a user at the terminal would.

The CLI writes its prompt ("> ") before each read and log lines share stdout, so every line is
taken apart after the prompts are stripped:
    "  TEXT"                       an answer
    "  from worker: :0000000b"     the worker that gave it
    "  timeout"                    no answer within 2 s
"""
import os
import re
import subprocess
import time

from nettest import ROOT, Cases, Node

LINES = ["hello world", "Hello, Skynet 123", "mixed CaSe", "a", "  spaces around  ", "last line"]
ANSWER_TIMEOUT = 30     # seconds; generous, a sanitizer build is slow


def config_text(start=None):
    with open(os.path.join(ROOT, "examples", "echo-relay", "config")) as f:
        text = f.read()
    if start:
        text = re.sub(r'(?m)^start\s*=.*$', 'start = "%s"' % start, text)
    return text


def clean(line):
    return re.sub(r"^(> )+", "", line)


class Session:
    """A node of the example with a pipe to its standard input."""

    def __init__(self, cases, start=None):
        self.node = Node(config_text=config_text(start), stdin=subprocess.PIPE)
        cases.cleanup.append(self.node)

    def send(self, *lines):
        self.node.proc.stdin.write(("".join(l + "\n" for l in lines)).encode())
        self.node.proc.stdin.flush()

    def close_input(self):
        self.node.proc.stdin.close()

    def lines(self):
        with self.node.cond:
            return [clean(l) for l in self.node.lines]

    def wait(self, cond, what, timeout=ANSWER_TIMEOUT):
        deadline = time.time() + timeout
        while time.time() < deadline:
            got = cond(self.lines())
            if got:
                return got
            if not self.node.alive():
                got = cond(self.lines())
                if got:
                    return got
                raise AssertionError("the node ended (%s) before %s" % (self.node.proc.returncode, what))
            time.sleep(0.05)
        raise AssertionError("timed out waiting for %s; last output:\n%s" % (what, self.node.output(30)))

    def answers(self):
        """[(text, worker) or ("timeout", None)] in the order printed."""
        result = []
        pending = None
        for line in self.lines():
            m = re.match(r"^  from worker: (:[0-9a-f]{8})$", line)
            if m and pending is not None:
                result.append((pending, m.group(1)))
                pending = None
                continue
            if line == "  timeout":
                result.append(("timeout", None))
                pending = None
            elif line.startswith("  ") and not line.startswith("  relay ") and not line.startswith("  messages:"):
                pending = line[2:]
        return result

    def wait_answers(self, n):
        return self.wait(lambda _: (lambda a: a if len(a) >= n else None)(self.answers()), "%d answers" % n)


def main():
    cases = Cases()
    s = Session(cases)
    seen = {}

    def upper_cased():
        s.node.wait_for(r"relay started as relay", timeout=ANSWER_TIMEOUT)
        s.send(*LINES)
        got = s.wait_answers(len(LINES))
        assert len(got) == len(LINES), got
        for line, (text, worker) in zip(LINES, got):
            assert text == line.upper(), "sent %r, got %r" % (line, text)
            assert worker is not None, "no worker address for %r" % line
        workers = [w for _, w in got]
        assert len(set(workers)) == len(workers), "a worker answered twice: %s" % workers
        seen["workers"] = workers

    def exit_lines():
        workers = seen.get("workers")
        assert workers, "no answers to check"
        for w in workers:
            s.node.wait_for(r"worker exited from=%s reason=exit result=0$" % re.escape(w), timeout=ANSWER_TIMEOUT)

    def stats_line():
        # the relay logs its counters every 5 s: the first line, or a later one on a slow machine,
        # counts every line sent
        s.node.wait_for(r"\] stats messages=\d+ workers_spawned=\d+ workers_exited=\d+ active=\d+$", timeout=20)
        s.node.wait_for(r"\] stats messages=%d workers_spawned=%d workers_exited=\d+ active=\d+$" % (
            len(LINES), len(LINES)), timeout=20)

    def stats_command():
        s.send("/stats")
        got = s.wait(lambda ls: [l for l in ls if l.startswith("  messages: ")], "the /stats answer")
        assert got[-1] == "  messages: %d, workers spawned: %d, workers exited: %d" % (
            len(LINES), len(LINES), len(LINES)), got[-1]

    def end_of_input():
        s.close_input()
        s.node.wait_for(r"final stats messages=%d workers_spawned=%d workers_exited=%d active=0" % (
            len(LINES), len(LINES), len(LINES)), timeout=ANSWER_TIMEOUT)
        s.node.wait_for(r"Goodbye! \(%d messages, %d workers\)" % (len(LINES), len(LINES)), timeout=ANSWER_TIMEOUT)
        rc = s.node.proc.wait(timeout=ANSWER_TIMEOUT)
        assert rc == 0, "exit code %s" % rc

    cases.case("echo relay: every line comes back upper-cased from a different worker", upper_cased)
    cases.case("echo relay: the relay logs each worker's exit with its result", exit_lines)
    cases.case("echo relay: the stats coroutine logs the counters", stats_line)
    cases.case("echo relay: /stats shows the counters", stats_command)
    cases.case("echo relay: end of input ends the node cleanly", end_of_input)

    k = Session(cases)

    def killed_relay():
        k.node.wait_for(r"relay started as relay", timeout=ANSWER_TIMEOUT)
        k.send("before")
        got = k.wait_answers(1)
        assert got[0][0] == "BEFORE", got
        k.send("/kill")
        k.node.wait_for(r"^(> )*  relay :[0-9a-f]{8} killed$", timeout=ANSWER_TIMEOUT)
        t0 = time.time()
        k.send("after one", "after two")
        got = k.wait_answers(3)
        took = time.time() - t0
        assert got[1:] == [("timeout", None), ("timeout", None)], got
        assert took >= 3.5, "two timeouts of 2 s came after %.1f s" % took

    def killed_relay_ends():
        k.close_input()
        k.node.wait_for(r"Goodbye! \(the relay did not answer\)", timeout=ANSWER_TIMEOUT)
        rc = k.node.proc.wait(timeout=ANSWER_TIMEOUT)
        assert rc == 0, "exit code %s" % rc

    cases.case("echo relay: after /kill every line gives timeout, not a hang", killed_relay)
    cases.case("echo relay: end of input still ends the node after the relay was killed", killed_relay_ends)

    n = Session(cases, start="echo_cli")

    def no_relay():
        n.send("nobody", "home")
        got = n.wait_answers(2)
        assert got == [("timeout", None), ("timeout", None)], got
        n.close_input()
        rc = n.node.proc.wait(timeout=ANSWER_TIMEOUT)
        assert rc == 0, "exit code %s" % rc

    cases.case("echo relay: a node without a relay prints timeout and ends at end of input", no_relay)
    cases.finish()


if __name__ == "__main__":
    main()
