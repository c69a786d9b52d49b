# lib.sh: what the side-by-side benches share (sourced): engines, one busybox image, timing, tables.
# shellcheck shell=bash disable=SC2086  # CLI[...] holds a command line: word splitting wanted
#
# Engines (ENGINES, default "berth docker podman"), each set up by bench_engines:
#   berth   a private berthd (tests/integration/helpers.bash: own data root, exec root, socket)
#   docker  the daemon at ${DOCKER_HOST:-unix:///run/docker.sock} when `docker info` answers,
#           else "docker: absent" and the bench goes on without it
#   podman  when installed and `podman run --network none` works here: its storage, run root
#           and tmp dir in a temporary directory, cgroupfs, runc (crun refuses this cgroup-v1
#           hybrid host unless the v2 mount is hidden), file events, k8s-file logs, explicit
#           nofile/nproc rlimits (without CAP_SYS_RESOURCE its default 1048576 is refused)
# Every engine gets the same image: the fixture tarball of tests/fixtures/make-busybox-rootfs.sh
# imported as $BENCH_IMAGE. What a bench makes in docker and podman (containers it tracks with
# bench_track, the image) is removed at exit; the private berthd and podman storage are removed.
#
# Results: bench_result CASE ENGINE VALUE [P90] appends a cell; bench_table TITLE UNIT prints the
# cells as a table (one row per case, one column per engine) with each engine's value divided
# by the first engine's (berth's), and clears them.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../tests/integration/helpers.bash
source "$BENCH_DIR/../tests/integration/helpers.bash"

