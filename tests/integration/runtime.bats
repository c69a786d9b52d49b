#!/usr/bin/env bats
# runtime.bats - berth-runtime driven as an OCI runtime on a busybox bundle (needs root)

# BERTH_RUNTIME, else the binary in $BUILD_DIR (tests/run-all.sh exports it), else build/
RUNTIME="${BERTH_RUNTIME:-${BUILD_DIR:-$BATS_TEST_DIRNAME/../../build}/src/runtime/berth-runtime}"

setup_file() {
  [ "$(id -u)" -eq 0 ] || skip "berth-runtime tests need root"
  [ -x "$RUNTIME" ] || { echo "berth-runtime not built: $RUNTIME" >&2; return 1; }
  export ROOTFS="$BATS_FILE_TMPDIR/rootfs"
  mkdir -p "$ROOTFS/bin" "$ROOTFS/etc" "$ROOTFS/tmp"
  cp /bin/busybox "$ROOTFS/bin/busybox"
  for a in $("$ROOTFS/bin/busybox" --list); do
    [ "$a" = busybox ] || ln -sf busybox "$ROOTFS/bin/$a"
  done
  echo 'root:x:0:0:root:/root:/bin/sh' > "$ROOTFS/etc/passwd"
}

setup() {
  STATE="$BATS_TEST_TMPDIR/state"
  BUNDLE="$BATS_TEST_TMPDIR/bundle"
  mkdir -p "$BUNDLE"
  ID="rt-$BATS_TEST_NUMBER-$$"
}

teardown() {
  "$RUNTIME" --root "$STATE" delete --force "$ID" >/dev/null 2>&1 || true
}

rt() { "$RUNTIME" --root "$STATE" "$@"; }

# bundle ARGS_JSON [PYTHON]: a config.json from `berth-runtime spec`; PYTHON edits it as the dict c
# (python3, not jq: CI installs no jq)
bundle() {
  "$RUNTIME" spec | python3 -c '
import json, sys
c = json.load(sys.stdin)
c["root"]["path"], c["process"]["args"], c["hostname"] = sys.argv[1], json.loads(sys.argv[2]), "box"
exec(sys.argv[3])
json.dump(c, open(sys.argv[4], "w"))' "$ROOTFS" "$1" "${2:-pass}" "$BUNDLE/config.json"
}

# jget KEY...: a field of the JSON on stdin
jget() { python3 -c 'import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1:]: v = v[int(k)] if isinstance(v, list) else v[k]
print(v)' "$@"; }
status_of() { rt state "$1" | jget status; }

@test "spec prints a valid default config" {
  run "$RUNTIME" spec
  [ "$status" -eq 0 ]
  [ "$(echo "$output" | jget ociVersion)" = 1.0.2 ]
  [ "$(echo "$output" | jget root path)" = rootfs ]
  [ "$(echo "$output" | jget linux namespaces 4 type)" = mount ]
}

@test "run echo prints its output" {
  bundle '["echo", "hello world"]'
  run rt run --bundle "$BUNDLE" "$ID"
  [ "$status" -eq 0 ]
  [ "$output" = "hello world" ]
}

@test "run propagates the exit code" {
  bundle '["sh", "-c", "exit 7"]'
  run rt run --bundle "$BUNDLE" "$ID"
  [ "$status" -eq 7 ]
}

@test "hostname, pid 1, /proc and /dev/null inside the container" {
  bundle '["sh", "-c", "hostname; echo $$; cat /proc/1/comm; echo x > /dev/null && test -c /dev/null && echo devnull-ok; readlink /dev/stdout"]'
  run rt run --bundle "$BUNDLE" "$ID"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "box" ]
  [ "${lines[1]}" = "1" ]
  [ "${lines[2]}" = "sh" ]
  [ "${lines[3]}" = "devnull-ok" ]
  [ "${lines[4]}" = "/proc/self/fd/1" ]
}

