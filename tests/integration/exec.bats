#!/usr/bin/env bats
# exec.bats: exec (output, status, stdin, tty, -d -u -w -e, Docker's errors and exit codes),
# resize, pause/unpause and top, through the `berth` CLI and the API against a private berthd.
load helpers
bats_require_minimum_version 1.5.0

setup_file() {
  berth_start_daemon
  berth_import_busybox busybox:latest
}
teardown_file() { berth_stop_daemon; }

teardown() {
  berth_teardown
  local ids
  ids=$($BERTH ps -aq --no-trunc 2>/dev/null)
  [ -z "$ids" ] || $BERTH rm -f $ids >/dev/null 2>&1
  return 0
}

# on_pty CMD...: run CMD with a terminal as its stdin/stdout (python's pty), its exit status kept
on_pty() {
  python3 -c 'import os, pty, sys; sys.exit(os.waitstatus_to_exitcode(pty.spawn(sys.argv[1:])))' "$@" </dev/null
}

# pty_detach CMD...: run CMD on a terminal, wait for a shell prompt, type a marker command, then
# Ctrl-P Ctrl-Q; succeeds when CMD then exits by itself within 10 s
pty_detach() {
  python3 - "$@" <<'PY'
import os, pty, select, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
def read_until(pat, t):
    buf, end = b"", time.time() + t
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                buf += os.read(fd, 4096)
            except OSError:
                return buf
            if pat and pat in buf:
                return buf
    return buf
read_until(b"# ", 10)
os.write(fd, b"touch /tmp/detach-marker\r")
time.sleep(0.5)
os.write(fd, b"\x10\x11")
end = time.time() + 10
while time.time() < end:
    read_until(None, 0.2)
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        sys.exit(0)
os.kill(pid, 9)
sys.exit(1)
PY
}

sleeper() { $BERTH run -d --name "$1" busybox sleep 600 >/dev/null; }

# ---------------------------------------------------------------- exec

@test "exec prints the command's output and exits with its status" {
  sleeper ex1
  run $BERTH exec ex1 echo hello from exec
  assert_status 0
  assert_eq "$output" "hello from exec"
  run $BERTH exec ex1 sh -c 'echo out; echo err >&2; exit 7'
  assert_status 7
  assert_line "$output" out
  assert_line "$output" err
  # stdout and stderr stay apart
  assert_eq "$($BERTH exec ex1 sh -c 'echo out; echo err >&2' 2>/dev/null)" out
  # the exec'd process is in the container's pid namespace
  assert_eq "$($BERTH exec ex1 cat /proc/1/cmdline | tr '\0' ' ')" "sleep 600 "
}

@test "exec -i passes stdin and ends it at EOF" {
  sleeper ex2
  run bash -c "printf 'line one\nline two\n' | $BERTH exec -i ex2 sh -c 'cat > /tmp/in; wc -l < /tmp/in'"
  assert_status 0
  assert_eq "$(echo $output)" 2
  assert_eq "$($BERTH exec ex2 cat /tmp/in)" "line one
line two"
  # without -i the process's stdin is empty
  run bash -c "echo ignored | $BERTH exec ex2 cat"
  assert_status 0
  assert_eq "$output" ""
}

@test "exec -t gives the process a terminal; without -t it has none" {
  sleeper ex3
  run on_pty $BERTH exec -t ex3 sh -c 'tty; echo TERM=$TERM'
  assert_status 0
  assert_line_re "$output" '^/dev/pts/[0-9]+'
  assert_has "$output" "TERM=xterm"
  run $BERTH exec ex3 sh -c 'tty || true'
  assert_has "$output" "not a tty"
  run on_pty $BERTH exec -i -t ex3 sh -c 'exit 3'
  assert_status 3
}

