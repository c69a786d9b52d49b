#!/usr/bin/env bash
# network.sh: what networking costs on `run --rm busybox true`: --net none against the default
# bridge, one published port, 1000 published ports (one range), and a plain bridge run while
# another container publishes 1000 separate ports (1000 map elements). Median and p90 in ms;
# docker too when its daemon answers (same cases, on its own docker0).
#
# Usage (as root): bench/network.sh [-n RUNS]     (default 30 runs per case, after 3 warm-ups)
#   BUILD_DIR  meson build directory holding berthd and berth (default build)
# berth runs against a private daemon on its own bridge (bnbench, 10.210.0.1/24), removed after.
set -uo pipefail

runs=30
while getopts 'n:h' opt; do
  case $opt in
    n) runs=$OPTARG ;;
    *) sed -n '2,10s/^# \{0,1\}//p' "$0"; exit 2 ;;
  esac
done

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../tests/integration/helpers.bash
source "$here/../tests/integration/helpers.bash"
NFT="$BUILD_DIR/src/network/test_network nft"

# timeit NAME CMD...: median and p90 of CMD's wall time over $runs runs
timeit() {
  local name=$1
  shift
  python3 - "$runs" "$@" <<'PY' | sed "s/^/$(printf '%-34s' "$name")/"
import math, statistics, subprocess, sys, time
n, cmd = int(sys.argv[1]), sys.argv[2:]
for _ in range(3):
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
t = []
for _ in range(n):
    t0 = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    t.append((time.perf_counter() - t0) * 1000)
    if r.returncode:
        print("failed: %s" % r.stderr.decode(errors="replace").strip())
        sys.exit(0)
t.sort()
print("%8.2f %8.2f" % (statistics.median(t), t[max(0, math.ceil(0.9 * n) - 1)]))
PY
}

many_ports() { local p a=(); for ((p = 40000; p < 42000; p += 2)); do a+=(-p "$p:80"); done; echo "${a[@]}"; }

cases() { # cases ENGINE-CLI...
  timeit "--net none" "$@" run --rm --net none busybox true
  timeit "bridge" "$@" run --rm busybox true
  timeit "bridge -p 127.0.0.1::80" "$@" run --rm -p 127.0.0.1::80 busybox true
  timeit "bridge -p 1000 ports (a range)" "$@" run --rm -p 127.0.0.1:30000-30999:30000-30999 busybox true
  # shellcheck disable=SC2046
  "$@" run -d --name bench-many $(many_ports) busybox sleep 600 >/dev/null
  timeit "bridge, 1000 ports held elsewhere" "$@" run --rm busybox true
  timeit "  ... and -p 127.0.0.1::80" "$@" run --rm -p 127.0.0.1::80 busybox true
  "$@" rm -f bench-many >/dev/null
}

echo "run --rm busybox true: median and p90 in ms, $runs runs each ($(nproc) CPUs, $(uname -r))"
printf '%-34s%8s %8s\n' case median p90
echo "berth:"
berth_start_daemon --bridge bnbench --bip 10.210.0.1/24 >/dev/null || exit 1
trap 'berth_stop_daemon; ip link del bnbench 2>/dev/null; $NFT delete table ip berth_bnbench 2>/dev/null' EXIT
berth_import_busybox busybox:latest
# shellcheck disable=SC2086
cases $BERTH
if command -v docker >/dev/null && timeout 10 docker version >/dev/null 2>&1 &&
  docker image inspect busybox:latest >/dev/null 2>&1; then
  echo "docker:"
  cases docker
else
  echo "docker: skipped (no daemon answering, or no busybox:latest)"
fi
