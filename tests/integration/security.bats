#!/usr/bin/env bats
# security.bats: Docker's security defaults in force inside a container (capabilities, seccomp,
# masked and read-only paths, /dev/shm) and each `run` flag that changes them or sets a resource
# limit (seen in /proc and in the container's cgroup files), plus --init and Docker's 400s
load helpers

setup_file() {
  berth_start_daemon
  berth_import_busybox busybox:latest
}

teardown_file() { berth_stop_daemon; }

teardown() { berth_teardown; }

# in ARGS... -- CMD: run a throw-away container, output in $output
in_ctr() { run timeout 60 $BERTH run --rm "$@"; }

field() { printf '%s\n' "$output" | awk -v k="$1:" '$1 == k { print $2 }'; }

@test "defaults: Docker's capability set, seccomp filter, no no_new_privs" {
  in_ctr busybox cat /proc/1/status
  assert_status 0
  assert_eq "$(field CapEff)" 00000000a80425fb CapEff
  assert_eq "$(field CapBnd)" 00000000a80425fb CapBnd
  assert_eq "$(field Seccomp)" 2 Seccomp
  assert_eq "$(field NoNewPrivs)" 0 NoNewPrivs
}

@test "defaults: the seccomp profile blocks unshare, which the capabilities would allow" {
  in_ctr busybox unshare -U true
  [ "$status" -ne 0 ]
  assert_match "$output" "Operation not permitted"
  # without the profile the same call succeeds: the filter, not the caps, refused it
  in_ctr --security-opt seccomp=unconfined busybox sh -c 'grep Seccomp: /proc/1/status; unshare -U true && echo ok'
  assert_status 0
  assert_line_re "$output" "^Seccomp:[[:space:]]+0$"
  assert_line "$output" ok
}

@test "defaults: masked /proc/kcore and /proc/keys, read-only /proc/sys and /sys, 64M /dev/shm" {
  in_ctr busybox sh -c 'wc -c </proc/keys; echo 1 >/proc/sys/kernel/domainname && echo sys-written;
    touch /sys/x 2>/dev/null && echo sysfs-written; df -k /dev/shm | tail -1'
  assert_status 0
  assert_line "$output" 0
  assert_not_has "$output" sys-written
  assert_not_has "$output" sysfs-written
  assert_match "$output" "shm +65536 "
  in_ctr busybox sh -c 'test -s /proc/kcore && echo kcore-readable; true'
  assert_not_has "$output" kcore-readable
}

@test "--privileged: all capabilities, no seccomp, writable /sys, no masked paths, host devices" {
  in_ctr --privileged busybox sh -c 'grep -E "^(CapEff|Seccomp):" /proc/1/status; mount | grep " on /sys type";
    test -e /dev/kmsg && echo has-kmsg; wc -c </proc/keys'
  assert_status 0
  assert_line_re "$output" "^[1-9][0-9]*$"
  # every capability the daemon itself holds (all of them, outside a restricted sandbox)
  assert_line_re "$output" "^CapEff:[[:space:]]+$(awk '$1 == "CapBnd:" { print $2 }' /proc/self/status)$"
  assert_line_re "$output" "^Seccomp:[[:space:]]+0$"
  assert_match "$output" "sysfs on /sys type sysfs \(rw"
  assert_line "$output" has-kmsg
}

@test "--cap-add/--cap-drop: names with or without CAP_, any case, and ALL" {
  in_ctr --cap-add net_admin --cap-drop CAP_CHOWN busybox grep CapEff /proc/1/status
  assert_status 0
  assert_eq "$(field CapEff)" 00000000a80435fa CapEff
  in_ctr --cap-drop ALL --cap-add Chown busybox grep CapEff /proc/1/status
  assert_eq "$(field CapEff)" 0000000000000001 CapEff
  in_ctr --cap-add foo busybox true
  [ "$status" -ne 0 ]
  assert_match "$output" 'invalid CapAdd: unknown capability: "CAP_FOO"'
}

@test "--security-opt no-new-privileges, and options Docker refuses" {
  in_ctr --security-opt no-new-privileges busybox grep NoNewPrivs /proc/1/status
  assert_eq "$(field NoNewPrivs)" 1 NoNewPrivs
  in_ctr --security-opt no-new-privileges=false busybox grep NoNewPrivs /proc/1/status
  assert_eq "$(field NoNewPrivs)" 0 NoNewPrivs
  in_ctr --security-opt bogus busybox true
  assert_match "$output" 'invalid --security-opt 1: "bogus"'
  in_ctr --security-opt label=user:x busybox true
  [ "$status" -ne 0 ]
  assert_match "$output" "SELinux"
}

@test "--security-opt seccomp=FILE: a custom profile (as the CLI sends its JSON)" {
  local p="$BATS_TEST_TMPDIR/profile.json"
  printf '%s\n' '{"defaultAction": "SCMP_ACT_ALLOW",' \
    '"syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}' >"$p"
  in_ctr --security-opt "seccomp=$p" busybox sh -c 'mkdir /tmp/d; grep Seccomp: /proc/1/status'
  assert_match "$output" "Permission denied"
  assert_line_re "$output" "^Seccomp:[[:space:]]+2$"
  in_ctr --security-opt "seccomp=$BATS_TEST_TMPDIR/missing.json" busybox true
  assert_match "$output" "opening seccomp profile"
}

