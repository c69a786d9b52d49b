#!/usr/bin/env bash
# network.sh: what networking costs on `run --rm busybox true`, berth, docker and podman side by
# side: --net none against the default bridge, one published port, a range of 100 and of 1000
# published ports, and a plain run while another container publishes 100 or 1000 separate ports.
#
# Usage (as root): bench/network.sh [-n RUNS]     (default 30 runs per case, after 3 warm-ups)
#   BUILD_DIR, ENGINES, DOCKER_HOST: see bench/lib.sh
# berth runs on its own bridge (bnbench, 10.210.0.1/24), removed after; docker on its docker0,
# podman on its default network (netavark). docker starts one docker-proxy process per published
# port and takes seconds per 100 ports: it gets 100 ports at most, and 5 runs (1 warm-up) in
# the cases with 100 ports.
set -uo pipefail

runs=30
while getopts 'n:h' opt; do
  case $opt in
    n) runs=$OPTARG ;;
    *) sed -n '2,11s/^# \{0,1\}//p' "$0"; exit 2 ;;
  esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "network: -n wants a positive number" >&2; exit 2; }
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
NFT="$BUILD_DIR/src/network/test_network nft"

# ports FIRST COUNT: COUNT separate -p options from FIRST on (every other port); docker and podman
# bind them, so they stay below the ephemeral range (32768-60999) where clients may hold some
ports() { local p a=(); for ((p = $1; p < $1 + 2 * $2; p += 2)); do a+=(-p "127.0.0.1:$p:80"); done; echo "${a[@]}"; }

# case_time ENGINE NAME HEAVY RUN_ARGS...: one row; HEAVY (1) means slow for docker
case_time() {
  local e=$1 name=$2 heavy=$3 r=$runs
  shift 3
  if [ "$e" = docker ] && [ "$heavy" = 1 ]; then
    # shellcheck disable=SC2086
    bench_result "$name" "$e" "$(BENCH_WARMUP=1 bench_time 5 ${CLI[$e]} run --rm "$@" "$BENCH_IMAGE" true)"
    return
  fi
  # shellcheck disable=SC2086
  bench_result "$name" "$e" "$(bench_time "$r" ${CLI[$e]} run --rm "$@" "$BENCH_IMAGE" true)"
}

cases() { # ENGINE
  local e=$1 cli=${CLI[$1]} k id
  echo "measuring $e ..." >&2
  case_time "$e" "--net none" 0 --net none
  case_time "$e" "bridge" 0
  case_time "$e" "bridge -p 127.0.0.1::80" 0 -p 127.0.0.1::80
  case_time "$e" "bridge -p 100 ports (a range)" 1 -p 127.0.0.1:30000-30099:30000-30099
  [ "$e" = docker ] || case_time "$e" "bridge -p 1000 ports (a range)" 0 -p 127.0.0.1:30000-30999:30000-30999
  for k in 100 1000; do
    [ "$e" = docker ] && [ "$k" -gt 100 ] && continue
    # shellcheck disable=SC2046
    if ! id=$($cli run -d $(ports 20000 "$k") "$BENCH_IMAGE" sleep 600); then
      bench_note "$e: a container with $k published ports did not start"
      continue
    fi
    bench_track "$e" "$id"
    case_time "$e" "bridge, $k ports held elsewhere" 0
    case_time "$e" "  ... and -p 127.0.0.1::80 ($k held)" 0 -p 127.0.0.1::80
    bench_rm "$e" "$id"
  done
}

bench_at_exit "ip link del bnbench; $NFT delete table ip berth_bnbench"
bench_engines --bridge bnbench --bip 10.210.0.1/24 || exit 1
for e in "${BENCH_ACTIVE[@]}"; do cases "$e"; done
bench_table "run --rm busybox true by network set-up, $runs runs per case: median / p90" "ms; x: median over berth's"
[[ " ${BENCH_ACTIVE[*]} " = *" docker "* ]] &&
  bench_note "docker: 100 ports at most (one docker-proxy process per port), 5 runs in its 100-port range case"
bench_print_notes