@test "create, state, start, kill, delete" {
  bundle '["sleep", "300"]'
  rt create --bundle "$BUNDLE" --pid-file "$BATS_TEST_TMPDIR/pid" "$ID" </dev/null >/dev/null 2>&1
  run rt state "$ID"
  [ "$status" -eq 0 ]
  [ "$(echo "$output" | jget status)" = created ]
  [ "$(echo "$output" | jget pid)" = "$(cat "$BATS_TEST_TMPDIR/pid")" ]
  [ "$(echo "$output" | jget bundle)" = "$BUNDLE" ]
  rt start "$ID"
  [ "$(status_of "$ID")" = running ]
  run rt delete "$ID"
  [ "$status" -eq 1 ]
  [[ "$output" == *"not stopped: running"* ]]
  rt kill "$ID" KILL
  for i in $(seq 50); do [ "$(status_of "$ID")" = stopped ] && break; sleep 0.02; done
  [ "$(status_of "$ID")" = stopped ]
  rt delete "$ID"
  run rt state "$ID"
  [ "$status" -eq 1 ]
  [[ "$output" == *"does not exist"* ]]
}

@test "delete --force kills a running container" {
  bundle '["sleep", "300"]'
  rt run -d --bundle "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1
  pid=$(rt state "$ID" | jget pid)
  [ "$(status_of "$ID")" = running ]
  rt delete --force "$ID"
  run rt list -q
  [[ "$output" != *"$ID"* ]]
  ! kill -0 "$pid" 2>/dev/null || [ "$(awk '{print $3}' /proc/$pid/stat)" = Z ]
}

@test "kill accepts signal names and numbers" {
  bundle '["sh", "-c", "trap \"echo got-usr1; exit 3\" USR1; while :; do sleep 0.05; done"]'
  rt run -d --bundle "$BUNDLE" "$ID" </dev/null >"$BATS_TEST_TMPDIR/out" 2>&1
  sleep 0.2
  rt kill "$ID" SIGUSR1
  for i in $(seq 50); do [ "$(status_of "$ID")" = stopped ] && break; sleep 0.02; done
  grep -q got-usr1 "$BATS_TEST_TMPDIR/out"
  run rt kill "$ID" 9
  [ "$status" -eq 1 ]
  run rt kill "$ID" NOSUCHSIG
  [ "$status" -eq 1 ]
  [[ "$output" == *"unknown signal"* ]]
}

@test "a missing executable is named in the error" {
  bundle '["no-such-program", "arg"]'
  run rt create --bundle "$BUNDLE" "$ID"
  [ "$status" -eq 1 ]
  [[ "$output" == *'"no-such-program": executable file not found in $PATH'* ]]
  [ ! -e "$STATE/$ID" ]
}

@test "errors go to --log as error: lines" {
  bundle '["no-such-program"]'
  run "$RUNTIME" --root "$STATE" --log "$BATS_TEST_TMPDIR/log" create --bundle "$BUNDLE" "$ID"
  [ "$status" -eq 1 ]
  grep -q '^error: .*no-such-program' "$BATS_TEST_TMPDIR/log"
  run "$RUNTIME" --root "$STATE" --log "$BATS_TEST_TMPDIR/log.json" --log-format json create --bundle "$BUNDLE" "$ID"
  [ "$(jget level < "$BATS_TEST_TMPDIR/log.json")" = error ]
}

@test "no mounts are left behind after delete" {
  bundle '["sleep", "300"]'
  rt run -d --bundle "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1
  rt delete --force "$ID"
  ! grep -F "$ROOTFS" /proc/self/mountinfo
}

@test "mount destinations cannot escape the rootfs through symlinks" {
  outside="$BATS_TEST_TMPDIR/outside"
  mkdir -p "$outside"
  ln -sfn "../../../../../../../../$outside" "$ROOTFS/escape"
  bundle '["sh", "-c", "test -d /escape/sub && echo inside"]' \
    'c["mounts"].append({"destination": "/escape/sub", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]})'
  run rt run --bundle "$BUNDLE" "$ID"
  rm -f "$ROOTFS/escape"
  [ "$status" -eq 0 ]
  [ "$output" = inside ]
  [ ! -e "$outside/sub" ]
  [ -d "$ROOTFS/$outside/sub" ]
}

