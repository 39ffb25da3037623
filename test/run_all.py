#!/usr/bin/env python3
"""Runs every test of the project and ends with one line "N passed, N failed".

Kinds of test, each case counted:
  * doctest unit tests ($UNIT_BIN), counted from doctest's own summary;
  * Lua integration tests: each test/lua/<name>.lua is a start service run by ./skynet test/lua/config; it
    prints "CASE PASS <case>" / "CASE FAIL <case>: why" and "TESTS DONE" (a file that never says DONE,
    hangs past its time limit or crashes counts as one more failure);
  * end-to-end tests: each test/e2e/test_*.py is run with python3 and prints the same CASE lines.
Environment: SKYNET_BIN (default ./skynet), UNIT_BIN, TEST_FILTER (substring of file names to run; several
separated by commas run every file that contains any of them; "unit" selects the unit tests),
TEST_JOBS (parallel files, default 3), TEST_KINDS (comma-separated kinds to run among unit, lua, e2e;
default all of them).
"""
import concurrent.futures
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SKYNET = os.environ.get("SKYNET_BIN", "./skynet")
UNIT = os.environ.get("UNIT_BIN")
FILTERS = [f for f in os.environ.get("TEST_FILTER", "").split(",") if f]


def selected(name):
    """Whether a file (or "unit") is among those TEST_FILTER selects; everything without a filter."""
    return not FILTERS or any(f in name for f in FILTERS)


JOBS = int(os.environ.get("TEST_JOBS", "3"))
FILE_TIMEOUT = int(os.environ.get("TEST_FILE_TIMEOUT", "180"))
KINDS = set(k.strip() for k in os.environ.get("TEST_KINDS", "unit,lua,e2e").split(",") if k.strip())

CASE_RE = re.compile(r"^CASE (PASS|FAIL) (.*)$")


def run_unit():
    if not UNIT or "unit" not in KINDS or not selected("unit"):
        return 0, 0, []
    p = subprocess.run([UNIT], cwd=ROOT, capture_output=True, text=True, timeout=600)
    out = p.stdout + p.stderr
    m = re.search(r"test cases:\s*(\d+)\s*\|\s*(\d+) passed\s*\|\s*(\d+) failed", out)
    if not m:
        return 0, 1, ["unit tests: no doctest summary (exit %d)\n%s" % (p.returncode, out[-3000:])]
    passed, failed = int(m.group(2)), int(m.group(3))
    notes = []
    if failed or p.returncode != 0:
        notes.append("unit tests:\n" + out[-6000:])
        if failed == 0:
            failed = 1
    return passed, failed, notes


def parse_cases(label, output, returncode, timed_out, needs_done):
    passed, failed, notes = 0, 0, []
    done = False
    for line in output.splitlines():
        m = CASE_RE.match(line)
        if m:
            if m.group(1) == "PASS":
                passed += 1
            else:
                failed += 1
                notes.append("%s: FAIL %s" % (label, m.group(2)))
        elif line.startswith("TESTS DONE"):
            done = True
    # A sanitizer build (make test SAN=...) reports and may carry on: any report is a failure of the file.
    reports = [line for line in output.splitlines() if line.startswith("SUMMARY: ") and "Sanitizer" in line]
    if reports:
        failed += 1
        notes.append("%s: %d sanitizer report(s), first: %s" % (label, len(reports), reports[0]))
    if timed_out:
        failed += 1
        notes.append("%s: timed out after %d s" % (label, FILE_TIMEOUT))
    elif needs_done and not done:
        failed += 1
        notes.append("%s: ended without TESTS DONE (exit %s)" % (label, returncode))
    elif not needs_done and returncode != 0:
        failed += 1
        notes.append("%s: exit code %s" % (label, returncode))
    if failed:
        notes.append("---- output of %s (last lines) ----\n%s" % (label, "\n".join(output.splitlines()[-60:])))
    return passed, failed, notes


def run_process(label, cmd, env, needs_done):
    t0 = time.time()
    try:
        p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=FILE_TIMEOUT,
                           errors="replace")
        out, rc, to = p.stdout + p.stderr, p.returncode, False
    except subprocess.TimeoutExpired as e:
        out = ((e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")) + \
              ((e.stderr or b"").decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or ""))
        rc, to = None, True
    r = parse_cases(label, out, rc, to, needs_done)
    print("%-40s %3d passed, %d failed  (%.1f s)" % (label, r[0], r[1], time.time() - t0), flush=True)
    return r


def lua_jobs():
    if "lua" not in KINDS:
        return
    d = os.path.join(ROOT, "test", "lua")
    for f in sorted(os.listdir(d)):
        if f.endswith(".lua") and selected(f):
            name = f[:-4]
            env = dict(os.environ, TEST_START=name)
            yield ("lua/" + name, [SKYNET, "test/lua/config"], env, True)


def e2e_jobs():
    d = os.path.join(ROOT, "test", "e2e")
    if "e2e" not in KINDS or not os.path.isdir(d):
        return
    for f in sorted(os.listdir(d)):
        if f.startswith("test_") and f.endswith(".py") and selected(f):
            env = dict(os.environ, SKYNET_BIN=SKYNET)
            yield ("e2e/" + f[:-3], [sys.executable, os.path.join("test", "e2e", f)], env, False)


def main():
    total_pass, total_fail, notes = 0, 0, []
    p, f, n = run_unit()
    if UNIT and "unit" in KINDS and selected("unit"):
        print("%-40s %3d passed, %d failed" % ("unit (doctest)", p, f), flush=True)
    total_pass, total_fail, notes = p, f, n
    jobs = list(lua_jobs()) + list(e2e_jobs())
    with concurrent.futures.ThreadPoolExecutor(max_workers=JOBS) as pool:
        for p, f, n in pool.map(lambda j: run_process(*j), jobs):
            total_pass += p
            total_fail += f
            notes.extend(n)
    if notes:
        print("\n==== failures ====")
        for n in notes:
            print(n)
    print("%d passed, %d failed" % (total_pass, total_fail))
    return 1 if total_fail or total_pass == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
