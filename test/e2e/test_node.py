"""The node as a user runs it: config errors, start-up, stop by abort and signals, the logger."""
import os
import re
import signal
import tempfile
import time

from e2e_lib import Node, base_config, case, finish, run, write_config, SKYNET, ROOT
import subprocess


@case("no argument prints usage and exits 1")
def _():
    p = subprocess.run([SKYNET], cwd=ROOT, capture_output=True, text=True, timeout=10)
    assert p.returncode == 1, p.returncode
    assert "Usage" in p.stderr, p.stderr


@case("a missing config file exits 1 naming the file")
def _():
    rc, out = run("/nonexistent/dir/config")
    assert rc == 1, (rc, out)
    assert "/nonexistent/dir/config" in out, out
    assert len(out.strip().splitlines()) == 1, out


@case("a syntax error exits 1 naming the file and line")
def _():
    path = write_config('thread = 2\nharbor = 0\nstart = = "x"\n')
    rc, out = run(path)
    assert rc == 1, (rc, out)
    assert path in out or "config" in out, out
    assert ":3:" in out, out


@case("an unset $VAR exits 1 naming the variable")
def _():
    path = write_config('thread = 2\nstart = "$SKYNET_E2E_SURELY_UNSET"\n')
    env = dict(os.environ)
    env.pop("SKYNET_E2E_SURELY_UNSET", None)
    p = subprocess.run([SKYNET, path], cwd=ROOT, capture_output=True, text=True, timeout=10, env=env)
    assert p.returncode == 1, p.returncode
    assert "SKYNET_E2E_SURELY_UNSET" in p.stderr, p.stderr


@case("a table value in the config exits 1 naming the key")
def _():
    path = write_config('thread = 2\nbadkey = { 1, 2 }\n')
    rc, out = run(path)
    assert rc == 1, (rc, out)
    assert "badkey" in out, out


@case("include and $VAR make a working config")
def _():
    d = tempfile.mkdtemp(prefix="skynet-e2e-")
    os.makedirs(os.path.join(d, "sub"))
    with open(os.path.join(d, "sub", "common"), "w") as f:
        f.write(base_config("$E2E_START"))
    path = write_config('include "sub/common"\n', d)
    rc, out = run(path, env={"E2E_START": "e2e_abort"})
    assert rc == 0, (rc, out)
    assert "about to abort" in out, out


@case("skynet.abort() exits 0 with every logged line written")
def _():
    path = write_config(base_config("e2e_flood_abort", 'log_lines = "20000"'))
    rc, out = run(path, timeout=60)
    assert rc == 0, (rc, out[-500:])
    lines = set(re.findall(r"flood (\d+)", out))
    assert len(lines) == 20000, len(lines)


@case("an unknown start service exits 1 with an error naming it")
def _():
    path = write_config(base_config("no_such_start_service"))
    rc, out = run(path, timeout=30)
    assert rc == 1, (rc, out)
    assert "no_such_start_service" in out, out


@case("SIGTERM and SIGINT stop the node with exit code 0")
def _():
    for sig in (signal.SIGTERM, signal.SIGINT):
        node = Node(write_config(base_config("e2e_idle")))
        try:
            node.wait_for("idle service up")
            node.signal(sig)
            assert node.wait(timeout=5) == 0
        finally:
            node.stop()


@case("SIGTERM stops a node whose service loops forever: it gives up on it after 5 s, exit 0")
def _():
    node = Node(write_config(base_config("e2e_stuck")))
    try:
        node.wait_for("stuck service up")
        t0 = time.monotonic()
        node.signal(signal.SIGTERM)
        # the time limit only keeps a node that never exits from hanging the test
        assert node.wait(timeout=30) == 0
        # it waited its 5 s of grace (counted from the signal), then said so and left
        assert time.monotonic() - t0 >= 5, time.monotonic() - t0
        assert "did not stop in 5 s" in node.output(), node.output()[-500:]
    finally:
        node.stop()


@case("thread = \"auto\" runs a node")
def _():
    path = write_config(base_config("e2e_abort").replace("thread = 2", 'thread = "auto"'))
    rc, out = run(path)
    assert rc == 0, (rc, out)
    assert "about to abort" in out, out


@case("integer keys written as Lua floats or padded strings run a node and read back as plain integers")
def _():
    path = write_config(base_config("e2e_env").replace("thread = 2", "thread = 16 / 4")
                        .replace("harbor = 0", 'harbor = " 0 "') + "socket_threads = 2.0\n")
    rc, out = run(path)
    assert rc == 0, (rc, out)
    for line in ("ENV thread=4", "ENV harbor=0", "ENV socket_threads=2"):
        assert re.search(r"\] %s$" % line, out, re.M), (line, out)