@test "--read-only and --tmpfs" {
  in_ctr --read-only busybox touch /x
  [ "$status" -ne 0 ]
  assert_match "$output" "Read-only file system"
  in_ctr --read-only --tmpfs /run:rw,noexec,size=64m busybox sh -c 'touch /run/x && mount | grep " /run "'
  assert_status 0
  assert_match "$output" "tmpfs on /run type tmpfs \(rw,nosuid,nodev,noexec"
  assert_match "$output" "size=65536k"
}

@test "--device, --ulimit, --sysctl" {
  in_ctr --device /dev/null:/dev/mynull busybox sh -c 'ls -l /dev/mynull; echo hi >/dev/mynull && echo written'
  assert_status 0
  assert_match "$output" "^c.* 1, +3 "
  assert_line "$output" written
  in_ctr --ulimit nofile=100:200 busybox sh -c 'ulimit -n; ulimit -Hn'
  assert_eq "$output" $'100\n200'
  in_ctr --sysctl net.ipv4.ip_forward=1 busybox cat /proc/sys/net/ipv4/ip_forward
  assert_eq "$output" 1
  in_ctr --sysctl kernel.hostname=x busybox true
  assert_match "$output" 'sysctl "kernel.hostname" is not in a separate kernel namespace'
}

@test "-u uid:gid, --group-add, and non-root capabilities" {
  in_ctr -u 1000:1000 --group-add 10 --group-add nogroup busybox sh -c 'id; grep -E "^Cap(Eff|Bnd):" /proc/self/status'
  assert_status 0
  assert_match "$output" "uid=1000 gid=1000 groups=10,65534"
  assert_eq "$(field CapEff)" 0000000000000000 CapEff
  assert_eq "$(field CapBnd)" 00000000a80425fb CapBnd
}

@test "-m, --memory-reservation, --cpus, --cpu-shares, --cpuset-*, --oom-kill-disable, swappiness in cgroups" {
  in_ctr -m 64m --memory-reservation 32m --cpus 0.5 --cpu-shares 512 busybox sh -c '
    cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory/memory.soft_limit_in_bytes
    cd /sys/fs/cgroup/cpu && cat cpu.cfs_quota_us cpu.cfs_period_us cpu.shares'
  assert_status 0
  assert_eq "$output" $'67108864\n33554432\n50000\n100000\n512'
  in_ctr --cpuset-cpus 0 --cpuset-mems 0 -m 64m --oom-kill-disable --memory-swappiness 10 busybox sh -c '
    cd /sys/fs/cgroup && cat cpuset/cpuset.cpus cpuset/cpuset.mems memory/memory.swappiness
    grep oom_kill_disable memory/memory.oom_control; grep Cpus_allowed_list /proc/self/status'
  assert_status 0
  assert_eq "$output" $'0\n0\n10\noom_kill_disable 1\nCpus_allowed_list:\t0'
  run $BERTH create --name memctr -m 64m busybox true
  assert_status 0
  run $BERTH inspect -f '{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.NanoCpus}}' memctr
  assert_eq "$output" "67108864 134217728 0"
  $BERTH rm memctr >/dev/null
}

@test "--pids-limit stops a fork bomb" {
  in_ctr --pids-limit 10 busybox sh -c 'cat /sys/fs/cgroup/pids/pids.max; for i in $(seq 30); do sleep 2 & done; wait; echo done'
  assert_match "$output" "^10"
  assert_match "$output" "can't fork"
}

@test "--shm-size and --cgroupns private" {
  in_ctr --shm-size 128m busybox df -k /dev/shm
  assert_match "$output" "shm +131072 "
  in_ctr --cgroupns private busybox sh -c 'grep memory /proc/self/cgroup'
  assert_status 0
  assert_match "$output" ":memory:/$"
}

@test "--init: PID 1 is berth-init, which reaps zombies and passes the exit code" {
  in_ctr --init busybox sh -c 'cat /proc/1/cmdline | tr "\0" " "; echo; (sh -c "sleep 0 & exec true") ; sleep 0.3;
    ps -o pid,stat,comm | grep -c " Z " ; exit 3'
  assert_status 3
  assert_match "$output" "^/sbin/docker-init -- sh -c"
  assert_eq "$(printf '%s\n' "$output" | tail -1)" 0 "zombies"
}

@test "invalid resource values: Docker's 400 messages" {
  local cases=("-m 1m|Minimum memory limit allowed is 6MB"
    "-m 64m --memory-swap 32m|Minimum memoryswap limit should be larger than memory limit"
    "--memory-reservation 1m|Minimum memory reservation allowed is 6MB"
    "--cpus 64|Range of CPUs is from 0.01 to"
    "--cpu-period 10|CPU cfs period can not be less than 1ms"
    "--cpus 1 --cpu-quota 50000|Conflicting options: Nano CPUs and CPU Quota cannot both be set"
    "--cpuset-cpus 99|Requested CPUs are not available"
    "--oom-score-adj 5000|Invalid value 5000, range for oom score adj is [-1000, 1000]"
    "--cgroupns bogus|invalid cgroup namespace mode: bogus")
  local c
  for c in "${cases[@]}"; do
    run $BERTH create ${c%%|*} busybox true
    [ "$status" -ne 0 ] || fail "accepted: ${c%%|*}"
    assert_has "$output" "${c#*|}"
  done
  run api POST /containers/create -H 'Content-Type: application/json' -d '{"Image":"busybox","Cmd":["true"],"HostConfig":{"Memory":1024}}'
  assert_has "$output" "HTTP 400"
}
