#!/usr/bin/env bats
# lifecycle2.bats - the rest of issue 4 checked against Docker's answers: OOM kills, stats,
# wait conditions, rename, ps filters and flags, prune, signals, paused/stopped containers

load helpers

setup_file() {
  berth_start_daemon
  berth_import_busybox
}
teardown_file() { berth_stop_daemon; }
teardown() { berth_teardown; }

@test "an OOM kill is recorded: exit 137, State.OOMKilled, an oom event before die" {
  since=$(date +%s)
  # the first run is killed, the second one ends well
  run $BERTH run --name oom -m 8m busybox sh -c '[ -f /ran ] && exit 0; touch /ran; x=a; while true; do x=$x$x; done'
  assert_status 137
  assert_eq "$(ijson oom State.OOMKilled)" true
  assert_eq "$(ijson oom State.ExitCode)" 137
  run $BERTH events --since "$since" --until "$(($(date +%s) + 1))" --filter container=oom --format '{{.Action}}'
  assert_has "$output" "oom"$'\n'"die"
  $BERTH start -a oom
  assert_eq "$(ijson oom State.OOMKilled)" false "after a clean second run"
  $BERTH run --name nooom -m 8m busybox true
  assert_eq "$(ijson nooom State.OOMKilled)" false
}

@test "stats --no-stream: docker's columns; --format; one-shot API JSON has every section" {
  $BERTH run -d --name st busybox sleep 100
  run $BERTH stats --no-stream st
  assert_status 0
  assert_match "${lines[0]}" '^CONTAINER ID +NAME +CPU % +MEM USAGE / LIMIT +MEM % +NET I/O +BLOCK I/O +PIDS$'
  assert_match "${lines[1]}" '^[0-9a-f]{12} +st +[0-9.]+% +[0-9.]+[KMG]?i?B / [0-9.]+[KMGT]i?B +[0-9.]+% +[0-9.]+[kMG]?B / [0-9.]+[kMG]?B +[0-9.]+[kMG]?B / [0-9.]+[kMG]?B +1$'
  run $BERTH stats --no-stream --format '{{.Name}} {{.PIDs}}' st
  assert_eq "$output" "st 1"
  # a v1 container without a cpuacct cgroup of its own still shows its CPU use
  $BERTH run -d --name busy busybox sh -c 'while :; do :; done'
  run $BERTH stats --no-stream --format '{{.CPUPerc}}' busy
  assert_match "$output" '^[0-9.]+%$'
  [ "$output" != "0.00%" ] || fail "a busy loop shows $output CPU"
  $BERTH rm -f busy
  # stats -a: a stopped container has empty stats (moby), a paused one its numbers
  $BERTH create --name stc busybox true
  run $BERTH stats -a --no-stream --format '{{.Name}} {{.MemUsage}} {{.PIDs}}'
  assert_status 0
  assert_line "$output" "stc 0B / 0B 0"
  $BERTH pause st
  run $BERTH stats --no-stream --format '{{.Name}} {{.PIDs}}' st
  assert_eq "$output" "st 1"
  $BERTH unpause st
  api GET "/containers/st/stats?stream=false" >"$BATS_TEST_TMPDIR/s"
  python3 - "$BATS_TEST_TMPDIR/s" <<'EOF'
import json, sys
t = open(sys.argv[1]).read().rsplit("\nHTTP", 1)[0]
s = json.loads(t)
for k in ("read", "preread", "cpu_stats", "precpu_stats", "memory_stats", "blkio_stats", "pids_stats", "networks", "name", "id"):
    assert k in s, k
assert s["memory_stats"]["usage"] > 0 and s["memory_stats"]["limit"] > 0
assert s["pids_stats"]["current"] == 1
assert "cpu_usage" in s["cpu_stats"] and "total_usage" in s["cpu_stats"]["cpu_usage"]
assert "rx_bytes" in s["networks"]["eth0"] and "tx_bytes" in s["networks"]["eth0"]
EOF
}

@test "stats streams a sample a second until the client leaves" {
  $BERTH run -d --name sts busybox sleep 100
  n=$( (timeout 2.6 curl -sN --unix-socket "$BERTH_SOCK" "http://localhost/containers/sts/stats" || true) |
    grep -c '"cpu_stats"')
  [ "$n" -ge 2 ] || fail "only $n samples in 2.6 s"
  n=$( (timeout 2.6 $BERTH stats sts || true) | grep -c 'CONTAINER ID')
  [ "$n" -ge 2 ] || fail "the live table was drawn $n times in 2.6 s"
}

