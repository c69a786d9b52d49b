#!/usr/bin/env bash
# run-latency.sh: median and p90 wall time of `run --rm busybox true` for berth, and for docker
# and podman when they are installed and their daemon answers, with the ratios to berth.
#
# Usage (as root): bench/run-latency.sh [-n RUNS]    (default 50 runs, after 3 warm-up runs)
#   BUILD_DIR  meson build directory holding berthd and berth (default build)
#   ENGINES    which to measure (default "berth docker podman")
# berth runs against a private daemon this script starts (own data root, exec root and socket,
# see tests/integration/helpers.bash) and stops again; docker and podman use their usual
# daemon/storage with busybox:latest if they have it, else the fixture rootfs imported as
# berth-bench-busybox:latest (removed again at the end). Nothing is pulled from a registry.
set -uo pipefail

runs=50
while getopts 'n:h' opt; do
  case $opt in
    n) runs=$OPTARG ;;
    *) sed -n '2,12s/^# \{0,1\}//p' "$0"; exit 2 ;;
  esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "run-latency: -n wants a positive number" >&2; exit 2; }
ENGINES=${ENGINES:-berth docker podman}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../tests/integration/helpers.bash
source "$here/../tests/integration/helpers.bash"

tmp=$(mktemp -d)
cleanup_cmds=()
cleanup() {
  local c
  for c in "${cleanup_cmds[@]}"; do eval "$c" >/dev/null 2>&1; done
  rm -rf "$tmp"
}
trap cleanup EXIT

# measure NAME CLI...: time `CLI run --rm IMAGE true` (IMAGE is the last word of CLI's args)
# and append "NAME median p90 min" to $tmp/results
measure() {
  local name=$1
  shift
  python3 - "$runs" "$@" >"$tmp/$name.out" <<'PY' || { cat "$tmp/$name.out"; return 1; }
import math, statistics, subprocess, sys, time
n, cmd = int(sys.argv[1]), sys.argv[2:]
for _ in range(3):  # warm-up: page cache, the daemon's first-request work
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
times = []
for _ in range(n):
    t0 = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    t1 = time.perf_counter()
    if r.returncode != 0:
        print("failed (exit %d): %s\n%s" % (r.returncode, " ".join(cmd), r.stderr.decode(errors="replace")))
        sys.exit(1)
    times.append((t1 - t0) * 1000.0)
times.sort()
p90 = times[max(0, math.ceil(0.9 * n) - 1)]
print("%.2f %.2f %.2f" % (statistics.median(times), p90, times[0]))
PY
  echo "$name $(cat "$tmp/$name.out")" >>"$tmp/results"
}

# image_for CLI...: busybox:latest if the engine has it, else import the fixture
image_for() {
  if "$@" image inspect busybox:latest >/dev/null 2>&1; then
    echo busybox:latest
    return 0
  fi
  "$BERTH_ROOTFS_SCRIPT" "$tmp/rootfs.tar" >&2 || return 1
  "$@" import "$tmp/rootfs.tar" berth-bench-busybox:latest >/dev/null || return 1
  cleanup_cmds+=("$* rmi berth-bench-busybox:latest")
  echo berth-bench-busybox:latest
}

notes=()
: >"$tmp/results"
for engine in $ENGINES; do
  case $engine in
    berth)
      BERTH_DIR=""
      if ! berth_start_daemon; then
        notes+=("berth: the private berthd did not start (BUILD_DIR=$BUILD_DIR)")
        continue
      fi
      cleanup_cmds+=("berth_stop_daemon")
      if berth_import_busybox busybox:latest; then
        echo "measuring berth ($runs runs) ..." >&2
        # shellcheck disable=SC2086
        measure berth $BERTH run --rm busybox:latest true || notes+=("berth: run failed")
        rss=$(awk '/^VmRSS/ { print $2 " " $3 }' "/proc/$BERTHD_PID/status" 2>/dev/null)
        notes+=("berthd resident memory after the runs: ${rss:-unknown}")
      else
        notes+=("berth: importing the busybox fixture failed")
      fi
      berth_stop_daemon
      ;;
    docker | podman)
      if ! command -v "$engine" >/dev/null; then
        notes+=("$engine: skipped, not installed")
        continue
      fi
      if ! timeout 10 "$engine" version >/dev/null 2>&1; then
        notes+=("$engine: skipped, installed but its daemon does not answer")
        continue
      fi
      if ! img=$(image_for "$engine"); then
        notes+=("$engine: skipped, no busybox image and the import failed")
        continue
      fi
      echo "measuring $engine with $img ($runs runs) ..." >&2
      measure "$engine" "$engine" run --rm "$img" true || notes+=("$engine: run failed")
      ;;
    *) notes+=("$engine: unknown engine, skipped") ;;
  esac
done

echo
echo "run --rm busybox true, $runs runs each, wall time in ms (host: $(nproc) CPUs, $(uname -r))"
python3 - "$tmp/results" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
base = next((float(r[1]) for r in rows if r[0] == "berth"), None)
print("%-8s %10s %10s %10s %16s" % ("engine", "median", "p90", "min", "median / berth"))
for name, med, p90, mn in rows:
    ratio = "%.2fx" % (float(med) / base) if base else "-"
    print("%-8s %10s %10s %10s %16s" % (name, med, p90, mn, ratio))
PY
for n in "${notes[@]}"; do echo "note: $n"; done
grep -q '^berth ' "$tmp/results"
