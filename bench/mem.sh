#!/usr/bin/env bash
# mem.sh: memory of the engine per container: berth-shim PSS averaged over N idle containers
# (`sleep 600`) and berthd's PSS, from /proc/PID/smaps_rollup.
#
# Usage (as root): bench/mem.sh [-n CONTAINERS]    (default 50)
#   BUILD_DIR  meson build directory holding berthd and berth (default build)
set -uo pipefail
n=50
while getopts 'n:h' opt; do
  case $opt in
    n) n=$OPTARG ;;
    *) sed -n '2,6s/^# \{0,1\}//p' "$0"; exit 2 ;;
  esac
done
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../tests/integration/helpers.bash
source "$here/../tests/integration/helpers.bash"

pss() { awk '/^Pss:/ { print $2 }' "/proc/$1/smaps_rollup" 2>/dev/null; }

berth_start_daemon >/dev/null || exit 1
trap berth_stop_daemon EXIT
berth_import_busybox || exit 1
for i in $(seq "$n"); do $BERTH run -d busybox sleep 600 >/dev/null || exit 1; done
sleep 1
total=0 count=0
for f in "$BERTH_DIR"/run/shims/*/shim.pid; do
  kb=$(pss "$(cat "$f")")
  [ -n "$kb" ] || continue
  total=$((total + kb))
  count=$((count + 1))
done
[ "$count" -gt 0 ] || { echo "no shims found" >&2; exit 1; }
echo "berth-shim: $count idle containers, PSS average $((total / count)) kB, total $total kB"
echo "berthd:     PSS $(pss "$BERTHD_PID") kB with $count containers"