@test "wait: not-running, next-exit and removed conditions; a bad condition is a 400" {
  $BERTH create --name w1 busybox sh -c 'exit 3'
  run api POST "/containers/w1/wait?condition=not-running"
  assert_line_re "$output" '"StatusCode": ?0'
  ( api POST "/containers/w1/wait?condition=next-exit" >"$BATS_TEST_TMPDIR/next" ) &
  sleep 0.3
  $BERTH start w1
  wait
  assert_line_re "$(cat "$BATS_TEST_TMPDIR/next")" '"StatusCode": ?3'
  ( api POST "/containers/w1/wait?condition=removed" >"$BATS_TEST_TMPDIR/rm" ) &
  sleep 0.3
  $BERTH rm w1
  wait
  assert_has "$(cat "$BATS_TEST_TMPDIR/rm")" "HTTP 200"
  run api POST "/containers/nosuch/wait"
  assert_has "$output" "HTTP 404"
  $BERTH create --name w2 busybox true
  run api POST "/containers/w2/wait?condition=bogus"
  assert_has "$output" "HTTP 400"
}

@test "rename: the new name works, an event; Docker's errors" {
  $BERTH create --name rn1 busybox true
  $BERTH create --name rn2 busybox true
  $BERTH rename rn1 rn3
  assert_eq "$(ijson rn3 Name)" "/rn3"
  run $BERTH rename rn3 rn2
  [ "$status" -ne 0 ]
  assert_has "$output" 'is already in use'
  run $BERTH rename rn3 rn3
  [ "$status" -ne 0 ]
  assert_has "$output" "Renaming a container with the same name as its current name"
  run $BERTH rename nosuch x
  [ "$status" -ne 0 ]
  assert_has "$output" "No such container: nosuch"
  run $BERTH events --since 1m --until 0s --filter event=rename --format '{{.Actor.Attributes.oldName}} {{.Actor.Attributes.name}}'
  assert_has "$output" "/rn1 rn3"
}

@test "attach to a paused container, stop of a stopped one: Docker's answers" {
  $BERTH run -d --name pz busybox sleep 100
  $BERTH pause pz
  run $BERTH attach pz
  [ "$status" -ne 0 ]
  assert_has "$output" "You cannot attach to a paused container, unpause it first"
  $BERTH unpause pz
  $BERTH stop -t 0 pz
  run $BERTH stop pz
  assert_status 0
  assert_eq "$output" "pz"
  run api POST /containers/pz/stop
  assert_has "$output" "HTTP 304"
  run $BERTH attach pz
  [ "$status" -ne 0 ]
  assert_has "$output" "You cannot attach to a stopped container, start it first"
  run $BERTH unpause pz
  [ "$status" -ne 0 ]
  assert_has "$output" "is not paused"
}

@test "--stop-signal and --stop-timeout: stop sends that signal, kills after that time" {
  $BERTH run -d --name ss --stop-signal USR1 busybox sh -c 'trap "echo got usr1; exit 7" USR1; while true; do sleep 0.1; done'
  assert_eq "$(ijson ss Config.StopSignal)" USR1
  sleep 0.3
  $BERTH stop ss
  assert_eq "$(ijson ss State.ExitCode)" 7
  assert_has "$($BERTH logs ss)" "got usr1"
  $BERTH run -d --name st1 --stop-timeout 1 busybox sh -c 'trap "" TERM; while true; do sleep 0.1; done'
  assert_eq "$(ijson st1 Config.StopTimeout)" 1
  sleep 0.3
  t0=$(date +%s%N)
  $BERTH stop st1
  t=$((($(date +%s%N) - t0) / 1000000))
  assert_eq "$(ijson st1 State.ExitCode)" 137
  [ "$t" -ge 900 ] && [ "$t" -lt 4000 ] || fail "stop took $t ms"
}

@test "--sig-proxy: SIGTERM to berth run reaches the container; --sig-proxy=false does not" {
  $BERTH run --name sp busybox sh -c 'trap "echo got term; exit 5" TERM; while true; do sleep 0.1; done' >"$BATS_TEST_TMPDIR/out" &
  pid=$!
  wait_until 10 is_running sp
  sleep 0.3
  kill -TERM $pid
  rc=0
  wait $pid || rc=$?
  assert_eq "$rc" 5
  assert_has "$(cat "$BATS_TEST_TMPDIR/out")" "got term"
  $BERTH run --name sp2 --sig-proxy=false busybox sh -c 'trap "exit 5" TERM; sleep 100' >/dev/null &
  pid=$!
  wait_until 10 is_running sp2
  kill -TERM $pid
  wait $pid || true
  is_running sp2
  $BERTH rm -f sp2
}

