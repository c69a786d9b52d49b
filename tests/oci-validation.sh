#!/bin/bash
# oci-validation.sh - the OCI runtime-tools validation programs against berth-runtime (and runc and
# crun when installed): a pass/fail table per program and the totals.
#
# usage: tests/oci-validation.sh SRC_DIR [RUNTIME_PATH...]
#   SRC_DIR   a checkout of opencontainers/runtime-tools (commit 0105384, Debian 12's); fetched code
#             is never committed, so without it the script says SKIP and exits 0
#   RUNTIME_PATH...  runtimes to compare (default: berth-runtime of $BUILD_DIR, runc, crun)
# env: BUILD_DIR (default build), WORK_DIR (build cache, default /tmp/oci-validation),
#      TIMEOUT (seconds per program, default 60), ONLY (regex of program names to run)
# Needs root, golang-go and golang-github-google-uuid-dev; builds with the source's vendor/ and
# GO111MODULE=off. A program passes when it exits 0 (its TAP output has no "not ok").
# crun 1.8.1 refuses a hybrid cgroup host (v1 controllers plus the v2 mount at
# /sys/fs/cgroup/unified): its programs run in a private mount namespace without that mount.
set -u
SRC_DIR=${1:-}
[ $# -gt 0 ] && shift
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
: "${BUILD_DIR:=build}"
case $BUILD_DIR in /*) ;; *) BUILD_DIR="$REPO/$BUILD_DIR" ;; esac
: "${WORK_DIR:=/tmp/oci-validation}" "${TIMEOUT:=60}" "${ONLY:=.}"
runtimes=()
for r in "$@"; do # the programs run from the source tree: make paths absolute
  case $r in */*) runtimes+=("$(realpath "$r")") ;; *) runtimes+=("$(command -v "$r" || echo "$r")") ;; esac
done

if [ -z "$SRC_DIR" ] || [ ! -d "$SRC_DIR/validation" ]; then
  echo "SKIP: no runtime-tools source (usage: $0 SRC_DIR [RUNTIME...])"
  exit 0
fi
command -v go >/dev/null || { echo "SKIP: go is not installed (apt-get install golang-go golang-github-google-uuid-dev)"; exit 0; }
[ "$(id -u)" -eq 0 ] || { echo "SKIP: the validation programs need root"; exit 0; }

# build: the source in a GOPATH of its own (the packages import github.com/opencontainers/runtime-tools)
GOPATH="$WORK_DIR/gopath"
TREE="$GOPATH/src/github.com/opencontainers/runtime-tools"
mkdir -p "$TREE" "$WORK_DIR/cache"
if [ ! -e "$TREE/.copied" ] || [ "$SRC_DIR" -nt "$TREE/.copied" ]; then
  cp -a "$SRC_DIR/." "$TREE/" && touch "$TREE/.copied"
fi
# GOPATH mode uses the source's vendor/ as is
export GOPATH GO111MODULE=off GOCACHE="$WORK_DIR/cache"
cd "$TREE" || exit 1
if [ ! -x runtimetest ]; then
  go build -tags "netgo osusergo" -ldflags "-extldflags -static" -o runtimetest ./cmd/runtimetest ||
    { echo "FAIL: building runtimetest"; exit 1; }
fi
programs=()
for d in validation/*/; do
  n=$(basename "$d")
  [ "$n" = util ] && continue
  [ -f "$d/$n.go" ] || continue
  [[ $n =~ $ONLY ]] || continue
  if [ ! -x "$d/$n.t" ] || [ "$d/$n.go" -nt "$d/$n.t" ]; then
    go build -o "$d/$n.t" "./$d" || { echo "FAIL: building $n"; exit 1; }
  fi
  programs+=("$n")
done

if [ ${#runtimes[@]} -eq 0 ]; then
  runtimes=("${BERTH_RUNTIME:-$BUILD_DIR/src/runtime/berth-runtime}")
  for r in runc crun; do command -v $r >/dev/null && runtimes+=("$(command -v $r)"); done
fi

# run_program RUNTIME PROGRAM: one validation program against one runtime. Its bundles go to a
# directory of its own (TMPDIR), emptied afterwards: a runtime that leaves mounts behind (runc
# mounts into the host's namespace when the config has no mount namespace) leaves none here.
run_program() {
  local prog="validation/$2/$2.t" tmp rc m
  tmp="$WORK_DIR/tmp/$(basename "$1")-$2"
  mkdir -p "$tmp"
  if [ "$(basename "$1")" = crun ] && mountpoint -q /sys/fs/cgroup/unified; then
    TMPDIR="$tmp" RUNTIME="$1" timeout "$TIMEOUT" unshare -m --propagation private \
      sh -c 'umount /sys/fs/cgroup/unified && exec "$0"' "$prog"
  else
    TMPDIR="$tmp" RUNTIME="$1" timeout "$TIMEOUT" "$prog"
  fi
  rc=$?
  awk -v d="$tmp/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
    while read -r m; do umount -l "$(printf '%b' "$m")" 2>/dev/null; done
  rm -rf "$tmp"
  return $rc
}

LOG_DIR="$WORK_DIR/logs"
mkdir -p "$LOG_DIR"
declare -A pass
printf '%-40s' program
for r in "${runtimes[@]}"; do printf ' %-14s' "$(basename "$r")"; pass[$r]=0; done
printf '\n'
for n in "${programs[@]}"; do
  printf '%-40s' "$n"
  for r in "${runtimes[@]}"; do
    log="$LOG_DIR/$(basename "$r")-$n.log"
    if run_program "$r" "$n" >"$log" 2>&1 && ! grep -q '^not ok' "$log"; then
      printf ' %-14s' pass
      pass[$r]=$((pass[$r] + 1))
    else
      printf ' %-14s' FAIL
    fi
  done
  printf '\n'
done
printf '%-40s' "passed (of ${#programs[@]})"
for r in "${runtimes[@]}"; do printf ' %-14s' "${pass[$r]}"; done
printf '\n(logs in %s)\n' "$LOG_DIR"
