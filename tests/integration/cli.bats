#!/usr/bin/env bats
# cli.bats: end to end through the `berth` CLI against a private berthd (issue 2's commands).
load helpers

setup_file() {
  berth_start_daemon
  berth_import_busybox busybox:latest
}
teardown_file() { berth_stop_daemon; }

# every test starts with no containers: remove what the previous one left
teardown() {
  berth_teardown
  local ids
  ids=$($BERTH ps -aq --no-trunc 2>/dev/null)
  [ -z "$ids" ] || $BERTH rm -f $ids >/dev/null 2>&1
  return 0
}

hex64='^[0-9a-f]{64}$'

# ---------------------------------------------------------------- system

@test "version prints Client and Server sections" {
  run $BERTH version
  assert_status 0
  assert_line "$output" "Client:"
  assert_line_re "$output" '^Server:'
  # docker's server section nests them under " Engine:", so they are indented one more
  [ "$(printf '%s\n' "$output" | grep -Ec '^ +Version: +[0-9]')" -ge 2 ] || fail "two 'Version:' lines expected:"$'\n'"$output"
  [ "$(printf '%s\n' "$output" | grep -Ec '^ +API version: +1\.[0-9]+')" -ge 2 ] || fail "two 'API version:' lines expected"
  [ "$(printf '%s\n' "$output" | grep -Ec '^ +OS/Arch: +linux/')" -ge 2 ] || fail "two 'OS/Arch:' lines expected"
}

@test "info shows docker's fields and this daemon's root dir" {
  run $BERTH info
  assert_status 0
  assert_line "$output" "Server:"
  assert_line "$output" " Containers: 0"
  assert_line "$output" "  Running: 0"
  assert_line "$output" "  Paused: 0"
  assert_line "$output" "  Stopped: 0"
  assert_line_re "$output" '^ Images: [1-9][0-9]*$'
  assert_line_re "$output" '^ Server Version: [0-9]+\.[0-9]+\.[0-9]+'
  assert_line_re "$output" '^ Storage Driver: (overlay2?|vfs)$'
  assert_line "$output" " Logging Driver: json-file"
  assert_line_re "$output" '^ Kernel Version: '
  assert_line "$output" " OSType: linux"
  assert_line_re "$output" "^ Architecture: $(uname -m)$"
  assert_line_re "$output" "^ CPUs: $(nproc)$"
  assert_line_re "$output" '^ Total Memory: [0-9.]+[KMGT]iB$'
  assert_line "$output" " Name: $(hostname)"
  assert_line "$output" " Docker Root Dir: $BERTH_DIR/data"
}

@test "a daemon that is not there: 'Cannot connect', exit 1" {
  run "$BERTH_BIN" -H "unix://$BERTH_DIR/no-such.sock" ps
  assert_status 1
  assert_has "$output" "Cannot connect to the berth daemon at unix://$BERTH_DIR/no-such.sock"
}

# ---------------------------------------------------------------- images