@test "start -a -i: output, stdin and the exit status of the container" {
  $BERTH create -i --name sai busybox sh -c 'read x; echo "got $x"; exit 4'
  run sh -c "echo hello | $BERTH start -a -i sai"
  assert_status 4
  assert_eq "$output" "got hello"
  $BERTH create --name sa busybox sh -c 'echo out; echo err >&2'
  run $BERTH start -a sa
  assert_status 0
  assert_has "$output" "out"
  assert_has "$output" "err"
}

@test "ps filters: status, name, label, ancestor, exited, id, before, since; -n, -l, -s, --no-trunc" {
  run $BERTH run --name pf1 --label team=a busybox sh -c 'exit 2'
  assert_status 2
  $BERTH run --name pf2 --label team=b busybox true
  $BERTH run -d --name pf3 --label team=a busybox sleep 100
  q() { $BERTH ps -a --format '{{.Names}}' "$@" | grep '^pf' | sort | tr '\n' ' '; }
  assert_eq "$(q --filter status=exited)" "pf1 pf2 "
  assert_eq "$(q --filter status=running)" "pf3 "
  assert_eq "$(q --filter name=pf2)" "pf2 "
  assert_eq "$(q --filter label=team=a)" "pf1 pf3 "
  assert_eq "$(q --filter label=team)" "pf1 pf2 pf3 "
  assert_eq "$(q --filter ancestor=busybox)" "pf1 pf2 pf3 "
  assert_eq "$(q --filter exited=2)" "pf1 "
  assert_eq "$(q --filter exited=0)" "pf2 "
  id=$($BERTH inspect -f '{{.Id}}' pf2)
  assert_eq "$(q --filter id=${id:0:10})" "pf2 "
  assert_eq "$(q --filter before=pf3)" "pf1 pf2 "
  assert_eq "$(q --filter since=pf1)" "pf2 pf3 "
  assert_eq "$($BERTH ps -l --format '{{.Names}}')" "pf3"
  assert_eq "$($BERTH ps -n 2 --format '{{.Names}}' | tr '\n' ' ')" "pf3 pf2 "
  run $BERTH ps -q --no-trunc --filter name=pf3
  assert_eq "$output" "$($BERTH inspect -f '{{.Id}}' pf3)"
  run $BERTH ps -s --filter name=pf3
  assert_match "${lines[0]}" 'SIZE$'
  assert_match "${lines[1]}" '[0-9.]+[kMG]?B \(virtual [0-9.]+[kMG]?B\)$'
  run $BERTH ps --filter status=bogus
  [ "$status" -ne 0 ]
  assert_has "$output" "Invalid filter 'status=bogus'"
}

@test "container prune removes stopped containers only, honours label and until filters" {
  $BERTH run --name pr1 --label keep=no busybox true
  $BERTH run --name pr2 --label keep=yes busybox true
  $BERTH run -d --name pr3 busybox sleep 100
  run $BERTH container prune -f --filter label=keep=no
  assert_status 0
  assert_has "$output" "Deleted Containers:"
  assert_not_has "$output" "$($BERTH inspect -f '{{.Id}}' pr2)"
  run $BERTH inspect pr1
  [ "$status" -ne 0 ]
  run $BERTH container prune -f --filter until=1h
  $BERTH inspect pr2 >/dev/null
  $BERTH container prune -f
  run $BERTH inspect pr2
  [ "$status" -ne 0 ]
  is_running pr3
}

@test "events for attach, resize, exec, pause, unpause, kill, restart, update, destroy" {
  since=$(date +%s)
  $BERTH run -d -t --name ev busybox sleep 100
  $BERTH exec ev true
  $BERTH pause ev
  $BERTH unpause ev
  api POST "/containers/ev/resize?h=20&w=70" >/dev/null
  $BERTH update --cpu-shares 512 ev >/dev/null
  $BERTH restart -t 0 ev >/dev/null
  $BERTH kill ev >/dev/null
  $BERTH wait ev >/dev/null
  $BERTH rm ev >/dev/null
  run $BERTH events --since "$since" --until "$(($(date +%s) + 1))" --filter container=ev --format '{{.Action}}'
  for a in create start exec_create exec_start exec_die pause unpause resize update kill die stop restart destroy; do
    assert_line_re "$output" "^$a(:.*)?\$"
  done
}