@test "exec -d runs in the background; -u, -w and -e set user, directory and environment" {
  sleeper ex4
  run $BERTH exec -d ex4 sh -c 'sleep 0.3; echo done > /tmp/bg'
  assert_status 0
  assert_eq "$output" ""
  wait_until 10 $BERTH exec ex4 test -f /tmp/bg
  assert_eq "$($BERTH exec -u nobody ex4 id -u)" 65534
  assert_eq "$($BERTH exec -u 1234:5678 ex4 id -u):$($BERTH exec -u 1234:5678 ex4 id -g)" "1234:5678"
  run $BERTH exec -u nosuchuser ex4 true
  [ "$status" -ne 0 ] || fail "an unknown user was accepted"
  assert_has "$output" "unable to find user nosuchuser"
  assert_eq "$($BERTH exec -w /tmp ex4 pwd)" /tmp
  # --privileged: every capability of the daemon's bounding set (the default set is Docker's)
  assert_eq "$($BERTH exec ex4 grep CapEff /proc/self/status)" "CapEff:	00000000a80425fb"
  assert_eq "$($BERTH exec --privileged ex4 grep CapEff /proc/self/status | cut -f2)" "$(grep CapBnd /proc/self/status | cut -f2)"
  assert_eq "$($BERTH exec -e FOO=bar -e PATH=/bin:/usr/bin ex4 sh -c 'echo $FOO $PATH')" "bar /bin:/usr/bin"
}

@test "exec of a missing command exits 127 with the runtime's message; a non-executable 126" {
  sleeper ex5
  run -127 $BERTH exec ex5 no-such-command
  assert_has "$output" "executable file not found"
  $BERTH exec ex5 sh -c 'echo x > /tmp/noexec; chmod 644 /tmp/noexec'
  run -126 $BERTH exec ex5 /tmp/noexec
  is_running ex5 || fail "a failed exec stopped the container"
}

@test "exec into a stopped or unknown container gets Docker's answers" {
  $BERTH create --name ex6 busybox true >/dev/null
  id=$(ijson ex6 Id)
  run $BERTH exec ex6 true
  [ "$status" -ne 0 ] || fail "exec into a created container succeeded"
  assert_has "$output" "Container $id is not running"
  run api POST /containers/ex6/exec -H 'Content-Type: application/json' -d '{"Cmd":["true"]}'
  assert_line "$output" "HTTP 409"
  run api POST /containers/no-such-ctr/exec -H 'Content-Type: application/json' -d '{"Cmd":["true"]}'
  assert_line "$output" "HTTP 404"
  run api GET /exec/0123456789abcdef/json
  assert_line "$output" "HTTP 404"
  assert_has "$output" "No such exec instance"
}

@test "exec instances: inspect, ExecIDs while running, start only once" {
  sleeper ex7
  eid=$(api POST /containers/ex7/exec -H 'Content-Type: application/json' \
    -d '{"Cmd":["sh","-c","sleep 1; exit 4"],"AttachStdout":true}' | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["Id"])')
  assert_match "$eid" '^[0-9a-f]{64}$'
  run api GET "/exec/$eid/json"
  assert_has "$output" '"Running":false'
  assert_has "$output" '"ExitCode":null'
  assert_has "$output" '"entrypoint":"sh"'
  run api POST "/exec/$eid/start" -H 'Content-Type: application/json' -d '{"Detach":true}'
  assert_line "$output" "HTTP 200"
  run api GET "/exec/$eid/json"
  assert_has "$output" '"Running":true'
  assert_match "$(ijson ex7 ExecIDs.0)" "$eid"
  run api POST "/exec/$eid/start" -H 'Content-Type: application/json' -d '{"Detach":true}'
  assert_line "$output" "HTTP 409"
  wait_until 10 sh -c "curl -s --unix-socket $BERTH_SOCK http://localhost/exec/$eid/json | grep -q '\"Running\":false'"
  run api GET "/exec/$eid/json"
  assert_has "$output" '"ExitCode":4'
  assert_eq "$(ijson ex7 ExecIDs)" null
}

