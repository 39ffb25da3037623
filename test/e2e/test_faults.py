"""Faults of a whole node (issue 6): a 1 GiB Lua heap, SIGTERM in the middle of heavy traffic, SIGHUP
during heavy logging.

The workers (svc/sd_worker.lua) log numbered lines and write a marker to stderr after each one, so the
test knows exactly which lines were logged before the node stopped: each of those must be in the log
file(s), with no gap and no duplicate.
"""
import collections
import os
import re
import signal
import tempfile
import time

from nettest import Cases, Node

HEAVY = 2000  # lines in each log file of the SIGHUP case before it is rotated

LINE_RE = re.compile(rb"\] line (\d+) (\d+)$", re.M)
MARK_RE = re.compile(r"^M (\d+) (\d+)$")


def line_count(path):
    try:
        with open(path, "rb") as f:
            return f.read().count(b"\n")
    except FileNotFoundError:
        return 0


def wait_lines(path, n):
    """Waits until the file has n lines; the time limit is only there to fail a node whose logging stalled."""
    deadline = time.time() + 60
    while line_count(path) < n:
        assert time.time() < deadline, "%s: %d lines of %d, logging stalled" % (path, line_count(path), n)
        time.sleep(0.02)


def check_lines(paths, node, workers):
    """Every logged line (per the markers) is in the files exactly once, and each worker's are 1..N."""
    seen = collections.defaultdict(list)
    for p in paths:
        with open(p, "rb") as f:
            for w, s in LINE_RE.findall(f.read()):
                seen[int(w)].append(int(s))
    marked = collections.defaultdict(int)
    with node.cond:
        for l in node.lines:
            m = MARK_RE.match(l)
            if m:
                w, s = int(m.group(1)), int(m.group(2))
                marked[w] = max(marked[w], s)
    assert sorted(seen) == list(range(1, workers + 1)), "workers with lines: %d" % len(seen)
    for w, seqs in seen.items():
        seqs.sort()
        if seqs != list(range(1, len(seqs) + 1)):
            missing = sorted(set(range(1, seqs[-1] + 1)) - set(seqs))
            dup = len(seqs) - len(set(seqs))
            raise AssertionError("worker %d: %d lines missing (first %s), %d duplicated" %
                                 (w, len(missing), missing[:5], dup))
        assert len(seqs) >= marked[w], "worker %d logged %d lines, the file has %d" % (w, marked[w], len(seqs))
    return sum(len(s) for s in seen.values())


def main():
    cases = Cases()

    def memory_1gib():
        node = Node(start="fm_main", extra={"fm_mib": 1040})
        cases.cleanup.append(node)
        node.wait_for(r"memory: done", timeout=120)
        reached = int(node.wait_for(r"memory: hog reached (\d+) MiB").group(1))
        assert reached >= 1024, reached
        warnings = [float(x) for x in re.findall(r"Memory warning (\d+\.\d+) M", node.output(100000))]
        assert warnings and max(warnings) >= 1024, warnings
        m = node.wait_for(r"memory: (\d+) pings answered, (\d+) failed")
        assert int(m.group(1)) > 0 and int(m.group(2)) == 0, m.group(0)
        freed = int(node.wait_for(r"memory: freed, heap (\d+) KiB").group(1))
        assert freed < 64 * 1024, freed
        assert node.alive(), "the node died"
        node.proc.send_signal(signal.SIGTERM)
        assert node.proc.wait(timeout=5) == 0, node.proc.returncode

    def sigterm_under_traffic():
        d = tempfile.mkdtemp(prefix="skynet-e2e-")
        log = os.path.join(d, "node.log")
        node = Node(start="sd_main", thread=4, extra={"logger": log, "sd_workers": 100, "sd_burst": 20})
        cases.cleanup.append(node)
        node.wait_for(r"sd: running")
        wait_lines(log, 20000)
        node.proc.send_signal(signal.SIGTERM)
        rc = node.proc.wait(timeout=30)
        node.reader.join(timeout=10)
        assert rc == 0, rc
        # Every service ended when told to: the node did not give up on some after its 5 s of grace
        # (it would log "N service(s) did not stop in 5 s; exiting anyway", with exit code 0 all the same).
        with open(log, "rb") as f:
            text = f.read()
        assert b"signal received, stopping" in text, "no stop line in the log"
        assert b"did not stop" not in text, re.search(rb".*did not stop.*", text).group(0)
        total = check_lines([log], node, 100)
        assert total >= 20000, total

    def sighup_under_heavy_logging():
        d = tempfile.mkdtemp(prefix="skynet-e2e-")
        log = os.path.join(d, "node.log")
        node = Node(start="sd_main", thread=4, extra={"logger": log, "sd_workers": 10, "sd_burst": 50})
        cases.cleanup.append(node)
        node.wait_for(r"sd: running")

        # The case is only meaningful when the logging is heavy: each file gets HEAVY lines before it is
        # moved away (and the node told to reopen), so every reopen comes in the middle of the workers'
        # lines, however fast or slow the machine is.
        paths = []
        for i in range(6):
            wait_lines(log, HEAVY)
            rotated = "%s.%d" % (log, i)
            os.rename(log, rotated)
            paths.append(rotated)
            node.proc.send_signal(signal.SIGHUP)
        wait_lines(log, HEAVY)
        node.proc.send_signal(signal.SIGTERM)
        assert node.proc.wait(timeout=30) == 0, node.proc.returncode
        node.reader.join(timeout=10)
        paths.append(log)
        assert all(line_count(p) >= HEAVY for p in paths), [line_count(p) for p in paths]
        check_lines(paths, node, 10)

    cases.case("a service reaching 1 GiB of Lua heap (no memlimit): warnings logged, the node survives",
               memory_1gib)
    cases.case("SIGTERM while 100 services exchange messages and log: each service stops, exit 0, no line lost",
               sigterm_under_traffic)
    cases.case("SIGHUP six times during heavy logging: no line lost or doubled", sighup_under_heavy_logging)
    cases.finish()


if __name__ == "__main__":
    main()