@test "top with ps_args; top of a stopped container is Docker's error" {
  $BERTH run -d --name tp busybox sleep 100
  run $BERTH top tp -o pid,comm
  assert_match "${lines[0]}" 'PID +COMMAND'
  assert_line_re "$output" ' *[0-9]+ +sleep$'
  $BERTH stop -t 0 tp
  run $BERTH top tp
  [ "$status" -ne 0 ]
  assert_has "$output" "is not running"
}

@test "logs --tail with --timestamps, --since and stdout/stderr selection together" {
  $BERTH run --name lg busybox sh -c 'for i in 1 2 3 4; do echo o$i; echo e$i >&2; done'
  run $BERTH logs --tail 2 -t lg
  assert_eq "${#lines[@]}" 2
  assert_match "${lines[0]}" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z [oe][0-9]$'
  run $BERTH logs --tail 3 --since 1h lg
  assert_eq "${#lines[@]}" 3
  out=$($BERTH logs lg 2>/dev/null | tr '\n' ' ')
  assert_eq "$out" "o1 o2 o3 o4 "
  err=$($BERTH logs lg 2>&1 >/dev/null | tr '\n' ' ')
  assert_eq "$err" "e1 e2 e3 e4 "
  run api GET "/containers/lg/logs?stdout=1&tail=1"
  assert_has "$output" "o4"
  assert_not_has "$output" "e4"
}

@test "inspect: the fields of seed 004 with Docker's types; GraphDriver's LowerDir; default masked paths" {
  $BERTH run -d --name ins busybox sleep 100
  $BERTH inspect ins >"$BATS_TEST_TMPDIR/i"
  python3 - "$BATS_TEST_TMPDIR/i" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))[0]
want = {"Id": str, "Created": str, "Path": str, "Args": list, "State": dict, "Image": str, "ResolvConfPath": str,
        "HostnamePath": str, "HostsPath": str, "LogPath": str, "Name": str, "RestartCount": int, "Driver": str,
        "MountLabel": str, "ProcessLabel": str, "AppArmorProfile": str, "HostConfig": dict, "GraphDriver": dict,
        "Mounts": list, "Config": dict, "NetworkSettings": dict}
for k, t in want.items():
    assert isinstance(c[k], t), k
st = {"Status": str, "Running": bool, "Paused": bool, "Restarting": bool, "OOMKilled": bool, "Dead": bool,
      "Pid": int, "ExitCode": int, "Error": str, "StartedAt": str, "FinishedAt": str}
for k, t in st.items():
    assert isinstance(c["State"][k], t), k
assert c["State"]["Status"] == "running" and c["State"]["Pid"] > 0
assert c["Image"].startswith("sha256:") and c["Name"] == "/ins"
assert c["LogPath"].endswith(c["Id"] + "-json.log")
assert c["GraphDriver"]["Name"] in ("overlay2", "vfs")
if c["GraphDriver"]["Name"] == "overlay2":
    for k in ("LowerDir", "MergedDir", "UpperDir", "WorkDir"):
        assert c["GraphDriver"]["Data"][k], k
assert "/proc/kcore" in c["HostConfig"]["MaskedPaths"]
assert "/proc/sys" in c["HostConfig"]["ReadonlyPaths"]
for k in ("Hostname", "Domainname", "User", "AttachStdin", "AttachStdout", "AttachStderr", "Tty", "OpenStdin",
          "StdinOnce", "Env", "Cmd", "Image", "Volumes", "WorkingDir", "Entrypoint", "OnBuild", "Labels"):
    assert k in c["Config"], k
for k in ("Bridge", "SandboxID", "Ports", "SandboxKey", "Gateway", "IPAddress", "IPPrefixLen", "MacAddress", "Networks"):
    assert k in c["NetworkSettings"], k
PY
  assert_eq "$($BERTH inspect -f '{{.State.Pid}}' ins)" "$(ijson ins State.Pid)"
  $BERTH run -d --name insp --privileged busybox sleep 100
  assert_eq "$(ijson insp HostConfig.MaskedPaths)" null
}

@test "events: image import, save and load" {
  since=$(date +%s)
  $BERTH import "$(berth_rootfs_tar)" evimg:1 >/dev/null
  $BERTH save -o "$BATS_TEST_TMPDIR/s.tar" evimg:1
  $BERTH load -i "$BATS_TEST_TMPDIR/s.tar" >/dev/null
  run $BERTH events --since "$since" --until "$(($(date +%s) + 1))" --filter type=image --format '{{.Action}}'
  for a in import save load; do assert_line "$output" "$a"; done
  $BERTH rmi evimg:1 >/dev/null
}

