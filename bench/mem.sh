#!/usr/bin/env bash
# mem.sh: memory of the engines with N idle containers (`sleep 600`), side by side: the per-container
# monitor (berth-shim, docker's containerd-shim-runc-v2, podman's conmon) and the daemon
# (berthd; dockerd + containerd; podman has none), PSS from /proc/PID/smaps_rollup.
#
# Usage (as root): bench/mem.sh [-n CONTAINERS]    (default 50)
#   BUILD_DIR, ENGINES, DOCKER_HOST: see bench/lib.sh
# The monitor of a container is the parent of its init (inspect's State.Pid) for all three.
# Engines are measured one after the other, each container set removed before the next, so no
# engine's PSS is lowered by pages it shares with another's processes. docker's daemon is the
# shared one: its idle figure includes whatever else it holds.
set -uo pipefail
n=50
while getopts 'n:h' opt; do
  case $opt in
    n) n=$OPTARG ;;
    *) sed -n '2,11s/^# \{0,1\}//p' "$0"; exit 2 ;;
  esac
done
[[ $n =~ ^[1-9][0-9]*$ ]] || { echo "mem: -n wants a positive number" >&2; exit 2; }
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# daemon_pids ENGINE: the engine's long-lived processes (none for podman)
daemon_pids() {
  case $1 in
    berth) echo "$BERTHD_PID" ;;
    docker)
      local p
      p=$(ss -xlpn | awk -v s="${DOCKER_HOST#unix://}" '$5 == s' | grep -o 'pid=[0-9]*' | head -n 1)
      p=${p#pid=}
      [ -n "$p" ] || return 0
      echo "$p"
      pgrep -P "$p" -x containerd
      ;;
  esac
}

# sum_pss PID...: total PSS in kB
sum_pss() {
  local p t=0 k
  for p in "$@"; do
    k=$(pss "$p")
    t=$((t + ${k:-0}))
  done
  echo "$t"
}

daemon_pss() {
  local pids
  pids=$(daemon_pids "$1")
  # shellcheck disable=SC2086
  [ -n "$pids" ] && sum_pss $pids || echo "n/a"
}

measure() { # ENGINE
  local e=$1 cli=${CLI[$1]} i id pid shims=() idle
  idle=$(daemon_pss "$e")
  echo "starting $n containers in $e ..." >&2
  for ((i = 0; i < n; i++)); do
    id=$($cli run -d "$BENCH_IMAGE" sleep 600) || { bench_note "$e: run -d failed"; break; }
    bench_track "$e" "$id"
    pid=$($cli inspect --format '{{.State.Pid}}' "$id")
    shims+=("$(awk '{ print $4 }' "/proc/$pid/stat" 2>/dev/null)")
  done
  sleep 2 # let every monitor settle after its start-up work
  local total count=${#shims[@]} names
  total=$(sum_pss "${shims[@]}")
  names=$(for pid in "${shims[@]}"; do cat "/proc/$pid/comm"; done 2>/dev/null | sort | uniq -c | xargs)
  bench_note "$e: monitors of its $count containers: $names"
  bench_result "daemon, idle" "$e" "$idle"
  if [ "$count" -eq "$n" ]; then
    bench_result "monitor PSS per container" "$e" "$((total / count))"
    bench_result "monitors, $n containers" "$e" "$total"
    bench_result "daemon, $n containers" "$e" "$(daemon_pss "$e")"
  fi
  echo "removing them ..." >&2
  bench_remove_tracked "$e"
}

# shellcheck disable=SC2119
bench_engines || exit 1
for e in "${BENCH_ACTIVE[@]}"; do measure "$e"; done
bench_table "memory with $n idle containers: PSS" "kB; x: over berth's"
bench_note "docker's daemon = dockerd + containerd; podman has no daemon"
bench_print_notes