ENGINES=${ENGINES:-berth docker podman}
DOCKER_HOST=${DOCKER_HOST:-unix:///run/docker.sock}
BENCH_IMAGE=berth-bench-busybox:latest
# short, directly under /tmp: podman's run root holds unix sockets too
BENCH_TMP=$(mktemp -d /tmp/bnch.XXXXXX)
declare -A CLI=()        # engine -> its command line (word-split on use)
BENCH_ACTIVE=()          # engines set up, in ENGINES order
BENCH_NOTES=()
BENCH_CLEANUPS=()

bench_note() { BENCH_NOTES+=("$*"); echo "$*" >&2; }
bench_at_exit() { BENCH_CLEANUPS+=("$1"); }

bench_cleanup() {
  local i
  for ((i = ${#BENCH_CLEANUPS[@]} - 1; i >= 0; i--)); do eval "${BENCH_CLEANUPS[i]}" >/dev/null 2>&1; done
  BENCH_CLEANUPS=()
  berth_unmount_under "$BENCH_TMP"
  rm -rf "$BENCH_TMP"
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

bench_fixture() {
  local t="$BENCH_TMP/busybox-rootfs.tar"
  [ -s "$t" ] || "$BERTH_ROOTFS_SCRIPT" "$t" >&2 || return 1
  echo "$t"
}

# bench_rm ENGINE ID...: remove containers at once (podman's rm -f waits 10 s for SIGTERM first)
bench_rm() {
  local e=$1
  shift
  [ $# -gt 0 ] || return 0
  if [ "$e" = podman ]; then
    ${CLI[$e]} rm -f -t 0 "$@" >/dev/null 2>&1
  else
    ${CLI[$e]} rm -f "$@" >/dev/null 2>&1
  fi
}

# bench_track ENGINE ID: remove the container at exit (bench_remove_tracked does it sooner)
bench_track() { echo "$2" >>"$BENCH_TMP/made.$1"; }
bench_remove_tracked() {
  local f="$BENCH_TMP/made.$1"
  [ -s "$f" ] || return 0
  # shellcheck disable=SC2046
  bench_rm "$1" $(sort -u "$f")
  : >"$f"
}

setup_berth() {
  if ! berth_start_daemon "$@" >/dev/null; then
    bench_note "berth: the private berthd did not start (BUILD_DIR=$BUILD_DIR)"
    return 1
  fi
  bench_at_exit berth_stop_daemon
  CLI[berth]=$BERTH
  $BERTH import "$(bench_fixture)" "$BENCH_IMAGE" >/dev/null || { bench_note "berth: import failed"; return 1; }
}

setup_docker() {
  if ! command -v docker >/dev/null || ! timeout 10 docker -H "$DOCKER_HOST" info >/dev/null 2>&1; then
    bench_note "docker: absent (no daemon answers at $DOCKER_HOST)"
    return 1
  fi
  CLI[docker]="docker -H $DOCKER_HOST"
  # also what a failed `run` left behind (created, never started): every container of our image
  bench_at_exit "bench_remove_tracked docker; bench_rm docker \$(${CLI[docker]} ps -aq --filter ancestor=$BENCH_IMAGE);
    ${CLI[docker]} rmi $BENCH_IMAGE"
  ${CLI[docker]} import "$(bench_fixture)" "$BENCH_IMAGE" >/dev/null || { bench_note "docker: import failed"; return 1; }
  local out
  # a daemon whose docker0 was deleted under it fails every bridge run: say so once, up front
  out=$(timeout 60 ${CLI[docker]} run --rm "$BENCH_IMAGE" true 2>&1) ||
    bench_note "docker: a plain run fails here, its figures will be missing: $(echo "$out" | head -n 1)"
  return 0
}

setup_podman() {
  if ! command -v podman >/dev/null; then
    bench_note "podman: absent (not installed)"
    return 1
  fi
  local d="$BENCH_TMP/podman"
  mkdir -p "$d/root" "$d/run" "$d/tmp"
  cat >"$d/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
log_driver = "k8s-file"
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$d/tmp"
EOF
  export CONTAINERS_CONF="$d/containers.conf"
  CLI[podman]="podman --root $d/root --runroot $d/run"
  bench_at_exit "${CLI[podman]} rm -af -t 0; ${CLI[podman]} rmi -af; berth_unmount_under $d"
  local out
  if ! out=$(${CLI[podman]} import "$(bench_fixture)" "$BENCH_IMAGE" 2>&1 >/dev/null) ||
    ! out=$(timeout 60 ${CLI[podman]} run --rm --network none "$BENCH_IMAGE" true 2>&1); then
    bench_note "podman: skipped, it cannot run here: $(echo "$out" | tail -n 1)"
    return 1
  fi
}

# bench_engines [BERTHD_ARGS...]: set up every engine of ENGINES that can run here
bench_engines() {
  local e
  for e in $ENGINES; do
    case $e in
      berth) setup_berth "$@" && BENCH_ACTIVE+=(berth) ;;
      docker) setup_docker && BENCH_ACTIVE+=(docker) ;;
      podman) setup_podman && BENCH_ACTIVE+=(podman) ;;
      *) bench_note "$e: unknown engine, skipped" ;;
    esac
  done
  [ ${#BENCH_ACTIVE[@]} -gt 0 ]
}

# bench_time RUNS CMD...: "median p90" in ms of CMD's wall time over RUNS runs after
# ${BENCH_WARMUP:-3} warm-ups, or "failed" (the command's last error line on stderr)
bench_time() {
  python3 - "${BENCH_WARMUP:-3}" "$@" <<'PY'
import math, statistics, subprocess, sys, time
w, n, cmd = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
for _ in range(w):  # page cache, the daemon's first-request work
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
t = []
for _ in range(n):
    t0 = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    t.append((time.perf_counter() - t0) * 1000.0)
    if r.returncode != 0:
        err = r.stderr.decode(errors="replace").strip().splitlines()
        print("failed", file=sys.stdout)
        print("failed (exit %d): %s: %s" % (r.returncode, " ".join(cmd), err[-1] if err else ""), file=sys.stderr)
        sys.exit(0)
t.sort()
print("%.1f %.1f" % (statistics.median(t), t[max(0, math.ceil(0.9 * n) - 1)]))
PY
}

bench_result() { printf '%s\t%s\t%s\n' "$1" "$2" "${*:3}" >>"$BENCH_TMP/results"; }

# bench_table TITLE UNIT: the cells so far as a table; each engine's first number over berth's
bench_table() {
  echo
  echo "$1 ($2; host: $(nproc) CPUs, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg))"
  python3 - "$BENCH_TMP/results" <<'PY'
import sys
rows, engines, cells = [], [], {}
for line in open(sys.argv[1]):
    case, eng, val = line.rstrip("\n").split("\t")
    if case not in rows: rows.append(case)
    if eng not in engines: engines.append(eng)
    cells[case, eng] = val.split()
def num(v):
    try: return float(v[0])
    except (ValueError, IndexError, TypeError): return None
w = max([len(r) for r in rows] + [4])
head = "%-*s" % (w, "case")
for i, e in enumerate(engines):
    head += "  %16s" % e + ("  %7s" % ("x" + engines[0]) if i else "")
print(head)
for r in rows:
    base = num(cells.get((r, engines[0])))
    line = "%-*s" % (w, r)
    for i, e in enumerate(engines):
        v = cells.get((r, e))
        line += "  %16s" % (" / ".join(v) if v else "-")
        if i:
            x = num(v)
            line += "  %7s" % ("%.2f" % (x / base) if x is not None and base else "-")
    print(line)
PY
  : >"$BENCH_TMP/results"
}

bench_print_notes() {
  local n
  for n in "${BENCH_NOTES[@]}"; do echo "note: $n"; done
  BENCH_NOTES=()
}

# pss PID: proportional set size in kB (smaps_rollup), empty when the process is gone
pss() { awk '/^Pss:/ { print $2 }' "/proc/$1/smaps_rollup" 2>/dev/null; }
