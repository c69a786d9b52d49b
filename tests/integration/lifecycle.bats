#!/usr/bin/env bats
# lifecycle.bats - restart policies, events, log rotation and options, live restore (kill -9
# berthd while containers run), a killed shim

load helpers

setup_file() {
  berth_start_daemon --log-opt max-size=20m --log-opt max-file=3
  berth_import_busybox
}
# the daemon may have been restarted by a test (another process): stop the one that runs now
teardown_file() {
  BERTHD_PID=$(cat "$BERTH_DIR/berthd.daemon-pid" 2>/dev/null || echo "${BERTHD_PID:-}")
  berth_stop_daemon
}
teardown() { berth_teardown; }

# restart_daemon_hard: kill -9 berthd (containers keep running) and start it again on the same roots
# kill_daemon_hard: kill -9 the daemon that runs now (an earlier test may have restarted it: each
# test is a process of its own) and wait until it is gone
kill_daemon_hard() {
  BERTHD_PID=$(cat "$BERTH_DIR/berthd.daemon-pid" 2>/dev/null || echo "$BERTHD_PID")
  kill -KILL "$BERTHD_PID" 2>/dev/null || true
  wait "$BERTHD_PID" 2>/dev/null || true
  while kill -0 "$BERTHD_PID" 2>/dev/null; do sleep 0.05; done
}

restart_daemon_hard() {
  kill_daemon_hard
  # every fd above 2 closed: bats waits for the holders of its output files and pipes
  (
    for f in /proc/$BASHPID/fd/*; do
      n=${f##*/}
      [ "$n" -gt 2 ] && eval "exec $n>&-"
    done 2>/dev/null
    exec "$BERTHD_BIN" --data-root "$BERTH_DIR/data" --exec-root "$BERTH_DIR/run" \
      -H "unix://$BERTH_SOCK" --group root --default-registry 127.0.0.1:1 \
      --pidfile "$BERTH_DIR/berthd.pid" --log-level debug "$@" </dev/null >>"$BERTH_DIR/berthd.log" 2>&1
  ) &
  BERTHD_PID=$!
  export BERTHD_PID
  echo "$BERTHD_PID" >"$BERTH_DIR/berthd.daemon-pid"
  wait_until 10 curl -fsS --unix-socket "$BERTH_SOCK" http://localhost/_ping
}

status_of() { $BERTH inspect -f '{{.State.Status}}' "$1"; }

@test "restart policy on-failure:2 restarts twice and records RestartCount" {
  $BERTH run -d --name onf --restart on-failure:2 busybox sh -c 'exit 3'
  wait_until 10 sh -c "[ \"\$($BERTH inspect -f '{{.RestartCount}} {{.State.Status}}' onf)\" = '2 exited' ]"
  run $BERTH inspect -f '{{.RestartCount}} {{.State.ExitCode}} {{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}}' onf
  assert_eq "$output" "2 3 on-failure 2"
  sleep 0.5
  assert_eq "$($BERTH inspect -f '{{.RestartCount}}' onf)" 2
}

@test "restart policy on-failure does not restart a clean exit; no never restarts" {
  $BERTH run -d --name onf0 --restart on-failure busybox true
  $BERTH run -d --name nop busybox sh -c 'exit 1'
  wait_until 10 sh -c "[ \"\$($BERTH inspect -f '{{.State.Status}}' onf0)\" = exited ]"
  sleep 0.5
  assert_eq "$($BERTH inspect -f '{{.RestartCount}}' onf0)" 0
  assert_eq "$($BERTH inspect -f '{{.RestartCount}}' nop)" 0
}

@test "restart policy always: backoff while restarting, stop by the user ends it" {
  $BERTH run -d --name alw --restart always busybox sh -c 'sleep 0.2; exit 1'
  wait_until 15 sh -c "[ \$($BERTH inspect -f '{{.RestartCount}}' alw) -ge 3 ]"
  $BERTH stop -t 1 alw
  sleep 1
  n=$($BERTH inspect -f '{{.RestartCount}}' alw)
  assert_eq "$(status_of alw)" exited
  sleep 1.5
  assert_eq "$($BERTH inspect -f '{{.RestartCount}}' alw)" "$n" "no restart after stop"
}

@test "kill by the user does not restart an unless-stopped container" {
  $BERTH run -d --name uls --restart unless-stopped busybox sleep 100
  $BERTH kill uls
  sleep 1
  assert_eq "$(status_of uls)" exited
  assert_eq "$($BERTH inspect -f '{{.RestartCount}}' uls)" 0
}