@test "import FILE REPO:TAG prints the new image id; images lists it" {
  run $BERTH import "$(berth_rootfs_tar)" cli-test/file:v1
  assert_status 0
  assert_match "$output" '^sha256:[0-9a-f]{64}$' "import output"
  id=${output#sha256:}
  run $BERTH images
  assert_status 0
  assert_line_re "$output" "^cli-test/file +v1 +${id:0:12} +.+ +[0-9.]+[kMG]?B$"
}

@test "import - REPO:TAG reads the tarball from stdin" {
  run bash -c "$BERTH import - cli-test/stdin:v2 <'$(berth_rootfs_tar)'"
  assert_status 0
  assert_match "$output" '^sha256:[0-9a-f]{64}$' "import output"
  run $BERTH run --rm cli-test/stdin:v2 echo imported-from-stdin
  assert_status 0
  assert_eq "$output" imported-from-stdin
}

@test "images: docker's columns, -q prints short ids" {
  run $BERTH images
  assert_status 0
  assert_match "${lines[0]}" '^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE$' "header"
  assert_line_re "$output" '^busybox +latest +[0-9a-f]{12} +.+ago +[0-9.]+[kMG]?B$'
  run $BERTH images -q
  assert_status 0
  assert_match "${lines[0]}" '^[0-9a-f]{12}$' "images -q"
}

# ---------------------------------------------------------------- create, start, run

@test "create prints the id, start prints its argument, wait and logs follow" {
  run $BERTH create --name cli-created busybox echo created-then-started
  assert_status 0
  assert_match "$output" "$hex64" "create output"
  id=$output
  assert_eq "$(ijson cli-created State.Status)" created "State.Status after create"
  run $BERTH ps -a
  assert_line_re "$output" "^${id:0:12} +busybox +\"echo created-then-s…\" +.+ +Created +cli-created$"
  run $BERTH start cli-created
  assert_status 0
  assert_eq "$output" cli-created "start output"
  run $BERTH wait cli-created
  assert_status 0
  assert_eq "$output" 0 "wait output"
  run $BERTH logs cli-created
  assert_status 0
  assert_eq "$output" created-then-started "logs"
}

@test "run prints the container's output and exits with its status" {
  run $BERTH run --rm busybox sh -c 'echo to-stdout; echo to-stderr >&2; exit 7'
  assert_status 7
  assert_line "$output" to-stdout
  assert_line "$output" to-stderr
  # stdout and stderr stay apart
  out=$($BERTH run --rm busybox sh -c 'echo to-stdout; echo to-stderr >&2' 2>/dev/null)
  assert_eq "$out" to-stdout "stdout only"
  run $BERTH run --rm busybox true
  assert_status 0
  assert_eq "$output" "" "output of true"
}

@test "run -d prints the full id and leaves the container running" {
  run $BERTH run -d --name cli-bg busybox sleep 600
  assert_status 0
  assert_match "$output" "$hex64" "run -d output"
  id=$output
  assert_eq "$(ijson cli-bg Id)" "$id" "inspect Id"
  assert_eq "$(ijson "$id" State.Running)" true "State.Running"
  assert_eq "$(ijson "${id:0:12}" Name)" /cli-bg "found by short id"
}

@test "--name names the container" {
  $BERTH run --name cli-named busybox true
  run $BERTH inspect -f '{{.Name}}' cli-named
  assert_status 0
  assert_eq "$output" /cli-named
}

@test "-e sets environment variables, -w the working directory, -h the host name" {
  run $BERTH run --rm -e FOO=bar -e 'GREETING=hello world' busybox env
  assert_status 0
  assert_line "$output" FOO=bar
  assert_line "$output" "GREETING=hello world"
  assert_line_re "$output" '^PATH=.*/bin'
  FROM_HOST=passed-through run $BERTH run --rm -e FROM_HOST busybox env
  assert_line "$output" FROM_HOST=passed-through
  run $BERTH run --rm -w /tmp busybox pwd
  assert_status 0
  assert_eq "$output" /tmp "pwd with -w"
  run $BERTH run --rm --workdir /new/dir busybox pwd
  assert_status 0
  assert_eq "$output" /new/dir "-w creates a missing directory"
  run $BERTH run --rm -h db01 busybox hostname
  assert_status 0
  assert_eq "$output" db01 "hostname with -h"
}

@test "without -h the host name is the short id" {
  id=$($BERTH create busybox hostname)
  $BERTH start "$id" >/dev/null
  $BERTH wait "$id" >/dev/null
  run $BERTH logs "$id"
  assert_eq "$output" "${id:0:12}" "hostname"
}

@test "--rm removes the container when it exits" {
  run $BERTH run --rm --name cli-rm busybox sh -c 'echo changed >/changed; cat /changed'
  assert_status 0
  assert_eq "$output" changed
  run $BERTH inspect cli-rm
  assert_status 1
  run $BERTH ps -a
  assert_not_has "$output" cli-rm
  run $BERTH run --rm busybox ls /changed
  [ "$status" -ne 0 ] || fail "a new container sees /changed"
}

# ---------------------------------------------------------------- ps, logs, wait, rm, inspect

@test "ps lists running containers in docker's columns, ps -a adds exited ones, -q ids" {
  up=$($BERTH run -d --name cli-up busybox sleep 600)
  $BERTH run --name cli-exited busybox sh -c 'exit 2' || true
  run $BERTH ps
  assert_status 0
  assert_match "${lines[0]}" '^CONTAINER ID +IMAGE +COMMAND +CREATED +STATUS +PORTS +NAMES$' "ps header"
  assert_line_re "$output" "^${up:0:12} +busybox +\"sleep 600\" +.+ ago +Up .+ +cli-up$"
  assert_not_has "$output" cli-exited
  run $BERTH ps -a
  assert_status 0
  assert_line_re "$output" ' Exited \(2\) .+ ago +cli-exited$'
  assert_line_re "$output" ' cli-up$'
  run $BERTH ps -q
  assert_status 0
  assert_eq "$output" "${up:0:12}" "ps -q"
  run $BERTH ps -aq
  assert_eq "${#lines[@]}" 2 "ps -aq lines"
}

@test "logs shows stdout and stderr of an exited container on the matching streams" {
  id=$($BERTH run -d busybox sh -c 'echo one; echo two >&2; echo three')
  $BERTH wait "$id" >/dev/null
  run $BERTH logs "$id"
  assert_status 0
  assert_line "$output" one
  assert_line "$output" two
  assert_line "$output" three
  out=$($BERTH logs "$id" 2>/dev/null)
  assert_eq "$out" "one"$'\n'"three" "stdout of logs"
  err=$($BERTH logs "$id" 2>&1 >/dev/null)
  assert_eq "$err" two "stderr of logs"
}

@test "wait prints the exit code" {
  id=$($BERTH run -d busybox sh -c 'sleep 0.2; exit 5')
  run $BERTH wait "$id"
  assert_status 0
  assert_eq "$output" 5
  assert_eq "$(ijson "$id" State.ExitCode)" 5 "State.ExitCode"
  assert_eq "$(ijson "$id" State.Status)" exited "State.Status"
}

@test "rm refuses a running container, rm -f removes it; both print their arguments" {
  $BERTH run -d --name cli-running busybox sleep 600 >/dev/null
  run $BERTH rm cli-running
  assert_status 1
  assert_has "$output" "Error response from daemon: You cannot remove a running container"
  run $BERTH rm -f cli-running
  assert_status 0
  assert_eq "$output" cli-running
  run $BERTH inspect cli-running
  assert_status 1
  $BERTH run --name cli-stopped busybox true
  run $BERTH rm cli-stopped
  assert_status 0
  assert_eq "$output" cli-stopped
  run $BERTH rm cli-stopped
  assert_status 1
  assert_has "$output" "No such container: cli-stopped"
}

@test "inspect prints a JSON array; -f '{{.State.Pid}}' is the container's process" {
  id=$($BERTH run -d --name cli-insp -e APP=demo busybox sleep 600)
  $BERTH inspect cli-insp >"$BATS_TEST_TMPDIR/inspect.json"
  python3 - "$BATS_TEST_TMPDIR/inspect.json" "$id" <<'PY'
import json, sys
arr = json.load(open(sys.argv[1]))
assert isinstance(arr, list) and len(arr) == 1, "inspect prints a JSON array"
c = arr[0]
assert c["Id"] == sys.argv[2], c["Id"]
assert c["Name"] == "/cli-insp", c["Name"]
assert c["Path"] == "sleep" and c["Args"] == ["600"], (c["Path"], c["Args"])
assert c["State"]["Status"] == "running" and c["State"]["Running"] is True, c["State"]
assert "APP=demo" in c["Config"]["Env"], c["Config"]["Env"]
assert c["Config"]["Image"] == "busybox", c["Config"]["Image"]
assert c["HostConfig"]["LogConfig"]["Type"] == "json-file", c["HostConfig"]
PY
  pid=$($BERTH inspect -f '{{.State.Pid}}' cli-insp)
  assert_match "$pid" '^[1-9][0-9]*$' "State.Pid"
  assert_eq "$(tr '\0' ' ' <"/proc/$pid/cmdline")" "sleep 600 " "cmdline of State.Pid"
  run $BERTH inspect no-such-thing
  assert_status 1
  assert_has "$output" "No such object: no-such-thing"
}

# ---------------------------------------------------------------- bad input

@test "run of an unknown image: 'Unable to find image', exit 125, no network" {
  run $BERTH run --rm no-such-image:latest true
  assert_status 125
  assert_has "$output" "Unable to find image 'no-such-image:latest' locally"
  run $BERTH create no-such-image:latest
  assert_status 125
}

@test "a duplicate name is refused with docker's Conflict message" {
  $BERTH create --name cli-dup busybox true >/dev/null
  run $BERTH run --name cli-dup busybox true
  assert_status 125
  assert_has "$output" 'Conflict. The container name "/cli-dup" is already in use by container'
}

@test "a malformed JSON body is a 400 with a JSON message" {
  run api POST /v1.41/containers/create -H 'Content-Type: application/json' --data-binary '{"Image": "busybox",'
  assert_line "$output" "HTTP 400"
  printf '%s\n' "$output" | head -n 1 | python3 -c 'import json, sys; assert json.load(sys.stdin)["message"]' ||
    fail "no JSON message: $output"
  run $BERTH ps -aq
  assert_eq "$output" "" "no container made"
}

# docker exits 1 here (cobra's argument check returns a plain error, not a StatusError with
# 125; checked with docker 28.2's client), and 125 for an unknown flag
@test "run with no image: docker's 'requires at least 1 argument', exit 1" {
  run $BERTH run
  assert_status 1
  assert_has "$output" '"berth run" requires at least 1 argument.'
  assert_has "$output" "See 'berth run --help'."
  run $BERTH run --no-such-flag busybox
  assert_status 125
  assert_has "$output" "unknown flag: --no-such-flag"
}

@test "the container's mounts are gone after it exits or is removed" {
  id=$($BERTH run -d busybox sleep 600)
  wait_until 10 is_running "$id"
  done_id=$($BERTH run -d busybox true)
  $BERTH wait "$done_id" >/dev/null
  ! grep -F "$done_id" /proc/self/mountinfo || fail "mounts of exited $done_id are left"
  $BERTH rm -f "$id" >/dev/null
  ! grep -F "$id" /proc/self/mountinfo || fail "mounts of removed $id are left"
  $BERTH rm "$done_id" >/dev/null
  ! grep -F "$done_id" /proc/self/mountinfo || fail "mounts of removed $done_id are left"
}
