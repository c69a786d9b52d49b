#!/usr/bin/env bats
# health.bats - health checks: --health-* flags, State.Health, ps STATUS and --filter health, events,
# timeouts, pause and stop, the image's HEALTHCHECK, and the state across a berthd restart

load helpers

setup_file() {
  berth_start_daemon
  berth_import_busybox
}
teardown_file() {
  BERTHD_PID=$(cat "$BERTH_DIR/berthd.daemon-pid" 2>/dev/null || echo "${BERTHD_PID:-}")
  berth_stop_daemon
}
teardown() { berth_teardown; }

health_of() { $BERTH inspect -f '{{.State.Health.Status}}' "$1" 2>/dev/null; }
health_is() { [ "$(health_of "$1")" = "$2" ]; }

@test "a passing check makes the container healthy; ps shows it and filters on it" {
  $BERTH run -d --name hok --health-cmd 'echo hi; true' --health-interval 200ms busybox sleep 300
  run $BERTH inspect -f '{{json .Config.Healthcheck}}' hok
  assert_eq "$output" '{"Test":["CMD-SHELL","echo hi; true"],"Interval":200000000}'
  wait_until 10 health_is hok healthy
  run ijson hok State.Health.FailingStreak
  assert_eq "$output" 0
  run ijson hok State.Health.Log.0.Output
  assert_eq "$output" "hi"
  run ijson hok State.Health.Log.0.ExitCode
  assert_eq "$output" 0
  run $BERTH ps --filter name=hok --format '{{.Status}}'
  assert_match "$output" '^Up .* \(healthy\)$'
  run $BERTH ps -q --filter health=healthy
  assert_has "$output" "$($BERTH inspect -f '{{.Id}}' hok | cut -c1-12)"
  run $BERTH ps -q --filter health=unhealthy
  assert_not_has "$output" "$($BERTH inspect -f '{{.Id}}' hok | cut -c1-12)"
}

@test "a failing check: starting, then unhealthy after the retries; the log keeps five" {
  $BERTH run -d --name hbad --health-cmd 'echo bad >&2; exit 3' --health-interval 100ms --health-retries 2 busybox sleep 300
  run $BERTH ps --filter name=hbad --format '{{.Status}}'
  assert_match "$output" '\(health: starting\)$'
  wait_until 10 health_is hbad unhealthy
  run ijson hbad State.Health.Log.0.ExitCode
  assert_eq "$output" 3
  run ijson hbad State.Health.Log.0.Output
  assert_eq "$output" "bad"
  wait_until 10 sh -c "[ \$($BERTH inspect -f '{{len .State.Health.Log}}' hbad) -eq 5 ]"
  sleep 0.5
  assert_eq "$($BERTH inspect -f '{{len .State.Health.Log}}' hbad)" 5
  run $BERTH ps -q --filter health=unhealthy
  assert_has "$output" "$($BERTH inspect -f '{{.Id}}' hbad | cut -c1-12)"
  $BERTH run -d --name hnone busybox sleep 300
  run $BERTH ps -q --no-trunc --filter health=none
  assert_has "$output" "$($BERTH inspect -f '{{.Id}}' hnone)"
  assert_not_has "$output" "$($BERTH inspect -f '{{.Id}}' hbad)"
  run $BERTH ps --filter health=bogus
  assert_status 1
  assert_has "$output" "Unrecognised filter value for health: bogus"
  $BERTH rm -f hbad hnone
}

@test "health_status events; a timeout kills the probe and counts as -1" {
  since=$(date +%s)
  $BERTH run -d --name hto --health-cmd 'sleep 5' --health-interval 100ms --health-timeout 300ms --health-retries 1 busybox sleep 300
  wait_until 10 health_is hto unhealthy
  run ijson hto State.Health.Log.0.ExitCode
  assert_eq "$output" -1
  run ijson hto State.Health.Log.0.Output
  assert_eq "$output" "Health check exceeded timeout (300ms)"
  run $BERTH events --since "$since" --until "$(($(date +%s) + 1))" --filter container=hto --format '{{.Action}}'
  assert_line "$output" "health_status: unhealthy"
  # the killed probes are gone: no sleep 5 piles up in the container
  run $BERTH top hto
  [ "$(printf '%s\n' "$output" | grep -c 'sleep 5')" -le 1 ]
  $BERTH rm -f hto
}

@test "the probe runs as an exec in the container (its user, env and working directory)" {
  $BERTH run -d --name hctx -e PROBE=yes -w /tmp --health-cmd 'test "$PROBE" = yes && pwd' --health-interval 100ms busybox sleep 300
  wait_until 10 health_is hctx healthy
  run ijson hctx State.Health.Log.0.Output
  assert_eq "$output" "/tmp"
  $BERTH rm -f hctx
}