@test "an invalid restart policy is refused" {
  run $BERTH create --restart always:3 busybox true
  [ "$status" -ne 0 ]
  run curl -sS --unix-socket "$BERTH_SOCK" -H 'Content-Type: application/json' \
    -d '{"Image":"busybox","HostConfig":{"RestartPolicy":{"Name":"sometimes"}}}' http://localhost/containers/create
  assert_has "$output" "invalid restart policy"
}

@test "events: a run gives create, start, die in order; since/until and filters" {
  t0=$(date +%s)
  $BERTH run --name evrun busybox true
  run $BERTH events --since "$t0" --until "$(($(date +%s) + 1))" --filter container=evrun --format '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}'
  assert_status 0
  assert_eq "$(printf '%s\n' "$output" | grep -v attach | head -3 | tr '\n' ';')" "container create evrun;container start evrun;container die evrun;"
  run $BERTH events --since "$t0" --until "$(($(date +%s) + 1))" --filter event=die --filter container=evrun
  assert_match "$output" "container die [0-9a-f]{64} \(exitCode=0, image=busybox, name=evrun\)"
  # until in the past: nothing after it
  run $BERTH events --since "$t0" --until "$t0" --filter container=evrun
  assert_eq "$output" ""
  # legacy fields and JSON
  run api GET "/events?since=$t0&until=$(($(date +%s) + 1))&filters=%7B%22event%22%3A%5B%22create%22%5D%2C%22container%22%3A%5B%22evrun%22%5D%7D"
  assert_has "$output" '"status":"create"'
  assert_has "$output" '"scope":"local"'
  assert_has "$output" '"from":"busybox"'
}

@test "events stream to a listener while they happen" {
  $BERTH events --filter container=evlive --format '{{.Action}}' >"$BERTH_DIR/ev.out" &
  pid=$!
  sleep 0.5
  $BERTH run --name evlive busybox true
  $BERTH rename evlive evlive2 || true
  $BERTH rm evlive2
  sleep 0.5
  kill $pid
  out=$(cat "$BERTH_DIR/ev.out")
  assert_has "$out" create
  assert_has "$out" die
}

@test "log rotation: 5 MB with max-size=1m max-file=2 leaves 2 files and logs shows the tail" {
  $BERTH run --name rot --log-opt max-size=1m --log-opt max-file=2 busybox sh -c \
    'i=0; while [ $i -lt 80000 ]; do echo "line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"; i=$((i+1)); done' >/dev/null
  id=$($BERTH inspect -f '{{.Id}}' rot)
  n=$(ls "$BERTH_DIR/data/containers/$id/" | grep -c -- '-json.log')
  [ "$n" -le 2 ] || fail "$n log files"
  for f in "$BERTH_DIR/data/containers/$id/"*-json.log*; do
    [ "$(stat -c %s "$f")" -le 1048576 ] || fail "$f is bigger than 1m"
  done
  assert_eq "$($BERTH logs rot | tail -1)" "line-79999-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
  assert_eq "$($BERTH logs --tail 1 rot)" "line-79999-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
  # the lines read back are consecutive across the rotated files
  first=$($BERTH logs rot | head -1 | cut -d- -f2)
  assert_eq "$($BERTH logs rot | wc -l)" "$((80000 - first))"
}

@test "log options: daemon default bounds the log; bad options are refused" {
  $BERTH run --name deflog busybox true
  run $BERTH run --log-opt max-size=xx busybox true
  [ "$status" -ne 0 ]
  assert_has "$output" "max-size"
  run $BERTH run --log-opt colour=blue busybox true
  assert_has "$output" "unknown log opt 'colour'"
  pid=$(pgrep -f "berth-shim.*$($BERTH create --name shimargs busybox sleep 5)" || true)
  $BERTH start shimargs
  run sh -c "tr '\0' ' ' </proc/\$(cat $BERTH_DIR/run/shims/\$($BERTH inspect -f '{{.Id}}' shimargs)/shim.pid)/cmdline"
  assert_has "$output" "--log-max-size 20971520 --log-max-file 3"
  $BERTH rm -f shimargs
}

@test "log driver none: logs answers the driver error" {
  $BERTH run --name nolog --log-driver none busybox echo hi
  run $BERTH logs nolog
  [ "$status" -ne 0 ]
  assert_has "$output" "configured logging driver does not support reading"
}