@test "events: attach of an API client" {
  since=$(date +%s)
  $BERTH run -d --name eva busybox sleep 100
  curl -s --max-time 1 --unix-socket "$BERTH_SOCK" -X POST \
    "http://localhost/containers/eva/attach?stream=1&stdout=1" >/dev/null || true
  run $BERTH events --since "$since" --until "$(($(date +%s) + 1))" --filter container=eva --format '{{.Action}}'
  assert_line "$output" "attach"
}

# sized_pty ROWS COLS CMD...: run CMD on a new terminal of that size; print what it wrote
sized_pty() {
  timeout 30 python3 - "$@" <<'PY'
import fcntl, os, pty, struct, sys, termios
rows, cols, argv = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    os.execvp(argv[0], argv)
out = b""
while True:
    try:
        b = os.read(fd, 4096)
    except OSError:
        break
    if not b:
        break
    out += b
os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace").replace("\r", ""))
PY
}

@test "run -it and exec -it: the process starts with the client's window size" {
  $BERTH run -d -it --name ws busybox sh
  run sized_pty 33 77 $BERTH run --name wsr -it busybox stty size
  assert_has "$output" "33 77"
  assert_eq "$(ijson wsr HostConfig.ConsoleSize)" "[33,77]"
  run sized_pty 21 66 $BERTH exec -it ws stty size
  assert_has "$output" "21 66"
}

@test "kill -s: the named signal reaches the container; bad signals and stopped containers get Docker's errors" {
  $BERTH run -d --name ksig busybox sh -c 'trap "echo got hup" HUP; trap "exit 9" USR2; while true; do sleep 0.1; done'
  sleep 0.3
  run $BERTH kill -s HUP ksig
  assert_eq "$output" ksig
  wait_until 10 sh -c "$BERTH logs ksig | grep -q 'got hup'"
  is_running ksig
  $BERTH kill --signal SIGUSR2 ksig
  assert_eq "$($BERTH wait ksig)" 9
  run $BERTH kill -s FOO ksig
  [ "$status" -ne 0 ]
  assert_has "$output" "Invalid signal: FOO"
  run $BERTH kill ksig
  [ "$status" -ne 0 ]
  assert_has "$output" "is not running"
}

@test "events: exec_detach when an API client types the exec's detach keys" {
  $BERTH run -d -it --name exd busybox sh >/dev/null
  eid=$(api POST /containers/exd/exec -H 'Content-Type: application/json' \
    -d '{"Cmd":["sh"],"Tty":true,"AttachStdin":true,"AttachStdout":true,"DetachKeys":"ctrl-x,x"}' |
    python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["Id"])')
  timeout 20 python3 - "$BERTH_SOCK" "$eid" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
body = b'{"Detach":false,"Tty":true}'
s.sendall(b"POST /exec/%s/start HTTP/1.1\r\nHost: berth\r\nUpgrade: tcp\r\nConnection: Upgrade\r\n"
          b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (sys.argv[2].encode(), len(body), body))
head = b""
while b"\r\n\r\n" not in head:
    head += s.recv(4096)
assert head.startswith(b"HTTP/1.1 101"), head
time.sleep(0.3)
s.sendall(b"\x18x")
while s.recv(4096):
    pass
PY
  run $BERTH events --since 1m --until 0s --filter container=exd --filter event=exec_detach --format '{{.Action}} {{.Actor.Attributes.execID}}'
  assert_line "$output" "exec_detach $eid"
}

@test "container prune and commit are events, like docker's" {
  local since until id
  since=$(date +%s)
  id=$($BERTH run -d busybox sh -c 'echo x > /f')
  $BERTH wait "$id" >/dev/null
  $BERTH commit -m note "$id" evcommit:1 >/dev/null
  $BERTH container prune -f >/dev/null
  until=$(($(date +%s) + 1))
  run $BERTH events --since "$since" --until "$until" --filter type=container --format '{{.Action}} {{.Actor.ID}} {{.Actor.Attributes.comment}}{{.Actor.Attributes.imageRef}}'
  assert_status 0
  assert_has "$output" "commit $id noteevcommit:1"
  assert_match "$output" "prune  "
  $BERTH rmi evcommit:1 >/dev/null
}
