# helpers.bash: a private berthd per test file, the busybox fixture and assertions (`load helpers`).
#
# Each file calls berth_start_daemon in setup_file and berth_stop_daemon in teardown_file.
# The daemon gets its own data root, exec root and socket in a fresh directory, talks to no
# registry (--default-registry 127.0.0.1:1 refuses at once) and logs at debug level to a file,
# so suites never disturb each other nor a daemon of the host. Also usable outside bats
# (bench/run-latency.sh sources it).
#
#   BUILD_DIR    meson build directory, absolute or relative to the repository (default build)
#   BERTH        exported by berth_start_daemon: the CLI with -H pointing at the private daemon
#   BERTH_DIR    the private directory: data/ (data root), run/ (exec root), berth.sock, berthd.log
#   BERTH_SOCK   the socket path, for curl --unix-socket

BERTH_SRC_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
: "${BUILD_DIR:=build}"
case $BUILD_DIR in /*) ;; *) BUILD_DIR="$BERTH_SRC_DIR/$BUILD_DIR" ;; esac
BERTHD_BIN="$BUILD_DIR/src/daemon/berthd"
BERTH_BIN="$BUILD_DIR/src/cli/berth"
BERTH_ROOTFS_SCRIPT="$BERTH_SRC_DIR/tests/fixtures/make-busybox-rootfs.sh"
export BUILD_DIR BERTH_SRC_DIR BERTHD_BIN BERTH_BIN
# loopback only, never through a proxy
export no_proxy='*' NO_PROXY='*'
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY

# berth_start_daemon [EXTRA_BERTHD_ARGS...]: start the private daemon and wait for /_ping.
# The directory is short and directly under /tmp on purpose: the exec root holds unix sockets
# (shims/<64-hex-id>/attach) and sun_path has room for only 107 bytes.
berth_start_daemon() {
  [ -x "$BERTHD_BIN" ] || { echo "no $BERTHD_BIN: build first (ninja -C $BUILD_DIR)" >&2; return 1; }
  [ -x "$BERTH_BIN" ] || { echo "no $BERTH_BIN: build first (ninja -C $BUILD_DIR)" >&2; return 1; }
  BERTH_DIR=$(mktemp -d /tmp/bt.XXXXXX)
  BERTH_SOCK="$BERTH_DIR/berth.sock"
  mkdir -p "$BERTH_DIR/data" "$BERTH_DIR/run"
  # fd 3 closed: bats waits for every holder of it before it ends the file
  "$BERTHD_BIN" --data-root "$BERTH_DIR/data" --exec-root "$BERTH_DIR/run" \
    -H "unix://$BERTH_SOCK" --group root --default-registry 127.0.0.1:1 \
    --pidfile "$BERTH_DIR/berthd.pid" --log-level debug "$@" \
    </dev/null >"$BERTH_DIR/berthd.log" 2>&1 3>&- &
  BERTHD_PID=$!
  echo "$BERTHD_PID" >"$BERTH_DIR/berthd.daemon-pid"
  BERTH="$BERTH_BIN -H unix://$BERTH_SOCK"
  export BERTH BERTH_DIR BERTH_SOCK BERTHD_PID
  local i
  for i in $(seq 100); do
    if curl -fsS --max-time 2 --unix-socket "$BERTH_SOCK" http://localhost/_ping >/dev/null 2>&1; then
      return 0
    fi
    if ! kill -0 "$BERTHD_PID" 2>/dev/null; then
      echo "berthd exited during start-up; its log:" >&2
      cat "$BERTH_DIR/berthd.log" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "berthd did not answer /_ping within 10 s; its log:" >&2
  cat "$BERTH_DIR/berthd.log" >&2
  return 1
}

# berth_stop_daemon: remove what the tests left, SIGTERM the daemon and wait for it, end any
# shim or container process still there (live restore keeps them running after berthd stops),
# unmount everything under the directory and remove it. Shows the daemon log when a test of
# this file failed (berth_teardown marks that).
berth_stop_daemon() {
  [ -n "${BERTH_DIR:-}" ] && [ -d "$BERTH_DIR" ] || return 0
  local pid ids
  if [ -n "${BERTHD_PID:-}" ] && kill -0 "$BERTHD_PID" 2>/dev/null; then
    ids=$(timeout 10 $BERTH ps -aq --no-trunc 2>/dev/null)
    [ -z "$ids" ] || timeout 30 $BERTH rm -f $ids >/dev/null 2>&1
    timeout 10 $BERTH network prune -f >/dev/null 2>&1
    kill -TERM "$BERTHD_PID" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$BERTHD_PID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$BERTHD_PID" 2>/dev/null; then
      echo "berthd did not stop within 10 s of SIGTERM; killing it" >&2
      kill -KILL "$BERTHD_PID" 2>/dev/null
    fi
    wait "$BERTHD_PID" 2>/dev/null
  fi
  berth_kill_leftovers
  berth_remove_bridge
  local rc=0
  # a sanitizer build (-Db_sanitize=address,undefined) reports into the log: that is a failure
  if grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$BERTH_DIR/berthd.log" 2>/dev/null; then
    echo "berthd's log has sanitizer reports:" >&2
    grep -E -A30 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$BERTH_DIR/berthd.log" | head -n 120 >&2
    rc=1
  elif [ -f "$BERTH_DIR/failed" ]; then
    berth_show_log 200 | sed 's/^/# /' >&3 2>/dev/null || berth_show_log 200 >&2
  fi
  berth_unmount_under "$BERTH_DIR"
  rm -rf "$BERTH_DIR"
  unset BERTH_DIR BERTHD_PID
  return $rc
}

# berth_remove_bridge: the default bridge this daemon used (named in its log) and its nftables
# tables: a daemon leaves them for the next start, like docker0, but a test's are its own, and
# left over they would use up the pool of free subnets that later test daemons pick from
berth_remove_bridge() {
  local br
  br=$(grep -o 'Bridge "[^"]*" [0-9]' "$BERTH_DIR/berthd.log" 2>/dev/null | tail -n 1 | cut -d'"' -f2)
  [ -n "$br" ] || return 0
  ip link del "$br" 2>/dev/null
  if command -v nft >/dev/null; then
    nft delete table ip "berth_${br//-/_}" 2>/dev/null
    nft delete table bridge "berth_${br//-/_}" 2>/dev/null
  fi
  return 0
}

# berth_kill_leftovers: shims and container inits this daemon started, then their cgroups
berth_kill_leftovers() {
  local f pid id
  for f in "$BERTH_DIR"/run/shims/*/shim.pid "$BERTH_DIR"/run/shims/*/init.pid; do
    [ -f "$f" ] || continue
    pid=$(cat "$f" 2>/dev/null)
    [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
  done
  for f in "$BERTH_DIR"/run/shims/* "$BERTH_DIR"/data/containers/*; do
    [ -d "$f" ] || continue
    id=${f##*/}
    [ ${#id} -ge 12 ] || continue
    find /sys/fs/cgroup -depth -type d -name "*$id*" -exec rmdir {} \; 2>/dev/null
  done
  return 0
}

# berth_unmount_under DIR: lazily unmount every mount point below DIR, deepest first
berth_unmount_under() {
  local m
  awk -v d="$1/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r m; do
    umount -l "$(printf '%b' "$m")" 2>/dev/null
  done
  return 0
}

# berth_show_log [LINES]: the tail of the private daemon's log
berth_show_log() {
  echo "---- berthd log ($BERTH_DIR/berthd.log, last ${1:-80} lines) ----"
  tail -n "${1:-80}" "$BERTH_DIR/berthd.log" 2>/dev/null
  echo "---- end of berthd log ----"
}

# berth_teardown: per-test teardown; on failure print the daemon log with the test's output
berth_teardown() {
  if [ -z "${BATS_TEST_COMPLETED:-}" ] && [ -n "${BERTH_DIR:-}" ]; then
    touch "$BERTH_DIR/failed"
    berth_show_log 60 >&2
  fi
  return 0
}

# berth_rootfs_tar: path of the busybox fixture tarball, made once per bats run
berth_rootfs_tar() {
  local dir=${BATS_RUN_TMPDIR:-${BERTH_DIR:?}} t
  t="$dir/busybox-rootfs.tar"
  if [ ! -s "$t" ]; then
    "$BERTH_ROOTFS_SCRIPT" "$t.$$" >&2 && mv "$t.$$" "$t" || return 1
  fi
  echo "$t"
}

# berth_import_busybox [REF]: import the fixture into the private daemon (default busybox:latest)
berth_import_busybox() {
  local t
  t=$(berth_rootfs_tar) || return 1
  $BERTH import "$t" "${1:-busybox:latest}" >/dev/null
}

# api METHOD PATH [CURL_ARGS...]: raw Engine API request; prints the body then a line "HTTP NNN"
api() {
  local method=$1 path=$2
  shift 2
  curl -sS --max-time 30 --unix-socket "$BERTH_SOCK" -X "$method" -w '\nHTTP %{http_code}\n' \
    "$@" "http://localhost$path"
}

# ---------------------------------------------------------------- assertions

fail() { echo "FAIL: $*" >&2; return 1; }
assert_status() {
  [ "$status" -eq "$1" ] || fail "exit status $status, expected $1; output:"$'\n'"$output"
}
assert_eq() { [ "$1" = "$2" ] || fail "${3:-value}: expected '$2', got '$1'"; }
assert_match() { [[ $1 =~ $2 ]] || fail "${3:-value}: '$1' does not match /$2/"; }
assert_has() {
  case "$1" in *"$2"*) return 0 ;; esac
  fail "expected to find '$2' in:"$'\n'"$1"
}
assert_not_has() {
  case "$1" in *"$2"*) fail "did not expect '$2' in:"$'\n'"$1" ;; esac
  return 0
}
# assert_line TEXT LINE: one line of TEXT is exactly LINE
assert_line() { printf '%s\n' "$1" | grep -Fxq -- "$2" || fail "no line '$2' in:"$'\n'"$1"; }
assert_line_re() { printf '%s\n' "$1" | grep -Eq -- "$2" || fail "no line matching /$2/ in:"$'\n'"$1"; }

# wait_until SECONDS CMD...: run CMD every 0.1 s until it succeeds
wait_until() {
  local t=$1
  shift
  local end=$((SECONDS + t))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $end ] || { echo "timed out after ${t}s waiting for: $*" >&2; return 1; }
    sleep 0.1
  done
}

# ijson OBJECT PATH: one field of `berth inspect OBJECT`, PATH like State.Pid or Config.Env.0
ijson() {
  $BERTH inspect "$1" | python3 -c '
import json, sys
v = json.load(sys.stdin)
if isinstance(v, list):
    v = v[0]
for k in [p for p in sys.argv[1].split(".") if p]:
    if isinstance(v, list):
        v = v[int(k)]
    elif isinstance(v, dict) and k in v:
        v = v[k]
    else:
        print("<missing %s>" % k)
        sys.exit(0)
if isinstance(v, bool):
    print("true" if v else "false")
elif v is None:
    print("null")
elif isinstance(v, (str, int, float)):
    print(v)
else:
    print(json.dumps(v, sort_keys=True, separators=(",", ":")))
' "$2"
}
is_running() { [ "$(ijson "$1" State.Running)" = true ]; }
is_stopped() { [ "$(ijson "$1" State.Running)" = false ]; }