@test "logs --since/--until" {
  $BERTH run --name since busybox sh -c 'echo one; sleep 1.2; echo two'
  run $BERTH logs --since 1h since
  assert_eq "$output" "one"$'\n'"two"
  run $BERTH logs --until 1h since
  assert_eq "$output" ""
  t=$($BERTH logs -t since | tail -1 | cut -d' ' -f1)
  run $BERTH logs --since "$t" since
  assert_eq "$output" "two"
}

@test "a killed shim makes the container exited with State.Error, not a hang" {
  $BERTH run -d --name shimkill busybox sleep 100
  id=$($BERTH inspect -f '{{.Id}}' shimkill)
  kill -KILL "$(cat "$BERTH_DIR/run/shims/$id/shim.pid")"
  wait_until 10 sh -c "[ \"\$($BERTH inspect -f '{{.State.Status}}' shimkill)\" = exited ]"
  run $BERTH inspect -f '{{.State.ExitCode}}|{{.State.Error}}' shimkill
  assert_match "$output" '^255\|.+'
  # its process went with it and it can start again
  run timeout 20 $BERTH start shimkill
  assert_status 0
  assert_eq "$(status_of shimkill)" running
  run timeout 20 $BERTH rm -f shimkill
  assert_status 0
}

@test "live restore: kill -9 berthd; running containers stay, logs go on, attach and exec work, exits recorded" {
  $BERTH run -d --name lr1 busybox sh -c 'i=0; while true; do echo tick-$i; i=$((i+1)); sleep 0.2; done'
  $BERTH run -d --name lr2 busybox sh -c 'sleep 2; exit 7'
  $BERTH run -d --name lr3 -i busybox cat
  sleep 0.5
  kill_daemon_hard
  sleep 2.5 # lr2 exits while no daemon runs
  restart_daemon_hard
  assert_eq "$(status_of lr1)" running
  assert_eq "$(status_of lr2)" exited
  assert_eq "$($BERTH inspect -f '{{.State.ExitCode}}' lr2)" 7
  n1=$($BERTH logs lr1 | wc -l)
  sleep 1
  n2=$($BERTH logs lr1 | wc -l)
  [ "$n2" -gt "$n1" ] || fail "logs did not continue ($n1 -> $n2)"
  echo hello-attach >"$BERTH_DIR/attach.in"
  run timeout -s KILL 5 $BERTH attach lr3 <"$BERTH_DIR/attach.in"
  assert_has "$output" hello-attach
  run $BERTH exec lr1 echo exec-after-restore
  assert_status 0
  assert_eq "$output" exec-after-restore
  $BERTH stop -t 1 lr1
  assert_eq "$(status_of lr1)" exited
}

