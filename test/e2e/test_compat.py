"""What skynet users see and compare against (docs/compatibility.md): handle numbers and the log lines
of launches, overload and endless loops."""
import re

from e2e_lib import Node, base_config, case, finish, run, write_config


@case("every launch is logged as skynet does: LAUNCH <module> <args>, boot services first")
def _():
    path = write_config(base_config("e2e_compat_launch"))
    rc, out = run(path, timeout=30)
    assert rc == 0, (rc, out)
    launches = re.findall(r"^\[:([0-9a-f]{8})\] LAUNCH (.*)$", out, re.M)
    assert launches == [
        ("00000002", "snlua bootstrap"),
        ("00000003", "snlua launcher"),
        ("00000004", "snlua cdummy"),
        ("00000005", "harbor 0 4"),
        ("00000006", "snlua datacenterd"),
        ("00000007", "snlua service_mgr"),
        ("00000008", "snlua e2e_compat_launch"),
        ("00000009", "snlua e2e_compat_launch child two words"),
    ], launches
    assert "LAUNCH logger" not in out, out


@case("handles are numbered as on skynet while the handle table doubles (testmulticast)")
def _():
    path = write_config(base_config("e2e_compat_handles"))
    rc, out = run(path, timeout=30)
    assert rc == 0, (rc, out)
    m = re.search(r"children (.*)$", out, re.M)
    assert m, out
    # :01..:08 are the boot services and the start service; the table doubles at 16 and skynet keeps
    # counting from :11 (a gap here, :10 then :31, was the bug)
    expected = " ".join(":%08x" % h for h in range(0x09, 0x15))
    assert m.group(1) == expected, m.group(1)


@case("an overloaded queue is reported once per burst, with skynet's error: prefix")
def _():
    path = write_config(base_config("e2e_compat_overload"))
    rc, out = run(path, timeout=30)
    assert rc == 0, (rc, out)
    lines = re.findall(r"^\[:00000009\] error: May overload, message queue length = (\d+)$", out, re.M)
    # 5000 queued: the threshold doubles 1024 -> 8192 in one step, so one line, not three
    assert len(lines) == 1, out
    assert int(lines[0]) > 4096, lines


@case("an endless loop is reported from :00000000 with skynet's error: prefix")
def _():
    node = Node(write_config(base_config("e2e_compat_spin")))
    try:
        node.wait_for("spinning")
        node.wait_for("maybe in an endless loop", timeout=20)
        out = node.output()
        assert re.search(r"^\[:00000000\] error: A message from \[ :00000000 \] to \[ :00000008 \] "
                         r"maybe in an endless loop \(version = \d+\)$", out, re.M), out
    finally:
        node.stop()


finish()
