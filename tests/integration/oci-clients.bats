#!/usr/bin/env bats
# oci-clients.bats - berth-runtime driven by other engines (containerd's ctr, podman) and berthd
# driving another OCI runtime (--add-runtime runc=...). Needs root; each test skips, saying why,
# when its client is not installed. Private containerd and podman state live under /tmp.

load helpers

RUNTIME="$BUILD_DIR/src/runtime/berth-runtime"

setup_file() {
  [ "$(id -u)" -eq 0 ] || skip "these tests need root"
  [ -x "$RUNTIME" ] || { echo "berth-runtime not built: $RUNTIME" >&2; return 1; }
  RUNC=$(command -v runc || true)
  export RUNC
  berth_start_daemon ${RUNC:+--add-runtime "runc=$RUNC"}
  berth_import_busybox
  # the image as a docker archive: what `ctr image import` and `podman load` read
  export IMAGE_TAR="$BATS_FILE_TMPDIR/busybox.tar"
  $BERTH save busybox:latest -o "$IMAGE_TAR"
}

teardown_file() { berth_stop_daemon; }

teardown() {
  berth_teardown
  local f
  if [ -n "${CTD_DIR:-}" ]; then
    # shims and inits containerd left (a failed test): by their pid files, never by name
    for f in "$CTD_DIR"/state/io.containerd.runtime.v2.task/*/*/{init,shim}.pid; do
      [ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null
    done
    [ -n "${CTD_PID:-}" ] && kill "$CTD_PID" 2>/dev/null && wait "$CTD_PID" 2>/dev/null
    berth_unmount_under "$CTD_DIR"
    rm -rf "$CTD_DIR"
    rmdir /sys/fs/cgroup/*/"$CTD_NS"/* /sys/fs/cgroup/*/"$CTD_NS" 2>/dev/null
  fi
  if [ -n "${PM_DIR:-}" ]; then
    timeout 60 "${PODMAN[@]}" rm -af -t 0 >/dev/null 2>&1
    berth_unmount_under "$PM_DIR"
    rm -rf "$PM_DIR"
    rmdir /sys/fs/cgroup/*/"$PM_CG"/* /sys/fs/cgroup/*/"$PM_CG" 2>/dev/null
  fi
  return 0
}

@test "containerd: ctr run --runc-binary berth-runtime" {
  command -v containerd >/dev/null && command -v ctr >/dev/null || skip "containerd or ctr is not installed"
  command -v containerd-shim-runc-v2 >/dev/null || skip "containerd-shim-runc-v2 is not installed"
  CTD_DIR=$(mktemp -d /tmp/ctd.XXXXXX) # short: sockets live here
  CTD_NS="berth-test-$$"               # its cgroups: /sys/fs/cgroup/*/NS/ID
  cat >"$CTD_DIR/config.toml" <<EOF
version = 2
root = "$CTD_DIR/root"
state = "$CTD_DIR/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$CTD_DIR/c.sock"
[ttrpc]
  address = "$CTD_DIR/c.sock.ttrpc"
EOF
  containerd --config "$CTD_DIR/config.toml" >"$CTD_DIR/log" 2>&1 3>&- &
  CTD_PID=$!
  ctr=(ctr --address "$CTD_DIR/c.sock" -n "$CTD_NS")
  for _ in $(seq 100); do "${ctr[@]}" version >/dev/null 2>&1 && break; sleep 0.1; done
  "${ctr[@]}" image import "$IMAGE_TAR"
  run timeout 60 "${ctr[@]}" run --rm --runc-binary "$RUNTIME" docker.io/library/busybox:latest t1 echo hi
  [ "$status" -eq 0 ] || { cat "$CTD_DIR/log"; false; }
  [ "$output" = hi ]
  # a detached task: exec, pause and resume, kill, delete
  "${ctr[@]}" run -d --runc-binary "$RUNTIME" docker.io/library/busybox:latest t2 sleep 300
  run timeout 30 "${ctr[@]}" task exec --exec-id e1 t2 sh -c 'echo exec $$'
  [ "$output" = "exec 2" ]
  "${ctr[@]}" task pause t2
  [[ "$("${ctr[@]}" task ls)" == *PAUSED* ]]
  "${ctr[@]}" task resume t2
  "${ctr[@]}" task kill -s KILL t2
  for _ in $(seq 50); do [[ "$("${ctr[@]}" task ls)" == *STOPPED* ]] && break; sleep 0.1; done
  "${ctr[@]}" task rm t2
  "${ctr[@]}" container rm t2
}

@test "podman: run --rm with --runtime berth-runtime" {
  command -v podman >/dev/null || skip "podman is not installed"
  PM_DIR=$(mktemp -d /tmp/pm.XXXXXX)
  PM_CG="berth-podman-$$"
  PODMAN=(podman --root "$PM_DIR/root" --runroot "$PM_DIR/run" --tmpdir "$PM_DIR/tmp" --cgroup-manager cgroupfs
          --events-backend file --runtime "$RUNTIME")
  timeout 120 "${PODMAN[@]}" load -i "$IMAGE_TAR"
  # podman asks for RLIMIT_NOFILE 1048576 and RLIMIT_NPROC 32768; where the hard limits are lower
  # and root lacks CAP_SYS_RESOURCE (as on the CI host; runc fails there too) they are given
  local n
  n=$(ulimit -Hn)
  run timeout 120 "${PODMAN[@]}" run --rm --network none --cgroup-parent "/$PM_CG" \
    --ulimit "nofile=$n:$n" --ulimit nproc=4096:4096 docker.io/library/busybox:latest echo hi
  [ "$status" -eq 0 ]
  [ "$output" = hi ]
  "${PODMAN[@]}" run -d --name p1 --network none --cgroup-parent "/$PM_CG" --ulimit "nofile=$n:$n" \
    --ulimit nproc=4096:4096 docker.io/library/busybox:latest sleep 300
  run timeout 30 "${PODMAN[@]}" exec p1 sh -c 'echo exec $$'
  [ "$output" = "exec 2" ]
  run timeout 30 "${PODMAN[@]}" exec -t p1 echo tty
  [ "$output" = "$(printf 'tty\r')" ]
  timeout 30 "${PODMAN[@]}" rm -f -t 0 p1
}

@test "berthd --add-runtime: run --runtime runc; unknown runtime names are refused" {
  [ -n "$RUNC" ] || skip "runc is not installed"
  run $BERTH run --rm --runtime runc busybox echo hi
  [ "$status" -eq 0 ]
  [ "$output" = hi ]
  cid=$($BERTH run -d --runtime runc busybox sleep 300)
  [ "$(ijson "$cid" HostConfig.Runtime)" = runc ]
  # runc's own state file (berth-runtime's has no init_process_pid)
  grep -q init_process_pid "$BERTH_DIR/run/runtime/$cid/state.json"
  $BERTH rm -f "$cid"
  cid=$($BERTH create busybox true)
  [ "$(ijson "$cid" HostConfig.Runtime)" = berth-runtime ]
  run api POST /containers/create -H 'Content-Type: application/json' \
    -d '{"Image":"busybox","Cmd":["true"],"HostConfig":{"Runtime":"nosuch"}}'
  assert_line "$output" "HTTP 400"
  [[ "$output" == *'unknown or invalid runtime name: nosuch'* ]]
  run "$BERTHD_BIN" --add-runtime bad --data-root "$BATS_TEST_TMPDIR/d" --exec-root "$BATS_TEST_TMPDIR/e"
  [ "$status" -ne 0 ]
  [[ "$output" == *'--add-runtime "bad": want NAME=PATH'* ]]
}