@case("a bad thread count stops the start with exit 1 and one line naming key and value")
def _():
    for value in ('"many"', "0.5", "-1", "100000"):
        path = write_config(base_config("e2e_abort").replace("thread = 2", "thread = " + value))
        rc, out = run(path)
        assert rc == 1, (value, rc, out)
        shown = value.strip('"')
        assert out == ('%s: thread must be an integer from 1 to 1024, or 0 or "auto" (one per core), '
                       'got "%s"\n' % (path, shown)), (value, out)


@case("logger file: timestamped lines, SIGHUP reopens it and no line is lost")
def _():
    d = tempfile.mkdtemp(prefix="skynet-e2e-")
    logfile = os.path.join(d, "node.log")
    path = write_config(base_config("e2e_ticker", 'ticks = "150"\nlogger = "%s"' % logfile), d)
    node = Node(path)
    try:
        deadline = time.time() + 10
        while time.time() < deadline and not (os.path.exists(logfile) and "tick 30\n" in open(logfile).read()):
            time.sleep(0.02)
        os.rename(logfile, logfile + ".1")
        node.signal(signal.SIGHUP)
        deadline = time.time() + 20
        while time.time() < deadline and not (os.path.exists(logfile) and "ticker done" in open(logfile).read()):
            time.sleep(0.05)
        node.signal(signal.SIGTERM)
        assert node.wait(timeout=5) == 0
    finally:
        node.stop()
    old, new = open(logfile + ".1").read(), open(logfile).read()
    assert re.search(r"^\d\d/\d\d/\d\d \d\d:\d\d:\d\d\.\d\d \[:[0-9a-f]{8}\] tick 1$", old, re.M), old[:300]
    ticks = [int(x) for x in re.findall(r"tick (\d+)", old + new)]
    assert sorted(ticks) == list(range(1, 151)), "missing: %s" % (set(range(1, 151)) - set(ticks))
    assert re.search(r"tick \d+", new), "nothing written after the reopen"


@case("a user's own C module loads from lua_cpath")
def _():
    d = tempfile.mkdtemp(prefix="skynet-e2e-")
    so = os.path.join(d, "e2e_usermod.so")
    subprocess.run(["cc", "-shared", "-fPIC", "-I/usr/include/lua5.4", "-o", so,
                    os.path.join(ROOT, "test", "e2e", "c", "e2e_usermod.c")], check=True, timeout=60)
    path = write_config(base_config("e2e_cmodule", 'lua_cpath = "%s/?.so"' % d), d)
    rc, out = run(path)
    assert rc == 0, (rc, out)
    assert "usermod twice(21) = 42" in out, out


@case("a Lua heap past 32 MB and 64 MB logs memory warnings; no limit, no crash")
def _():
    rc, out = run(write_config(base_config("e2e_bigmem")), timeout=60)
    assert rc == 0, (rc, out[-500:])
    warnings = re.findall(r"Memory warning (\d+\.\d+) M", out)
    assert len(warnings) >= 2, out[-1000:]
    assert float(warnings[0]) >= 32 and float(warnings[1]) >= 64, warnings
    assert "holding 81920 strings" in out, out[-500:]


@case("logservice = snlua runs a Lua log service")
def _():
    path = write_config(base_config("e2e_abort", 'logservice = "snlua"\nlogger = "e2e_userlog"'))
    rc, out = run(path)
    assert rc == 0, (rc, out)
    assert re.search(r"USERLOG \[:[0-9a-f]{8}\] about to abort", out), out


@case("a preload file runs before skynet is loaded, in every service")
def _():
    d = tempfile.mkdtemp(prefix="skynet-e2e-")
    preload = os.path.join(d, "e2e_preload_file.lua")
    with open(preload, "w") as f:
        f.write("PRELOAD_SAW_SKYNET = package.loaded.skynet ~= nil\n")
    rc, out = run(write_config(base_config("e2e_prepared", 'preload = "%s"' % preload), d))
    assert rc == 0, (rc, out[-500:])
    assert "preload saw skynet: " + " ".join(["false"] * 24) + " / start false" in out, out[-1000:]


@case("a skynet.lua of the user's first on lua_path may use the service as it loads")
def _():
    d = tempfile.mkdtemp(prefix="skynet-e2e-")
    with open(os.path.join(d, "skynet.lua"), "w") as f:
        f.write('local rest = package.path:gsub("^[^;]*;", "")\n'
                'local real = assert(package.searchpath("skynet", rest))\n'
                'local skynet = assert(loadfile(real))("skynet", real)\n'
                'skynet.self_at_load = skynet.self()\n'
                'return skynet\n')
    lua_path = 'lua_path = "%s/?.lua;" .. root .. "lualib/?.lua;" .. root .. "lualib/?/init.lua"' % d
    rc, out = run(write_config(base_config("e2e_prepared", lua_path), d))
    assert rc == 0, (rc, out[-500:])
    assert "own address at load: " + " ".join(["true"] * 24) in out, out[-1000:]


finish()