@test "exec -it detaches with Ctrl-P Ctrl-Q and the process goes on" {
  sleeper ex8
  run pty_detach $BERTH exec -it ex8 sh
  assert_status 0
  wait_until 5 $BERTH exec ex8 test -f /tmp/detach-marker
  assert_has "$($BERTH top ex8)" " sh"
  if command -v docker >/dev/null; then # the daemon's own detection (docker's CLI leaves it to the daemon)
    $BERTH exec ex8 rm /tmp/detach-marker
    run pty_detach docker -H "unix://$BERTH_SOCK" exec -it ex8 sh
    assert_status 0
    wait_until 5 $BERTH exec ex8 test -f /tmp/detach-marker
  fi
  run api POST /containers/ex8/exec -H 'Content-Type: application/json' -d '{"Cmd":["sh"],"DetachKeys":"ctrl-9"}'
  assert_line "$output" "HTTP 400"
  assert_has "$output" "Invalid escape keys (ctrl-9) provided"
}

@test "attach detaches on the keys the client names (detachKeys); the container goes on" {
  $BERTH run -d -it --name at1 busybox sh >/dev/null
  timeout 20 python3 - "$BERTH_SOCK" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"POST /containers/at1/attach?stream=1&stdin=1&stdout=1&detachKeys=ctrl-x,x HTTP/1.1\r\n"
          b"Host: berth\r\nUpgrade: tcp\r\nConnection: Upgrade\r\n\r\n")
head = b""
while b"\r\n\r\n" not in head:
    head += s.recv(4096)
assert head.startswith(b"HTTP/1.1 101"), head
s.sendall(b"touch /tmp/m2\r")
time.sleep(0.5)
s.sendall(b"\x18x")  # ctrl-x then x: the daemon ends the stream
while s.recv(4096):
    pass
PY
  wait_until 5 $BERTH exec at1 test -f /tmp/m2
  assert_eq "$(ijson at1 State.Running)" true
  run $BERTH events --since 1m --until 0s --filter container=at1 --format '{{.Action}}'
  assert_line "$output" detach
  run api POST "/containers/at1/attach?stream=1&stdin=1&detachKeys=ctrl-99"
  assert_line "$output" "HTTP 400"
  assert_has "$output" "Invalid detach keys (ctrl-99) provided"
}

# ---------------------------------------------------------------- resize

@test "resize sets the terminal size of a container and of an exec" {
  $BERTH run -d -t --name rs1 busybox sh -c 'while true; do stty size; sleep 0.1; done' >/dev/null
  run api POST "/containers/rs1/resize?h=33&w=77"
  assert_line "$output" "HTTP 200"
  wait_until 10 sh -c "$BERTH logs rs1 | grep -q '^33 77'"
  run api POST "/containers/rs1/resize?h=x&w=77"
  assert_line "$output" "HTTP 400"
  eid=$(api POST /containers/rs1/exec -H 'Content-Type: application/json' \
    -d '{"Cmd":["sh","-c","for i in $(seq 50); do stty size > /tmp/sz; sleep 0.1; done"],"Tty":true}' |
    python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["Id"])')
  api POST "/exec/$eid/start" -H 'Content-Type: application/json' -d '{"Detach":true,"Tty":true}' >/dev/null
  run api POST "/exec/$eid/resize?h=21&w=55"
  assert_line "$output" "HTTP 201"
  wait_until 10 sh -c "[ \"\$($BERTH exec rs1 cat /tmp/sz)\" = '21 55' ]"
  # API 1.42's ConsoleSize: the terminal has its size from the start
  eid=$(api POST /containers/rs1/exec -H 'Content-Type: application/json' \
    -d '{"Cmd":["sh","-c","stty size > /tmp/cs"],"Tty":true}' |
    python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["Id"])')
  api POST "/exec/$eid/start" -H 'Content-Type: application/json' -d '{"Detach":true,"Tty":true,"ConsoleSize":[12,34]}' >/dev/null
  wait_until 10 sh -c "[ \"\$($BERTH exec rs1 cat /tmp/cs)\" = '12 34' ]"
}

# ---------------------------------------------------------------- pause / unpause

