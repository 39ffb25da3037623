#!/usr/bin/env python3
"""The issue's performance targets next to this run's medians (make bench prints it after the summary).

usage: targets.py raw.tsv [threads]

Reads the raw figures that ../shared/bench/run_all.sh wrote and, for each target figure, prints skynet's
figure (../shared/bench/BASELINE.md, profile off, thread = 2), the target, the median of this run's
repetitions and whether the median meets it.  A figure the run did not produce is shown as "-".
"""
import csv
import statistics
import sys

# (figure, skynet's figure as text, comparison, bound, how the bound reads)
TARGETS = [
    ("call_pingpong.calls_per_sec", "388k", ">=", 780e3, ">= 780k"),
    ("call_pingpong.conc16_calls_per_sec", "368k", ">=", 780e3, ">= 780k"),
    ("send_throughput.msgs_per_sec", "750k", ">=", 1.1e6, ">= 1.1M"),
    ("send_throughput.raw.msgs_per_sec", "829k", ">=", 1.25e6, ">= 1.25M"),
    ("fanout.msgs_per_sec", "594k", ">=", 900e3, ">= 900k"),
    ("fork_wakeup.forks_per_sec", "1.14M", ">=", 1.7e6, ">= 1.7M"),
    ("fork_wakeup.wakeups_per_sec", "1.59M", ">=", 2.4e6, ">= 2.4M"),
    ("spawn.services_per_sec", "6.4k", ">=", 13e3, ">= 13k"),
    ("spawn.conc16_services_per_sec", "11.2k", ">=", 22e3, ">= 22k"),
    ("spawn.rss_per_service_kb", "50.7", "<=", 50, "<= 50"),
    # 20 % of the peak growth: the 10,000 services of the sequential phase times their RSS each
    ("spawn.rss_after_exit_kb", "507 MB", "<=share", 0.2, "<= 20 % of the growth"),
    ("timer.spread.raw_lateness_us_p99", "+1.3 ms", "<=", 2000, "<= 2 ms late"),
    ("timer.burst.lateness_us_p99", "9 ms", "<=", 5000, "<= 5 ms"),
    ("socket_echo.rps", "81.7k", ">=", 98e3, ">= 98k"),
    ("socket_echo.lat_us_p99", "2.18 ms", "<=", 2180, "<= 2.18 ms"),
    ("send_throughput.peak_rss_kb", "232 MB", "<=", 232e3, "<= 232 MB"),
]

SPAWNED = 10000  # the spawn benchmark's default n


def fmt(v):
    a = abs(v)
    if a >= 1e6:
        return f"{v / 1e6:.3g}M"
    if a >= 1e4:
        return f"{v / 1e3:.4g}k"
    if a >= 100:
        return f"{v:.0f}"
    return f"{v:.3g}"


def medians(path, threads):
    values = {}
    with open(path) as f:
        for row in csv.DictReader(f, delimiter="\t"):
            if row.get("threads") != threads:
                continue
            try:
                values.setdefault(row["name"], []).append(float(row["value"]))
            except (KeyError, ValueError):
                continue
    return {name: statistics.median(v) for name, v in values.items()}


def main():
    if len(sys.argv) < 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    threads = sys.argv[2] if len(sys.argv) > 2 else "2"
    med = medians(sys.argv[1], threads)
    print(f"| figure (thread={threads}) | skynet | target | ours (median) | met |")
    print("|---|---|---|---|---|")
    for name, skynet, op, bound, reads in TARGETS:
        ours = med.get(name)
        if ours is None:
            print(f"| {name} | {skynet} | {reads} | - | - |")
            continue
        if op == ">=":
            met = ours >= bound
        elif op == "<=":
            met = ours <= bound
        else:
            per_service = med.get("spawn.rss_per_service_kb")
            met = per_service is not None and ours <= bound * per_service * SPAWNED
        print(f"| {name} | {skynet} | {reads} | {fmt(ours)} | {'yes' if met else 'no'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