@test "live restore: an always container comes back after a host-style restart" {
  $BERTH run -d --name hr-always --restart always busybox sleep 100
  $BERTH run -d --name hr-unless --restart unless-stopped busybox sleep 100
  $BERTH run -d --name hr-stopped --restart unless-stopped busybox sleep 100
  $BERTH run -d --name hr-no busybox sleep 100
  $BERTH stop -t 1 hr-stopped
  kill_daemon_hard
  # a host restart: every shim and container is gone
  for f in "$BERTH_DIR"/run/shims/*/init.pid; do kill -KILL "$(cat "$f")" 2>/dev/null || true; done
  sleep 1
  restart_daemon_hard
  wait_until 10 sh -c "[ \"\$($BERTH inspect -f '{{.State.Status}}' hr-always)\" = running ]"
  wait_until 10 sh -c "[ \"\$($BERTH inspect -f '{{.State.Status}}' hr-unless)\" = running ]"
  assert_eq "$(status_of hr-stopped)" exited
  assert_eq "$(status_of hr-no)" exited
  # and the always container still restarts when it dies later
  kill -KILL "$($BERTH inspect -f '{{.State.Pid}}' hr-always)"
  sleep 0.3
  wait_until 10 sh -c "[ \"\$($BERTH inspect -f '{{.State.Status}}' hr-always)\" = running ]"
  [ "$($BERTH inspect -f '{{.RestartCount}}' hr-always)" -ge 1 ]
}

@test "State.Restarting while the backoff runs; ps says Restarting" {
  $BERTH run -d --name rst --restart always busybox sh -c 'exit 2'
  wait_until 15 sh -c "[ \"\$($BERTH inspect -f '{{.State.Restarting}} {{.State.Status}}' rst)\" = 'true restarting' ]"
  run $BERTH ps -a --filter name=rst --format '{{.Status}}'
  assert_match "$output" '^(Restarting \(2\)|Up)'
  $BERTH rm -f rst
}

@test "events: image tag, untag and delete" {
  t0=$(date +%s)
  $BERTH tag busybox evimg:one
  $BERTH rmi evimg:one
  run $BERTH events --since "$t0" --until "$(($(date +%s) + 1))" --filter type=image --format '{{.Action}} {{.Actor.Attributes.name}}'
  assert_line "$output" "tag evimg:one"
  assert_line_re "$output" "^untag .*evimg:one"
}

@test "update: limits reach a running container's cgroup; HostConfig keeps them" {
  $BERTH run -d --name upd -m 100m busybox sleep 300
  assert_eq "$($BERTH exec upd cat /sys/fs/cgroup/memory/memory.limit_in_bytes)" 104857600
  run $BERTH update -m 150m --memory-swap 300m --cpu-shares 512 --pids-limit 50 upd
  assert_status 0
  assert_eq "$output" "upd"
  assert_eq "$($BERTH exec upd cat /sys/fs/cgroup/memory/memory.limit_in_bytes)" 157286400
  assert_eq "$($BERTH exec upd cat /sys/fs/cgroup/pids/pids.max)" 50
  run $BERTH inspect -f '{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.CpuShares}} {{.HostConfig.PidsLimit}}' upd
  assert_eq "$output" "157286400 314572800 512 50"
  # Docker's rules: above the swap limit without a new swap, below the minimum, kernel memory
  run $BERTH update -m 400m upd
  assert_status 1
  assert_has "$output" "Cannot update container $($BERTH inspect -f '{{.Id}}' upd): Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time"
  run $BERTH update -m 1m upd
  assert_has "$output" "Minimum memory limit allowed is 6MB"
  run $BERTH update -m 200m --memory-swap 100m upd
  assert_status 1
  assert_has "$output" "Minimum memoryswap limit should be larger than memory limit, see usage"
  run $BERTH update --kernel-memory 10m upd
  assert_has "$output" "Can not update kernel memory to a running container, please stop it first."
  # below what the container uses: the kernel refuses, the old limit stays
  $BERTH exec upd sh -c 'dd if=/dev/zero of=/dev/shm/fill bs=1M count=20 2>/dev/null'
  run $BERTH update -m 8m --memory-swap 8m upd
  assert_status 1
  assert_eq "$($BERTH inspect -f '{{.HostConfig.Memory}}' upd)" 157286400
  assert_eq "$($BERTH exec upd cat /sys/fs/cgroup/memory/memory.limit_in_bytes)" 157286400
  $BERTH rm -f upd
}

@test "update: restart policy, several containers, errors, stopped containers, the API" {
  $BERTH create --name upa busybox true
  $BERTH create --name upb busybox true
  run $BERTH update --restart on-failure:3 --cpus 0.5 upa upb
  assert_status 0
  assert_eq "$output" "upa"$'\n'"upb"
  assert_eq "$($BERTH inspect -f '{{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}} {{.HostConfig.NanoCpus}}' upb)" "on-failure:3 500000000"
  run $BERTH update --cpu-period 50000 upa
  assert_status 1
  assert_has "$output" "Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set"
  run $BERTH update --memory 64m upa nosuch upb
  assert_status 1
  assert_eq "${lines[0]}" "upa"
  assert_eq "${lines[1]}" "upb"
  assert_has "$output" "No such container: nosuch"
  run $BERTH update upa
  assert_status 1
  assert_has "$output" "you must provide one or more flags"
  $BERTH run -d --rm --name uprm busybox sleep 300
  run $BERTH update --restart always uprm
  assert_status 1
  assert_has "$output" "Restart policy cannot be updated because AutoRemove is enabled for the container"
  run api POST /containers/upa/update -H 'Content-Type: application/json' -d '{"CpuShares":256}'
  assert_has "$output" '{"Warnings":[]}'
  assert_has "$output" "HTTP 200"
  assert_eq "$($BERTH inspect -f '{{.HostConfig.CpuShares}}' upa)" 256
  $BERTH rm -f upa upb uprm
}

@test "logs -f --until stops at that time" {
  $BERTH run -d --name fu busybox sh -c 'while true; do echo tick; sleep 0.2; done'
  until=$(($(date +%s) + 2))
  start=$SECONDS
  run timeout 10 $BERTH logs -f --until "$until" fu
  assert_status 0
  [ $((SECONDS - start)) -le 5 ] || fail "logs -f ran past --until"
  assert_has "$output" tick
  $BERTH rm -f fu
}

@test "a container waiting to restart keeps its state across a berthd restart; stop cancels a restart" {
  $BERTH run -d --name rwait --restart always busybox sh -c 'exit 2'
  wait_until 20 sh -c "[ \$($BERTH inspect -f '{{.RestartCount}}' rwait) -ge 5 ]"
  wait_until 10 sh -c "[ \"\$($BERTH inspect -f '{{.State.Status}}' rwait)\" = restarting ]"
  n=$($BERTH inspect -f '{{.RestartCount}}' rwait)
  restart_daemon_hard
  run $BERTH inspect -f '{{.State.ExitCode}} {{.State.Error}}' rwait
  assert_eq "$output" "2 "
  [ "$($BERTH inspect -f '{{.RestartCount}}' rwait)" -ge "$n" ]
  # it goes on restarting, counting on
  wait_until 10 sh -c "[ \$($BERTH inspect -f '{{.RestartCount}}' rwait) -gt $n ]"
  # a stop while it waits: 204, no more restarts
  wait_until 10 sh -c "[ \"\$($BERTH inspect -f '{{.State.Status}}' rwait)\" = restarting ]"
  run api POST /containers/rwait/stop
  assert_has "$output" "HTTP 204"
  assert_eq "$(status_of rwait)" exited
  c=$($BERTH inspect -f '{{.RestartCount}}' rwait)
  sleep 1.5
  assert_eq "$(status_of rwait)" exited
  assert_eq "$($BERTH inspect -f '{{.RestartCount}}' rwait)" "$c"
  $BERTH rm -f rwait
}

@test "run --rm whose start fails: docker's exit status, the container is removed, no hang" {
  n=$($BERTH ps -aq | wc -l)
  run timeout 20 $BERTH run --rm busybox /nonexistent
  assert_status 127
  assert_eq "$($BERTH ps -aq | wc -l)" "$n"
}

@test "--cidfile writes the id; an existing file is refused before anything is made" {
  f="$BERTH_DIR/cid"
  $BERTH run -d --cidfile "$f" --name cidc busybox true
  assert_eq "$(cat "$f")" "$($BERTH inspect -f '{{.Id}}' cidc)"
  n=$($BERTH ps -aq | wc -l)
  run $BERTH run -d --cidfile "$f" busybox true
  assert_status 125
  assert_has "$output" "Container ID file found, make sure the other container isn't running or delete $f"
  assert_eq "$($BERTH ps -aq | wc -l)" "$n"
  run $BERTH create --cidfile "$f" busybox true
  assert_status 125
  $BERTH rm -f cidc
}

@test "volume events: mount at start, unmount at the exit, with the volume filter" {
  t0=$(date +%s)
  $BERTH volume create evvol >/dev/null
  $BERTH run --rm -v evvol:/data busybox true
  run $BERTH events --since "$t0" --until "$(($(date +%s) + 1))" --filter type=volume --filter volume=evvol \
    --format '{{.Type}} {{.Action}} {{.Actor.ID}} {{.Actor.Attributes.destination}}'
  assert_line "$output" "volume mount evvol /data"
  assert_line_re "$output" "^volume unmount evvol"
  $BERTH volume rm evvol >/dev/null
}

@test "200 containers: run, list and remove them; the daemon stays responsive" {
  start=$SECONDS
  before=$($BERTH ps -aq | wc -l)
  for i in $(seq 200); do
    $BERTH run -d -l bulk=1 busybox sleep 300 >/dev/null || fail "run $i failed"
  done
  assert_eq "$($BERTH ps -q --filter label=bulk=1 | wc -l)" 200
  assert_eq "$($BERTH ps -aq | wc -l)" $((before + 200))
  t=$(date +%s%N)
  curl -fsS --max-time 2 --unix-socket "$BERTH_SOCK" http://localhost/_ping >/dev/null
  $BERTH ps >/dev/null
  ms=$((($(date +%s%N) - t) / 1000000))
  [ "$ms" -lt 2000 ] || fail "ping and ps took $ms ms with 200 containers"
  run timeout 120 $BERTH rm -f $($BERTH ps -aq --filter label=bulk=1)
  assert_status 0
  assert_eq "$($BERTH ps -aq --filter label=bulk=1 | wc -l)" 0
  assert_eq "$($BERTH ps -aq | wc -l)" "$before"
  [ $((SECONDS - start)) -lt 120 ] || fail "took $((SECONDS - start)) s"
}
