#!/usr/bin/env bash
# run-latency.sh: wall time of `run --rm busybox true` for berth, docker and podman side by side,
# and of the bare OCI runtimes (berth-runtime, crun, runc) running `true` from one bundle.
#
# Usage (as root): bench/run-latency.sh [-n RUNS]    (default 50 runs, after 3 warm-up runs)
#   BUILD_DIR    meson build directory holding berthd, berth, berth-runtime (default build)
#   ENGINES      engines to compare (default "berth docker podman"; see bench/lib.sh)
#   RUNTIMES     runtimes to compare (default "berth-runtime crun runc")
#   DOCKER_HOST  docker's daemon (default unix:///run/docker.sock)
# The runtimes run in `unshare -m` with /sys/fs/cgroup/unified unmounted, all three alike: crun
# refuses a cgroup-v1 host that also mounts the v2 hierarchy ("hybrid mode not supported").
set -uo pipefail

runs=50
while getopts 'n:h' opt; do
  case $opt in
    n) runs=$OPTARG ;;
    *) sed -n '2,11s/^# \{0,1\}//p' "$0"; exit 2 ;;
  esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "run-latency: -n wants a positive number" >&2; exit 2; }
RUNTIMES=${RUNTIMES:-berth-runtime crun runc}
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

engines() {
  # shellcheck disable=SC2119
  bench_engines || exit 1
  local e
  for e in "${BENCH_ACTIVE[@]}"; do
    echo "measuring $e ($runs runs per case) ..." >&2
    # shellcheck disable=SC2086
    bench_result "run --rm busybox true" "$e" "$(bench_time "$runs" ${CLI[$e]} run --rm "$BENCH_IMAGE" true)"
    # shellcheck disable=SC2086
    bench_result "run --rm --net none busybox true" "$e" \
      "$(bench_time "$runs" ${CLI[$e]} run --rm --net none "$BENCH_IMAGE" true)"
  done
  [ -n "${BERTHD_PID:-}" ] && bench_note "berthd PSS after the runs: $(pss "$BERTHD_PID") kB"
  bench_table "run --rm busybox true, $runs runs per case: median / p90" "ms; x: median over berth's"
}

# bundle DIR: the fixture rootfs and Docker's default config.json (berth-runtime spec) running true
make_bundle() {
  mkdir -p "$1/rootfs" && tar -C "$1/rootfs" -xf "$(bench_fixture)" || return 1
  "$BUILD_DIR/src/runtime/berth-runtime" spec | python3 -c '
import json, sys
c = json.load(sys.stdin)
c["process"]["args"] = ["true"]
c["root"] = {"path": "rootfs", "readonly": True}
json.dump(c, sys.stdout)' >"$1/config.json"
}

runtimes() {
  local b="$BENCH_TMP/bundle" rt bin
  make_bundle "$b" || { bench_note "runtimes: could not make the bundle"; return 1; }
  for rt in $RUNTIMES; do
    bin=$rt
    [ "$rt" = berth-runtime ] && bin="$BUILD_DIR/src/runtime/berth-runtime"
    if ! command -v "$bin" >/dev/null; then
      bench_note "$rt: absent (not installed)"
      continue
    fi
    mkdir -p "$BENCH_TMP/rt-$rt"
    echo "measuring $rt ($runs runs) ..." >&2
    # each run's id differs: a failed run's leftovers cannot fail the next one
    bench_result "run (create, start, wait, delete) true" "$rt" "$(unshare -m sh -c \
      'umount /sys/fs/cgroup/unified 2>/dev/null; exec "$@"' sh \
      python3 - "$runs" "$bin" "$BENCH_TMP/rt-$rt" "$b" <<'PY'
import math, statistics, subprocess, sys, time
n, rt, root, bundle = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
t = []
for i in range(n + 3):
    cmd = [rt, "--root", root, "run", "--bundle", bundle, "bench-%d" % i]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if r.returncode != 0:
        print("failed")
        print("failed: %s: %s" % (" ".join(cmd), r.stderr.decode(errors="replace").strip()), file=sys.stderr)
        sys.exit(0)
    if i >= 3:
        t.append((time.perf_counter() - t0) * 1000.0)
t.sort()
print("%.1f %.1f" % (statistics.median(t), t[max(0, math.ceil(0.9 * n) - 1)]))
PY
    )"
  done
  bench_table "OCI runtimes alone, $runs runs: median / p90" "ms; x: median over berth-runtime's"
}

engines
runtimes
bench_print_notes