@test "bind mounts, read-only root and masked paths" {
  mkdir -p "$BATS_TEST_TMPDIR/data" "$BUNDLE/rel" && echo payload > "$BATS_TEST_TMPDIR/data/f"
  echo relative > "$BUNDLE/rel/f"
  bundle '["sh", "-c", "cat /data/f; touch /data/g 2>/dev/null || echo data-ro; touch /x 2>/dev/null || echo root-ro; cat /proc/keys | wc -c; (echo 1 > /proc/sys/kernel/hostname) 2>/dev/null || echo procsys-ro; cat /rel/f"]' \
    "c['root']['readonly'] = True; c['mounts'].append({'destination': '/data', 'type': 'bind', 'source': '$BATS_TEST_TMPDIR/data', 'options': ['rbind', 'ro']})
c['mounts'].append({'destination': '/rel', 'type': 'bind', 'source': 'rel', 'options': ['bind']})"
  run rt run --bundle "$BUNDLE" "$ID"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = payload ]
  [ "${lines[1]}" = data-ro ]
  [ "${lines[2]}" = root-ro ]
  [ "${lines[3]}" = 0 ]
  [ "${lines[4]}" = procsys-ro ]
  [ "${lines[5]}" = relative ]
}

@test "user, cwd, env, capabilities and rlimits are applied" {
  bundle '["sh", "-c", "id -u; id -g; pwd; echo $FOO; echo $HOME; ulimit -n; grep CapEff /proc/self/status"]' \
    'p = c["process"]; p["user"] = {"uid": 1000, "gid": 1000, "additionalGids": [10]}; p["cwd"] = "/work/dir"; p["env"].append("FOO=bar")
p["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 512}]
p["capabilities"].update({k: ["CAP_KILL"] for k in ("effective", "permitted", "inheritable", "ambient")})'
  run rt run --bundle "$BUNDLE" "$ID"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = 1000 ]
  [ "${lines[1]}" = 1000 ]
  [ "${lines[2]}" = /work/dir ]
  [ "${lines[3]}" = bar ]
  [ "${lines[4]}" = / ]
  [ "${lines[5]}" = 512 ]
  [[ "${lines[6]}" == *0000000000000020 ]]
}

@test "ambient capabilities the kernel refuses (none inheritable, as runc spec writes) are left out" {
  bundle '["sh", "-c", "grep CapAmb /proc/self/status"]' \
    'p = c["process"]; p["capabilities"]["inheritable"] = []
p["capabilities"]["ambient"] = ["CAP_KILL", "CAP_AUDIT_WRITE"]'
  run rt run --bundle "$BUNDLE" "$ID"
  [ "$status" -eq 0 ]
  [[ "$output" == *"CapAmb:"*0000000000000000* ]]
}

@test "cgroup limits are applied and the cgroup is removed on delete" {
  [ -d /sys/fs/cgroup/memory ] || skip "no cgroup v1 memory hierarchy"
  bundle '["sh", "-c", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max"]' \
    "c['linux']['cgroupsPath'] = '/berth-rt-test/$ID'; c['linux']['resources'].update({'memory': {'limit': 67108864}, 'pids': {'limit': 64}})"
  run rt run --bundle "$BUNDLE" "$ID"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = 67108864 ]
  [ "${lines[1]}" = 64 ]
  [ ! -e "/sys/fs/cgroup/memory/berth-rt-test/$ID" ]
}

