#!/usr/bin/env bash
# make bench: runs the portable benchmark suite (../shared/bench, the same Lua services that run on
# cloudwu/skynet) against our ./skynet and prints every figure, a summary table, and the issue's targets
# next to the medians (test/bench/targets.py).
# Figures only, never pass/fail.  Environment: REPS (default 1), THREADS (default 2), BENCHES (default all),
# BENCH_PROFILE (default true: our CPU accounting stays on), SHARED_BENCH (where the suite lives).
set -u
cd "$(dirname "$0")/../.."
root=$PWD
shared=${SHARED_BENCH:-$root/../shared/bench}
if [ ! -f "$shared/run_all.sh" ]; then
    echo "benchmark suite not found at $shared (set SHARED_BENCH)" >&2
    exit 2
fi
# The suite builds its load generator inside its own folder, which may be read-only: work on a copy.
work=$(mktemp -d "${TMPDIR:-/tmp}/skynet-bench-XXXXXX")
cp -r "$shared/." "$work/"
chmod -R u+w "$work"
export SKYNET_ROOT=$root
export REPS=${REPS:-1} THREADS=${THREADS:-2} BENCH_PROFILE=${BENCH_PROFILE:-true}
export OUT=$work/out
bash "$work/run_all.sh" "$root/skynet" ours
echo
cat "$OUT/summary.md"
# The issue's targets against this run's medians, at thread = 2 when the run had it.
target_threads=2
case " $THREADS " in *" 2 "*) ;; *) target_threads=${THREADS%% *} ;; esac
echo
python3 "$root/test/bench/targets.py" "$OUT/raw.tsv" "$target_threads"
echo "(raw figures and logs in $OUT)"