@test "stop ends probing, start begins again at starting; pause holds the checks" {
  $BERTH run -d --name hss --health-cmd 'date +%s%N >> /tmp/probes; true' --health-interval 100ms busybox sleep 300
  wait_until 10 health_is hss healthy
  $BERTH pause hss
  n1=$(cat "$BERTH_DIR"/data/containers/$($BERTH inspect -f '{{.Id}}' hss)/rootfs/tmp/probes 2>/dev/null | wc -l || true)
  sleep 0.6
  n2=$(cat "$BERTH_DIR"/data/containers/$($BERTH inspect -f '{{.Id}}' hss)/rootfs/tmp/probes 2>/dev/null | wc -l || true)
  [ "$n2" -le $((n1 + 1)) ] || fail "probes ran while paused: $n1 -> $n2"
  $BERTH unpause hss
  $BERTH stop -t 1 hss
  assert_eq "$(health_of hss)" healthy
  $BERTH start hss
  run $BERTH ps --filter name=hss --format '{{.Status}}'
  assert_match "$output" '\(health: starting\)$'
  wait_until 10 health_is hss healthy
  $BERTH rm -f hss
}

@test "--no-healthcheck and the flags' checks" {
  run $BERTH run -d --no-healthcheck --health-cmd true busybox true
  assert_status 125
  assert_has "$output" "--no-healthcheck conflicts with --health-* options"
  run $BERTH run -d --health-interval 5 busybox true
  assert_status 125
  assert_has "$output" 'invalid argument "5" for "--health-interval" flag'
  run $BERTH run -d --health-retries -1 busybox true
  assert_has "$output" "--health-retries cannot be negative"
  run api POST /containers/create -H 'Content-Type: application/json' \
    -d '{"Image":"busybox","Cmd":["true"],"Healthcheck":{"Test":["CMD","true"],"Interval":5}}'
  assert_has "$output" "Interval in Healthcheck cannot be less than 1ms"
  assert_has "$output" "HTTP 400"
  $BERTH create --name hno --no-healthcheck busybox true
  run $BERTH inspect -f '{{json .Config.Healthcheck}}' hno
  assert_eq "$output" '{"Test":["NONE"]}'
  run ijson hno State.Health
  assert_eq "$output" "<missing Health>"
  $BERTH rm hno
}

@test "the image's HEALTHCHECK (commit --change) is used and merged with the container's" {
  $BERTH create --name hbase busybox sleep 300
  $BERTH commit --change 'HEALTHCHECK --interval=150ms --retries=4 CMD exit 0' hbase health-img:1 >/dev/null
  run $BERTH image inspect -f '{{json .Config.Healthcheck}}' health-img:1
  assert_eq "$output" '{"Test":["CMD-SHELL","exit 0"],"Interval":150000000,"Retries":4}'
  $BERTH run -d --name himg --health-interval 100ms health-img:1
  run $BERTH inspect -f '{{json .Config.Healthcheck}}' himg
  assert_eq "$output" '{"Test":["CMD-SHELL","exit 0"],"Interval":100000000,"Retries":4}'
  wait_until 10 health_is himg healthy
  $BERTH run -d --name himg2 --no-healthcheck health-img:1
  assert_eq "$($BERTH inspect -f '{{index .Config.Healthcheck.Test 0}}' himg2)" NONE
  sleep 0.5
  assert_eq "$(ijson himg2 State.Health)" "<missing Health>"
  run $BERTH ps --filter name=himg2 --format '{{.Status}}'
  assert_not_has "$output" "health"
  $BERTH rm -f himg himg2 hbase
  $BERTH rmi health-img:1 >/dev/null
}

@test "health state and probing survive a berthd restart" {
  $BERTH run -d --name hlive --health-cmd 'exit 1' --health-interval 100ms --health-retries 1 busybox sleep 300
  wait_until 10 health_is hlive unhealthy
  BERTHD_PID=$(cat "$BERTH_DIR/berthd.daemon-pid" 2>/dev/null || echo "$BERTHD_PID")
  kill -KILL "$BERTHD_PID"
  wait "$BERTHD_PID" 2>/dev/null || true
  while kill -0 "$BERTHD_PID" 2>/dev/null; do sleep 0.05; done
  (
    for f in /proc/$BASHPID/fd/*; do
      n=${f##*/}
      [ "$n" -gt 2 ] && eval "exec $n>&-"
    done 2>/dev/null
    exec "$BERTHD_BIN" --data-root "$BERTH_DIR/data" --exec-root "$BERTH_DIR/run" \
      -H "unix://$BERTH_SOCK" --group root --default-registry 127.0.0.1:1 \
      --pidfile "$BERTH_DIR/berthd.pid" --log-level debug </dev/null >>"$BERTH_DIR/berthd.log" 2>&1
  ) &
  BERTHD_PID=$!
  export BERTHD_PID
  echo "$BERTHD_PID" >"$BERTH_DIR/berthd.daemon-pid"
  wait_until 10 curl -fsS --unix-socket "$BERTH_SOCK" http://localhost/_ping
  assert_eq "$(health_of hlive)" unhealthy
  # probing goes on: new entries arrive in the log
  last=$($BERTH inspect -f '{{json .State.Health.Log}}' hlive | md5sum)
  wait_until 10 sh -c "[ \"\$($BERTH inspect -f '{{json .State.Health.Log}}' hlive | md5sum)\" != '$last' ]"
  $BERTH rm -f hlive
}