@test "seccomp filter from the config is enforced" {
  bundle '["sh", "-c", "mkdir /tmp/sc-$$ 2>&1 || echo denied"]' \
    'c["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"], "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}'
  run rt run --bundle "$BUNDLE" "$ID"
  [ "$status" -eq 0 ]
  [[ "$output" == *denied* ]]
  # the second run loads the compiled filter from the cache under --root
  ls "$STATE"/.seccomp/*.bpf
  run rt run --bundle "$BUNDLE" "$ID"
  [ "$status" -eq 0 ]
  [[ "$output" == *denied* ]]
}

@test "terminal: the pty master is sent over --console-socket" {
  bundle '["sh", "-c", "tty; echo in-tty"]' 'c["process"]["terminal"] = True'
  sock="$BATS_TEST_TMPDIR/console.sock"
  # the listener gives up after 20 s, so a runtime that never connects cannot hang the suite
  timeout 20 python3 - "$sock" "$BATS_TEST_TMPDIR/tty.out" <<'PY' &
import array, os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(1)
c, _ = s.accept()
fds = array.array("i")
msg, anc, _, _ = c.recvmsg(1, socket.CMSG_LEN(fds.itemsize))
fds.frombytes(anc[0][2][:fds.itemsize])
out = b""
while True:
    try:
        d = os.read(fds[0], 4096)
    except OSError:
        break
    if not d:
        break
    out += d
open(sys.argv[2], "wb").write(out)
PY
  listener=$!
  for i in $(seq 50); do [ -S "$sock" ] && break; sleep 0.02; done
  run rt run --console-socket "$sock" --bundle "$BUNDLE" "$ID" </dev/null
  [ "$status" -eq 0 ] || kill "$listener" 2>/dev/null
  wait "$listener" || true
  [ "$status" -eq 0 ]
  grep -q '^/dev/pts/0' "$BATS_TEST_TMPDIR/tty.out"
  grep -q 'in-tty' "$BATS_TEST_TMPDIR/tty.out"
}

@test "a network namespace given by path is joined" {
  ns="$BATS_TEST_TMPDIR/netns"
  touch "$ns"
  unshare --net="$ns" true
  bundle '["stat", "-L", "-c", "%i", "/proc/self/ns/net"]' "[n.update(path='$ns') for n in c['linux']['namespaces'] if n['type'] == 'network']"
  run rt run --bundle "$BUNDLE" "$ID"
  inode=$(stat -L -c %i "$ns")
  umount "$ns"
  [ "$status" -eq 0 ]
  [ "$output" = "$inode" ]
}

@test "sysctls are written and devices cgroup rules enforced" {
  [ -d /sys/fs/cgroup/devices ] || skip "no cgroup v1 devices hierarchy"
  bundle '["sh", "-c", "cat /proc/sys/net/ipv4/ip_unprivileged_port_start; mknod /tmp/sda b 8 0 && head -c1 /tmp/sda >/dev/null 2>&1 || echo blocked; echo x > /dev/null && echo null-ok"]' \
    "c['linux'].update(sysctl={'net.ipv4.ip_unprivileged_port_start': '0'}, cgroupsPath='/berth-rt-test/$ID')
c['linux']['resources']['devices'] = [{'allow': False, 'access': 'rwm'}, {'allow': True, 'type': 'c', 'major': 1, 'minor': 3, 'access': 'rwm'}]"
  run rt run --bundle "$BUNDLE" "$ID"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = 0 ]
  [[ "$output" == *blocked* ]]
  [[ "$output" == *null-ok* ]]
}

@test "a created container is deleted only with --force (the spec: not stopped is an error)" {
  bundle '["sleep", "300"]'
  rt create --bundle "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1
  pid=$(rt state "$ID" | jget pid)
  run rt delete "$ID"
  [ "$status" -eq 1 ]
  [[ "$output" == *"not stopped: created"* ]]
  rt delete --force "$ID"
  [ ! -e "$STATE/$ID" ]
  ! kill -0 "$pid" 2>/dev/null || [ "$(awk '{print $3}' /proc/$pid/stat)" = Z ]
}

@test "unsupported features are refused with a clear error" {
  bundle '["true"]' 'c["linux"]["intelRdt"] = {"closID": "x"}'
  run rt run --bundle "$BUNDLE" "$ID"
  [ "$status" -eq 1 ]
  [[ "$output" == *"linux.intelRdt is not supported yet"* ]]
  bundle '["true"]' 'c["process"]["terminal"] = True'
  run rt create --bundle "$BUNDLE" "$ID"
  [ "$status" -eq 1 ]
  [[ "$output" == *"--console-socket"* ]]
}

@test "create refuses a duplicate id and start refuses a running container" {
  bundle '["sleep", "300"]'
  rt run -d --bundle "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1
  run rt create --bundle "$BUNDLE" "$ID"
  [ "$status" -eq 1 ]
  [[ "$output" == *"already exists"* ]]
  run rt start "$ID"
  [ "$status" -eq 1 ]
  [[ "$output" == *"already running"* ]]
  run rt list
  [[ "$output" == *"$ID"*running* ]]
}

@test "a user namespace with id mappings" {
  # the mapped root must be able to reach the rootfs: bats' own temp dirs are 0700
  udir=$(mktemp -d /tmp/berth-rt-userns.XXXXXX)
  chmod 755 "$udir"
  urootfs="$udir/rootfs"
  cp -a "$ROOTFS" "$urootfs"
  chown -R 100000:100000 "$urootfs"
  bundle '["sh", "-c", "id -u; cat /proc/self/uid_map; echo x > /dev/null && echo null-ok; hostname; grep pids: /proc/self/cgroup"]' \
    "c['root']['path'] = '$urootfs'; c['linux']['namespaces'].append({'type': 'user'}); c['linux']['cgroupsPath'] = '/berth-rt-test/$ID'
m = [{'containerID': 0, 'hostID': 100000, 'size': 65536}]; c['linux'].update(uidMappings=m, gidMappings=m)"
  run rt run --bundle "$BUNDLE" "$ID"
  rm -rf "$udir"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = 0 ]
  [[ "${lines[1]}" == *100000*65536* ]]
  [ "${lines[2]}" = null-ok ]
  [ "${lines[3]}" = box ]
  [[ "${lines[4]}" == *":pids:/berth-rt-test/$ID" ]]
}

@test "exec runs a process in the container's namespaces and cgroup" {
  bundle '["sleep", "300"]' "c['process']['env'].append('FOO=bar'); c['linux']['cgroupsPath'] = '/berth-rt-test/$ID'"
  rt run -d --bundle "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1
  run rt exec "$ID" sh -c 'echo $$ $(hostname) $FOO; cat /proc/1/comm; exit 5'
  [ "$status" -eq 5 ]
  [ "${lines[0]}" = "2 box bar" ]
  [ "${lines[1]}" = sleep ]
  run rt exec -u 1000:1000 --cwd /tmp -e X=1 "$ID" sh -c 'id -u; pwd; echo $X'
  [ "$status" -eq 0 ]
  [ "$output" = "$(printf '1000\n/tmp\n1')" ]
  run rt exec "$ID" no-such-tool
  [ "$status" -eq 1 ]
  [[ "$output" == *'"no-such-tool": executable file not found'* ]]
  rt exec -d --pid-file "$BATS_TEST_TMPDIR/epid" "$ID" sleep 300 </dev/null >/dev/null 2>&1
  epid=$(cat "$BATS_TEST_TMPDIR/epid")
  grep -q "/berth-rt-test/$ID" /proc/$epid/cgroup
  rt delete --force "$ID"
  ! kill -0 "$epid" 2>/dev/null || [ "$(awk '{print $3}' /proc/$epid/stat)" = Z ]
}

@test "exec refuses a container that is not running" {
  bundle '["sleep", "300"]'
  rt create --bundle "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1
  run rt exec "$ID" true
  [ "$status" -eq 1 ]
  [[ "$output" == *"not running"* ]]
}

# hook KIND TEXT: a hook that appends "TEXT <its stdin>" to $BATS_TEST_TMPDIR/hooks
hooks_py() {
  echo "out = '$BATS_TEST_TMPDIR/hooks'
c['annotations'] = {'k': 'v'}
c['hooks'] = {k: [{'path': '/bin/sh', 'args': ['sh', '-c', 'echo %s \$(cat) >> %s' % (k, out)]}]
              for k in ['prestart', 'createRuntime', 'createContainer', 'poststart', 'poststop']}
c['hooks']['startContainer'] = [{'path': '/bin/sh', 'args': ['sh', '-c', 'echo startContainer >> /started']}]"
}

@test "hooks of every kind run in order with the state on stdin" {
  bundle '["cat", "/started"]' "$(hooks_py)"
  run rt run --bundle "$BUNDLE" "$ID"
  [ "$status" -eq 0 ]
  [ "$output" = startContainer ]
  run cut -d' ' -f1 "$BATS_TEST_TMPDIR/hooks"
  [ "$output" = "$(printf 'prestart\ncreateRuntime\ncreateContainer\npoststart\npoststop')" ]
  line=$(grep ^prestart "$BATS_TEST_TMPDIR/hooks" | cut -d' ' -f2-)
  [ "$(echo "$line" | jget id)" = "$ID" ]
  [ "$(echo "$line" | jget status)" = created ]
  [ "$(echo "$line" | jget bundle)" = "$BUNDLE" ]
  [ "$(echo "$line" | jget annotations k)" = v ]
  [ "$(grep ^poststart "$BATS_TEST_TMPDIR/hooks" | cut -d' ' -f2- | jget status)" = running ]
}

@test "a failing prestart hook fails create and leaves no state, pid file or mount" {
  bundle '["true"]' "c['hooks'] = {'prestart': [{'path': '/bin/false'}]}"
  run rt create --bundle "$BUNDLE" --pid-file "$BATS_TEST_TMPDIR/pid" "$ID"
  [ "$status" -eq 1 ]
  [[ "$output" == *'prestart hook "/bin/false" exited with status 1'* ]]
  [ ! -e "$STATE/$ID" ]
  [ ! -e "$BATS_TEST_TMPDIR/pid" ]
  ! grep -q " $ROOTFS/" /proc/self/mountinfo
}

@test "a hook past its timeout is killed and fails create; poststart and poststop failures are warnings" {
  bundle '["true"]' "c['hooks'] = {'createRuntime': [{'path': '/bin/sleep', 'args': ['sleep', '5'], 'timeout': 1}]}"
  run rt create --bundle "$BUNDLE" "$ID"
  [ "$status" -eq 1 ]
  [[ "$output" == *"createRuntime hook \"/bin/sleep\" timed out after 1 s"* ]]
  bundle '["true"]' "c['hooks'] = {'poststart': [{'path': '/bin/false'}], 'poststop': [{'path': '/bin/false'}]}"
  run rt run --bundle "$BUNDLE" "$ID"
  [ "$status" -eq 0 ]
  [[ "$output" == *'poststart hook "/bin/false" exited with status 1'* ]]
  [[ "$output" == *'poststop hook "/bin/false" exited with status 1'* ]]
}

@test "a failing startContainer hook is start's error" {
  bundle '["true"]' "c['hooks'] = {'startContainer': [{'path': '/bin/false'}]}"
  rt create --bundle "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1
  run rt start "$ID"
  [ "$status" -eq 1 ]
  [[ "$output" == *'startContainer hook "/bin/false" exited with status 1'* ]]
}

@test "rootfsPropagation sets the propagation of the container's root" {
  for p in shared private unbindable; do
    bundle '["awk", "$5 == \"/\"", "/proc/self/mountinfo"]' "c['linux']['rootfsPropagation'] = '$p'"
    run rt run --bundle "$BUNDLE" "$ID"
    [ "$status" -eq 0 ]
    case $p in
      shared) [[ "$output" == *" shared:"* ]] ;;
      private) [[ "$output" != *"shared:"* && "$output" != *"master:"* ]] ;;
      unbindable) [[ "$output" == *" unbindable "* ]] ;;
    esac
  done
}

@test "a mount namespace given by path is joined and set up" {
  unshare -m --propagation private sleep 300 &
  holder=$!
  sleep 0.2
  want=$(stat -L -c %i /proc/$holder/ns/mnt)
  bundle '["sh", "-c", "stat -L -c %i /proc/self/ns/mnt; cat /etc/passwd | cut -d: -f1"]' \
    "[n.update(path='/proc/$holder/ns/mnt') for n in c['linux']['namespaces'] if n['type'] == 'mount']"
  run rt run --bundle "$BUNDLE" "$ID"
  kill $holder
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "$want" ]
  [ "${lines[1]}" = root ]
}

@test "without a mount namespace the init chroots and delete undoes its mounts" {
  bundle '["sleep", "300"]' "c['linux']['namespaces'] = [n for n in c['linux']['namespaces'] if n['type'] != 'mount']
c['linux']['maskedPaths'] = []; c['linux']['readonlyPaths'] = []"
  rt create --bundle "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1
  pid=$(rt state "$ID" | jget pid)
  [ "$(readlink /proc/$pid/ns/mnt)" = "$(readlink /proc/self/ns/mnt)" ]
  [ "$(readlink /proc/$pid/root)" = "$ROOTFS" ]
  grep -q " $ROOTFS/proc " /proc/self/mountinfo
  rt delete --force "$ID"
  ! grep -q " $ROOTFS/" /proc/self/mountinfo
  # no namespace at all (not even pid): delete --force still ends the init and the mounts
  bundle '["sleep", "300"]' "c['linux']['namespaces'] = []; c['linux']['maskedPaths'] = []; c['linux']['readonlyPaths'] = []; del c['hostname']"
  rt create --bundle "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1
  pid=$(rt state "$ID" | jget pid)
  rt delete --force "$ID"
  ! kill -0 "$pid" 2>/dev/null || [ "$(awk '{print $3}' /proc/$pid/stat)" = Z ]
  ! grep -q " $ROOTFS/" /proc/self/mountinfo
  bundle '["true"]' "c['linux']['namespaces'] = [n for n in c['linux']['namespaces'] if n['type'] != 'mount']"
  run rt create --bundle "$BUNDLE" "$ID"
  [ "$status" -eq 1 ]
  [[ "$output" == *"linux.maskedPaths and linux.readonlyPaths need a private mount namespace"* ]]
}

@test "state says paused while the container is frozen and keeps the annotations" {
  bundle '["sleep", "300"]' "c['linux']['cgroupsPath'] = '/berth-rt-test/$ID'; c['annotations'] = {'org.example': 'x'}"
  rt run -d --bundle "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1
  [ "$(rt state "$ID" | jget annotations org.example)" = x ]
  rt pause "$ID"
  [ "$(status_of "$ID")" = paused ]
  run rt pause "$ID"
  [ "$status" -eq 1 ]
  run rt exec "$ID" true
  [ "$status" -eq 1 ]
  rt resume "$ID"
  [ "$(status_of "$ID")" = running ]
  run rt resume "$ID"
  [ "$status" -eq 1 ]
  rt pause "$ID"
  rt delete --force "$ID"
  [ ! -e "$STATE/$ID" ]
}

@test "features, ps and exec --cap" {
  run "$RUNTIME" features
  [ "$status" -eq 0 ]
  [ "$(echo "$output" | jget hooks 2)" = createContainer ]
  echo "$output" | grep -q '"CAP_SYS_ADMIN"'
  echo "$output" | grep -q '"rbind"'
  bundle '["sleep", "300"]' "c['linux']['cgroupsPath'] = '/berth-rt-test/$ID'"
  rt run -d --bundle "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1
  pid=$(rt state "$ID" | jget pid)
  [ "$(rt ps --format json "$ID")" = "[$pid]" ]
  run rt ps "$ID"
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == *PID* ]]
  [[ "${lines[1]}" == *sleep* ]]
  [ "$(rt exec "$ID" sh -c 'grep CapEff /proc/self/status')" = "$(printf 'CapEff:\t00000000a80425fb')" ]
  [ "$(rt exec --cap CAP_SYS_ADMIN "$ID" sh -c 'grep CapEff /proc/self/status')" = "$(printf 'CapEff:\t00000000a82425fb')" ]
}

@test "a time namespace with a boottime offset" {
  bundle '["cut", "-d.", "-f1", "/proc/uptime"]' "c['linux']['namespaces'].append({'type': 'time'}); c['linux']['timeOffsets'] = {'boottime': {'secs': 864000, 'nanosecs': 0}}"
  run rt run --bundle "$BUNDLE" "$ID"
  [ "$status" -eq 0 ]
  [ "$output" -ge 864000 ]
}

@test "unknown capabilities and an AppArmor profile without AppArmor are refused by name" {
  bundle '["true"]' "c['process']['capabilities']['bounding'].append('CAP_NO_SUCH')"
  run rt run --bundle "$BUNDLE" "$ID"
  [ "$status" -eq 1 ]
  [[ "$output" == *'unknown capability "CAP_NO_SUCH"'* ]]
  [ ! -e "$STATE/$ID" ]
  [ -e /sys/kernel/security/apparmor ] && skip "AppArmor is enabled here"
  bundle '["true"]' "c['process']['apparmorProfile'] = 'docker-default'"
  run rt run --bundle "$BUNDLE" "$ID"
  [ "$status" -eq 1 ]
  [[ "$output" == *'process.apparmorProfile "docker-default": AppArmor is not enabled'* ]]
}

@test "linux.personality and process.ioPriority are applied" {
  bundle '["sh", "-c", "uname -m; ionice -p $$"]' "c['linux']['personality'] = {'domain': 'LINUX32'}; c['process']['ioPriority'] = {'class': 'IOPRIO_CLASS_IDLE', 'priority': 0}"
  run rt run --bundle "$BUNDLE" "$ID"
  [ "$status" -eq 0 ]
  [ "$output" = "$(printf 'i686\nidle')" ]
  bundle '["true"]' "c['linux']['personality'] = {'domain': 'PDP11'}"
  run rt run --bundle "$BUNDLE" "$ID"
  [ "$status" -eq 1 ]
  [[ "$output" == *'linux.personality.domain "PDP11" is not LINUX or LINUX32'* ]]
}

@test "domainname and umask are applied" {
  bundle '["sh", "-c", "cat /proc/sys/kernel/domainname; umask"]' "c['domainname'] = 'example.org'; c['process']['user']['umask'] = 0o077"
  run rt run --bundle "$BUNDLE" "$ID"
  [ "$status" -eq 0 ]
  [ "$output" = "$(printf 'example.org\n0077')" ]
}

@test "a capability the runtime itself lacks is named in the error" {
  bnd=$((16#$(awk '/^CapBnd/ {print $2}' /proc/self/status)))
  last=$(cat /proc/sys/kernel/cap_last_cap)
  missing=
  for i in $(seq 0 "$last"); do (( (bnd >> i) & 1 )) || { missing=$i; break; }; done
  [ -n "$missing" ] || skip "this runtime holds every capability"
  name=$(python3 -c "import sys; print(['CAP_CHOWN','CAP_DAC_OVERRIDE','CAP_DAC_READ_SEARCH','CAP_FOWNER','CAP_FSETID','CAP_KILL','CAP_SETGID','CAP_SETUID','CAP_SETPCAP','CAP_LINUX_IMMUTABLE','CAP_NET_BIND_SERVICE','CAP_NET_BROADCAST','CAP_NET_ADMIN','CAP_NET_RAW','CAP_IPC_LOCK','CAP_IPC_OWNER','CAP_SYS_MODULE','CAP_SYS_RAWIO','CAP_SYS_CHROOT','CAP_SYS_PTRACE','CAP_SYS_PACCT','CAP_SYS_ADMIN','CAP_SYS_BOOT','CAP_SYS_NICE','CAP_SYS_RESOURCE','CAP_SYS_TIME','CAP_SYS_TTY_CONFIG','CAP_MKNOD','CAP_LEASE','CAP_AUDIT_WRITE','CAP_AUDIT_CONTROL','CAP_SETFCAP','CAP_MAC_OVERRIDE','CAP_MAC_ADMIN','CAP_SYSLOG','CAP_WAKE_ALARM','CAP_BLOCK_SUSPEND','CAP_AUDIT_READ','CAP_PERFMON','CAP_BPF','CAP_CHECKPOINT_RESTORE'][int(sys.argv[1])])" "$missing")
  bundle '["true"]' "[c['process']['capabilities'][k].append('$name') for k in ('bounding', 'effective', 'permitted')]"
  run rt run --bundle "$BUNDLE" "$ID"
  [ "$status" -eq 1 ]
  [[ "$output" == *"process.capabilities: $name is not held by the runtime"* ]]
  [ ! -e "$STATE/$ID" ]
}