@test "pause freezes the container (no progress, ps says Paused); unpause resumes it" {
  $BERTH run -d --name pz1 busybox sh -c 'i=0; while true; do i=$((i+1)); echo $i; sleep 0.05; done' >/dev/null
  wait_until 10 sh -c "[ \$($BERTH logs pz1 | wc -l) -gt 2 ]"
  run $BERTH pause pz1
  assert_status 0
  assert_eq "$output" pz1
  assert_eq "$(ijson pz1 State.Status)" paused
  assert_eq "$(ijson pz1 State.Paused)" true
  assert_eq "$(ijson pz1 State.Running)" true
  assert_match "$($BERTH ps --filter name=pz1 --format '{{.Status}}')" '^Up .* \(Paused\)$'
  a=$($BERTH logs pz1 | wc -l)
  sleep 1
  b=$($BERTH logs pz1 | wc -l)
  assert_eq "$b" "$a" "log lines while paused"
  run $BERTH pause pz1
  [ "$status" -ne 0 ] || fail "pausing a paused container succeeded"
  assert_has "$output" "is already paused"
  run $BERTH exec pz1 true
  [ "$status" -ne 0 ] || fail "exec into a paused container succeeded"
  assert_has "$output" "is paused, unpause the container before exec"
  run api POST "/containers/pz1/attach?stream=1&stdout=1"
  assert_line "$output" "HTTP 409"
  run $BERTH unpause pz1
  assert_status 0
  assert_eq "$(ijson pz1 State.Status)" running
  wait_until 10 sh -c "[ \$($BERTH logs pz1 | wc -l) -gt $b ]"
  run $BERTH unpause pz1
  [ "$status" -ne 0 ] || fail "unpausing a running container succeeded"
  assert_has "$output" "is not paused"
}

@test "stop and kill of a paused container work" {
  sleeper pz2
  $BERTH pause pz2
  run timeout 20 $BERTH stop -t 1 pz2
  assert_status 0
  assert_eq "$(ijson pz2 State.Status)" exited
  sleeper pz3
  $BERTH pause pz3
  run timeout 20 $BERTH kill pz3
  assert_status 0
  wait_until 10 is_stopped pz3
  assert_eq "$(ijson pz3 State.ExitCode)" 137
  sleeper pz5
  $BERTH pause pz5
  run timeout 20 $BERTH rm -f pz5
  assert_status 0
  run $BERTH inspect pz5
  [ "$status" -ne 0 ] || fail "rm -f left the paused container"
  # the runtime's delete --force of a frozen container thaws it, so that SIGKILL acts
  sleeper pz6
  $BERTH pause pz6
  run timeout 8 "$BUILD_DIR/src/runtime/berth-runtime" --root "$BERTH_DIR/run/runtime" delete --force "$(ijson pz6 Id)"
  assert_status 0
  wait_until 10 is_stopped pz6
  $BERTH create --name pz4 busybox true >/dev/null
  run $BERTH pause pz4
  [ "$status" -ne 0 ] || fail "pausing a created container succeeded"
  assert_has "$output" "is not running"
}

# ---------------------------------------------------------------- top

@test "top lists the container's processes and takes ps options" {
  $BERTH run -d --name tp1 busybox sh -c 'sleep 600 & sleep 601' >/dev/null
  wait_until 10 sh -c "$BERTH top tp1 | grep -q 'sleep 601'"
  run $BERTH top tp1
  assert_status 0
  assert_match "$(printf '%s\n' "$output" | head -1)" '^UID +PID +PPID +C +STIME +TTY +TIME +CMD'
  assert_has "$output" "sleep 600"
  assert_has "$output" "sleep 601"
  # sh execs its last command: two processes, nothing of the host
  [ "$(printf '%s\n' "$output" | wc -l)" -eq 3 ] || fail "expected the header and 2 processes:"$'\n'"$output"
  run $BERTH top tp1 -o pid,comm
  assert_status 0
  assert_match "$(printf '%s\n' "$output" | head -1)" '^PID +COMMAND'
  assert_line_re "$output" '^[0-9]+ +sleep$'
  $BERTH stop -t 0 tp1 >/dev/null
  run $BERTH top tp1
  [ "$status" -ne 0 ] || fail "top of a stopped container succeeded"
  assert_has "$output" "is not running"
}
