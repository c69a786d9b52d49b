#!/usr/bin/env bash
# logs.sh: a container writes MB megabytes to stdout (`run -d` + `wait`), then `logs > /dev/null`
# reads them back: berth, docker and podman side by side.
#
# Usage (as root): bench/logs.sh [-m MB]     (default 200)
#   BUILD_DIR, ENGINES, DOCKER_HOST: see bench/lib.sh
# Each engine keeps the whole output: docker's default json-file driver (no rotation), berth's
# json-file with --log-opt max-size=-1 (its default rotates at 3 x 20 MB), podman's k8s-file.
set -uo pipefail
mb=200
while getopts 'm:h' opt; do
  case $opt in
    m) mb=$OPTARG ;;
    *) sed -n '2,8s/^# \{0,1\}//p' "$0"; exit 2 ;;
  esac
done
[[ $mb =~ ^[1-9][0-9]*$ ]] || { echo "logs: -m wants a positive number" >&2; exit 2; }
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# 1 KiB lines (1023 characters and a newline), mb*1024 of them; expanded in the container
# shellcheck disable=SC2016
payload='yes $(head -c 1023 /dev/zero | tr "\\0" x) | head -n '$((mb * 1024))

now() { date +%s.%N; }
measure() { # ENGINE
  local e=$1 cli=${CLI[$1]} t0 t1 t2 id opts=() bytes
  [ "$e" = berth ] && opts=(--log-opt max-size=-1)
  echo "measuring $e ..." >&2
  t0=$(now)
  id=$($cli run -d "${opts[@]}" "$BENCH_IMAGE" sh -c "$payload") || { bench_note "$e: run failed"; return; }
  bench_track "$e" "$id"
  $cli wait "$id" >/dev/null
  t1=$(now)
  bytes=$($cli logs "$id" 2>&1 | wc -c)
  t2=$(now)
  [ "$bytes" -eq $((mb * 1024 * 1024)) ] || bench_note "$e: logs gave $bytes bytes, not $((mb * 1024 * 1024))"
  bench_rm "$e" "$id"
  bench_result "write $mb MB (run -d + wait)" "$e" "$(printf '%.2f' "$(echo "$t1 - $t0" | bc)")"
  bench_result "read back (logs)" "$e" "$(printf '%.2f' "$(echo "$t2 - $t1" | bc)")"
}

# shellcheck disable=SC2119
bench_engines || exit 1
for e in "${BENCH_ACTIVE[@]}"; do measure "$e"; done
bench_table "$mb MB of stdout through the log driver, 1 KiB lines" "seconds; x: over berth's"
bench_print_notes
