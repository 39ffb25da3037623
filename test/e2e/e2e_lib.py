"""Shared helpers of the end-to-end tests: run ./skynet with a config, report CASE lines."""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SKYNET = os.path.abspath(os.path.join(ROOT, os.environ.get("SKYNET_BIN", "./skynet")))

_failed = 0


def case(name):
    """Decorator: runs the function now as one test case and prints CASE PASS/FAIL."""
    def run(f):
        global _failed
        try:
            f()
            print("CASE PASS " + name, flush=True)
        except Exception as e:  # noqa: BLE001 - any failure of the case is reported, the next case still runs
            _failed += 1
            detail = "".join(traceback.format_exception_only(type(e), e)).strip().replace("\n", " | ")
            print("CASE FAIL %s: %s" % (name, detail), flush=True)
        return f
    return run


def finish():
    sys.exit(1 if _failed else 0)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(text, directory=None):
    """Writes a config file (paths in it are relative to the repo root, where ./skynet runs)."""
    d = directory or tempfile.mkdtemp(prefix="skynet-e2e-")
    path = os.path.join(d, "config")
    with open(path, "w") as f:
        f.write(text)
    return path


def base_config(start, extra=""):
    return """
root = "./"
thread = 2
harbor = 0
start = "%s"
bootstrap = "snlua bootstrap"
luaservice = root .. "service/?.lua;" .. root .. "test/e2e/svc/?.lua"
lualoader = root .. "lualib/loader.lua"
lua_path = root .. "lualib/?.lua;" .. root .. "lualib/?/init.lua"
%s
""" % (start, extra)


def run(config_path, timeout=30, env=None):
    """Runs the node to completion; returns (exit code, stdout+stderr)."""
    p = subprocess.run([SKYNET, config_path], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                       env=dict(os.environ, **(env or {})), errors="replace")
    return p.returncode, p.stdout + p.stderr


class Node:
    """A node running in the background; output collected in a file; always stopped by stop()."""

    def __init__(self, config_path, env=None):
        self.log = tempfile.NamedTemporaryFile(prefix="skynet-e2e-out-", delete=False)
        self.proc = subprocess.Popen([SKYNET, config_path], cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.PIPE, env=dict(os.environ, **(env or {})))

    def output(self):
        with open(self.log.name, "r", errors="replace") as f:
            return f.read()

    def wait_for(self, text, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if text in self.output():
                return True
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise AssertionError("did not see %r in the output:\n%s" % (text, self.output()[-2000:]))

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout=10):
        return self.proc.wait(timeout=timeout)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode
