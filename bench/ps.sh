#!/usr/bin/env bash
# ps.sh: `ps -a` with N containers (created, not running), berth, docker and podman side by side;
# also the median time of one `create` while the N are made.
#
# Usage (as root): bench/ps.sh [-n CONTAINERS] [-r RUNS]     (default 100 containers, 20 runs)
#   BUILD_DIR, ENGINES, DOCKER_HOST: see bench/lib.sh
set -uo pipefail
n=100 runs=20
while getopts 'n:r:h' opt; do
  case $opt in
    n) n=$OPTARG ;;
    r) runs=$OPTARG ;;
    *) sed -n '2,6s/^# \{0,1\}//p' "$0"; exit 2 ;;
  esac
done
[[ $n =~ ^[1-9][0-9]*$ && $runs =~ ^[1-9][0-9]*$ ]] || { echo "ps: -n and -r want positive numbers" >&2; exit 2; }
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# create_all ENGINE: make the N containers, print the median ms of one create
create_all() {
  # shellcheck disable=SC2086
  python3 - "$n" "$1" ${CLI[$1]} create "$BENCH_IMAGE" true 3>"$BENCH_TMP/made.$1" <<'PY'
import os, statistics, subprocess, sys, time
n, eng, cmd = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
made = os.fdopen(3, "w")
t = []
for _ in range(n):
    t0 = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    t.append((time.perf_counter() - t0) * 1000.0)
    if r.returncode != 0:
        print("create failed: %s" % r.stderr.decode(errors="replace").strip(), file=sys.stderr)
        print("failed")
        sys.exit(0)
    made.write(r.stdout.decode().strip() + "\n")
print("%.1f" % statistics.median(t))
PY
}

# shellcheck disable=SC2119
bench_engines || exit 1
for e in "${BENCH_ACTIVE[@]}"; do
  echo "creating $n containers in $e ..." >&2
  bench_result "create (median of $n)" "$e" "$(create_all "$e")"
  count=$(${CLI[$e]} ps -aq | wc -l)
  [ "$count" -eq "$n" ] || bench_note "$e: ps -a lists $count containers (other containers of this daemon count too)"
  echo "timing ps ..." >&2
  # shellcheck disable=SC2086
  bench_result "ps -a ($n containers)" "$e" "$(bench_time "$runs" ${CLI[$e]} ps -a)"
  # shellcheck disable=SC2086
  bench_result "ps -aq" "$e" "$(bench_time "$runs" ${CLI[$e]} ps -aq)"
  # shellcheck disable=SC2086
  bench_result "ps (none running)" "$e" "$(bench_time "$runs" ${CLI[$e]} ps)"
  echo "removing them ..." >&2
  bench_remove_tracked "$e"
done
bench_table "listing $n created containers, $runs runs: median / p90" "ms; x: median over berth's"
bench_print_notes
