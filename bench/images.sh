#!/usr/bin/env bash
# images.sh: image operations side by side: commit of a container that wrote 100 MB, save and
# load of a 200 MB image, export of that container, and `images` with 500 images; berth (a
# private daemon) and docker when its daemon answers (skipped otherwise). Prints ms per engine.
#
# Usage (as root): bench/images.sh [-n IMAGES]   (default 500 images for the listing)
#   BUILD_DIR  meson build directory holding berthd and berth (default build)
#   ENGINES    which to measure (default "berth docker")
# Each engine starts from the busybox fixture rootfs imported as bench-img-base; everything the
# script makes is removed at the end. Nothing is pulled from a registry.
set -uo pipefail

nimages=500
while getopts 'n:h' opt; do
  case $opt in
    n) nimages=$OPTARG ;;
    *) sed -n '2,10s/^# \{0,1\}//p' "$0"; exit 2 ;;
  esac
done
[[ $nimages =~ ^[1-9][0-9]*$ ]] || { echo "images.sh: -n wants a positive number" >&2; exit 2; }
ENGINES=${ENGINES:-berth docker}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../tests/integration/helpers.bash
source "$here/../tests/integration/helpers.bash"

tmp=$(mktemp -d /var/tmp/bench-img.XXXXXX)
cleanup_cmds=()
cleanup() {
  local c
  for c in "${cleanup_cmds[@]}"; do eval "$c" >/dev/null 2>&1; done
  rm -rf "$tmp"
}
trap cleanup EXIT

# ms CMD...: wall time of CMD in milliseconds (its output discarded); fails when CMD fails
ms() {
  local t0 t1
  t0=$(date +%s%N)
  "$@" >/dev/null 2>"$tmp/err" || { echo "failed: $* : $(cat "$tmp/err")" >&2; return 1; }
  t1=$(date +%s%N)
  echo $(((t1 - t0) / 1000000))
}

# median_ms N CMD...: the median of N runs
median_ms() {
  local n=$1 i v
  shift
  for i in $(seq "$n"); do v=$(ms "$@") || return 1; echo "$v"; done | sort -n | sed -n "$(((n + 1) / 2))p"
}

# bench ENGINE CLI...: every operation against one engine; "ENGINE OP MS" lines into results
bench() {
  local engine=$1 v i
  shift
  local cli=("$@") p=bench-img-$$
  record() { echo "$engine $1 $2" >>"$tmp/results"; }
  "${cli[@]}" import "$tmp/rootfs.tar" "$p-base:latest" >/dev/null || return 1
  cleanup_cmds+=("${cli[*]} rm -f $p-c100 $p-c200; ${cli[*]} rmi -f $p-base:latest $p-100:latest $p-200:latest")
  # a container that wrote 100 MB (random: nothing may shortcut zeros)
  "${cli[@]}" run --network none --name "$p-c100" "$p-base:latest" sh -c 'head -c 104857600 /dev/urandom > /big' || return 1
  v=$(ms "${cli[@]}" commit "$p-c100" "$p-100:latest") && record "commit-100MB" "$v"
  v=$(ms sh -c "${cli[*]} export $p-c100 > $tmp/export.tar") && record "export-100MB" "$v"
  rm -f "$tmp/export.tar"
  # a 200 MB image: the 100 MB one plus 100 MB more
  "${cli[@]}" run --network none --name "$p-c200" "$p-100:latest" sh -c 'head -c 104857600 /dev/urandom > /big2' || return 1
  "${cli[@]}" commit "$p-c200" "$p-200:latest" >/dev/null || return 1
  "${cli[@]}" rm -f "$p-c100" "$p-c200" >/dev/null
  v=$(ms "${cli[@]}" save -o "$tmp/save.tar" "$p-200:latest") && record "save-200MB" "$v"
  "${cli[@]}" rmi "$p-200:latest" "$p-100:latest" >/dev/null
  v=$(ms "${cli[@]}" load -i "$tmp/save.tar") && record "load-200MB" "$v"
  rm -f "$tmp/save.tar"
  "${cli[@]}" rmi "$p-200:latest" >/dev/null
  # N distinct images (one shared layer, configs differing by a label)
  echo "$engine: making $nimages images ..." >&2
  for i in $(seq "$nimages"); do
    "${cli[@]}" import -c "LABEL bench.n=$i" "$tmp/rootfs.tar" "$p-many:$i" >/dev/null || return 1
  done
  cleanup_cmds+=("${cli[*]} images -q --filter reference=$p-many | sort -u | xargs -r ${cli[*]} rmi -f")
  v=$(median_ms 5 "${cli[@]}" images) && record "images-$nimages" "$v"
  "${cli[@]}" images -q --filter "reference=$p-many" | sort -u | xargs -r "${cli[@]}" rmi -f >/dev/null
}

"$BERTH_ROOTFS_SCRIPT" "$tmp/rootfs.tar" >&2 || { echo "images.sh: the fixture rootfs could not be made" >&2; exit 1; }
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
      echo "measuring berth (storage: $($BERTH info --format '{{.Driver}}')) ..." >&2
      # shellcheck disable=SC2086
      bench berth $BERTH || notes+=("berth: a step failed")
      berth_stop_daemon
      ;;
    docker)
      if ! command -v docker >/dev/null; then
        notes+=("docker: skipped, not installed")
        continue
      fi
      if ! timeout 10 docker info >/dev/null 2>&1; then
        notes+=("docker: skipped, installed but its daemon does not answer")
        continue
      fi
      echo "measuring docker ..." >&2
      bench docker docker || notes+=("docker: a step failed")
      ;;
    *) notes+=("$engine: unknown engine, skipped") ;;
  esac
done

echo
echo "image operations, wall time in ms (host: $(nproc) CPUs, $(uname -r); images: median of 5)"
python3 - "$tmp/results" <<'PY'
import sys
res = {}
ops = []
for l in open(sys.argv[1]):
    e, op, v = l.split()
    res.setdefault(op, {})[e] = int(v)
    if op not in ops: ops.append(op)
print("%-14s %10s %10s %16s" % ("operation", "berth", "docker", "docker / berth"))
for op in ops:
    b, d = res[op].get("berth"), res[op].get("docker")
    ratio = "%.2fx" % (d / b) if b and d else "-"
    print("%-14s %10s %10s %16s" % (op, b if b is not None else "-", d if d is not None else "-", ratio))
PY
for n in "${notes[@]}"; do echo "note: $n"; done
grep -q '^berth ' "$tmp/results"
