#!/usr/bin/env bash
# logs.sh: time to write 200 MB to stdout in a container (`run -d` + `wait`) and to read it back
# with `logs > /dev/null`, for berth and for docker when a docker daemon answers (skipped otherwise).
#
# Usage (as root): bench/logs.sh [-m MB]     (default 200)
#   BUILD_DIR  meson build directory holding berthd and berth (default build)
# berth runs against a private daemon (tests/integration/helpers.bash) with --log-opt max-size=-1
# so that, like docker's default json-file, the whole output is kept and read back; docker uses
# its daemon with busybox:latest if present, else the fixture imported as berth-bench-busybox.
set -uo pipefail
mb=200
while getopts 'm:h' opt; do
  case $opt in
    m) mb=$OPTARG ;;
    *) sed -n '2,9s/^# \{0,1\}//p' "$0"; exit 2 ;;
  esac
done
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../tests/integration/helpers.bash
source "$here/../tests/integration/helpers.bash"

# 1 KiB lines (1023 characters and a newline), mb*1024 of them
payload='yes $(head -c 1023 /dev/zero | tr "\\0" x) | head -n '$((mb * 1024))

now() { date +%s.%N; }
measure() { # ENGINE CLI IMAGE
  local name=$1 cli=$2 image=$3 t0 t1 t2 id
  t0=$(now)
  id=$($cli run -d --log-opt max-size=-1 "$image" sh -c "$payload") || return 1
  $cli wait "$id" >/dev/null
  t1=$(now)
  $cli logs "$id" >/dev/null 2>&1
  t2=$(now)
  $cli rm -f "$id" >/dev/null 2>&1
  printf '%-8s write %4d MB: %6.2f s (%6.1f MB/s)   read back: %6.2f s (%6.1f MB/s)\n' "$name" "$mb" \
    "$(echo "$t1 - $t0" | bc)" "$(echo "$mb / ($t1 - $t0)" | bc -l)" \
    "$(echo "$t2 - $t1" | bc)" "$(echo "$mb / ($t2 - $t1)" | bc -l)"
}

berth_start_daemon >/dev/null || exit 1
trap berth_stop_daemon EXIT
berth_import_busybox || exit 1
measure berth "$BERTH" busybox

if command -v docker >/dev/null && timeout 5 docker version >/dev/null 2>&1; then
  img=busybox:latest
  if ! docker image inspect "$img" >/dev/null 2>&1; then
    img=berth-bench-busybox:latest
    docker import "$(berth_rootfs_tar)" "$img" >/dev/null || exit 1
  fi
  measure docker docker "$img"
  [ "$img" = busybox:latest ] || docker rmi "$img" >/dev/null
else
  echo "docker: skipped (no docker daemon answers)"
fi
