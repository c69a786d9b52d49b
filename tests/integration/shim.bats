#!/usr/bin/env bats
# shim.bats - berth-shim driven directly: a fake OCI runtime (python) stands in for berth-runtime,
# python plays berthd on the sync socket and attach clients; one test uses the real runtime if built.

setup_file() {
  export ROOT_DIR="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
  if [ -z "${SHIM:-}" ] && [ -n "${BUILD_DIR:-}" ]; then
    # run-all.sh's build (BUILD_DIR is absolute there, or relative to the repository)
    case $BUILD_DIR in /*) SHIM=$BUILD_DIR/src/shim/berth-shim ;; *) SHIM=$ROOT_DIR/$BUILD_DIR/src/shim/berth-shim ;; esac
  fi
  if [ -z "${SHIM:-}" ]; then
    # the newest build, preferring one without sanitizers (set SHIM= to test a sanitizer build)
    local b
    for b in $(ls -t "$ROOT_DIR"/build*/src/shim/berth-shim 2>/dev/null); do
      [ -n "${SHIM:-}" ] || SHIM=$b
      if ! nm -D "$b" 2>/dev/null | grep -q __asan_init; then SHIM=$b; break; fi
    done
  fi
  export SHIM
  [ -x "$SHIM" ] || { echo "berth-shim is not built (set SHIM=)" >&2; return 1; }
  export T="$BATS_FILE_TMPDIR"
  write_fake_runtime "$T/fake-runtime"
  write_helper "$T/shimtest.py"
}

# The fake runtime: create forks a child that waits on a fifo until start, then runs
# BUNDLE/cmd with sh; with --console-socket it makes a pty and sends the master over the socket.
write_fake_runtime() {
  cat >"$1" <<'EOF'
#!/usr/bin/env python3
import fcntl, os, shutil, signal, socket, sys, termios, pty
args = sys.argv[1:]
glob = {}
while args and args[0] in ('--root', '--log', '--log-format'):
    glob[args[0]] = args[1]; args = args[2:]
cmd, args = args[0], args[1:]
opts, rest = {}, []
while args:
    a = args.pop(0)
    if a in ('--bundle', '--pid-file', '--console-socket'): opts[a] = args.pop(0)
    elif a.startswith('--'): opts[a] = True
    else: rest.append(a)
cid = rest[0]
d = os.path.join(glob['--root'], cid)
with open(os.path.join(glob['--root'], 'calls'), 'a') as f: f.write(cmd + ' ' + cid + '\n')
def fail(msg):
    if '--log' in glob:
        with open(glob['--log'], 'a') as f: f.write('warning: something\nerror: %s\n' % msg)
    sys.stderr.write(msg + '\n'); sys.exit(1)
if cmd == 'create':
    script = open(os.path.join(opts['--bundle'], 'cmd')).read()
    if script.startswith('FAIL '): fail(script[5:].strip())
    os.makedirs(d)
    os.mkfifo(d + '/fifo')
    master = slave = None
    if '--console-socket' in opts: master, slave = pty.openpty()
    pid = os.fork()
    if pid == 0:
        if slave is not None:
            os.close(master); os.setsid(); fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
            for i in range(3): os.dup2(slave, i)
            os.close(slave)
        for s in range(1, 32):
            try: signal.signal(s, signal.SIG_DFL)
            except (OSError, ValueError): pass
        fd = os.open(d + '/fifo', os.O_RDONLY)
        os.read(fd, 1); os.close(fd)
        os.execv('/bin/sh', ['sh', '-c', script])
    if master is not None:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(opts['--console-socket'])
        socket.send_fds(s, [b'/dev/pts/x'], [master])
        s.close(); os.close(master); os.close(slave)
    open(d + '/pid', 'w').write(str(pid))
    open(opts['--pid-file'], 'w').write(str(pid))
elif cmd == 'start':
    if os.path.exists(os.path.join(glob['--root'], 'fail-start')): fail('fake start failed')
    try: fd = os.open(d + '/fifo', os.O_WRONLY | os.O_NONBLOCK)
    except OSError as e: fail('container is not waiting: %s' % e)
    os.write(fd, b'x'); os.close(fd)
elif cmd == 'delete':
    if not os.path.isdir(d):
        if '--force' in opts: sys.exit(0)
        fail('container %s does not exist' % cid)
    try: os.kill(int(open(d + '/pid').read()), signal.SIGKILL)
    except (OSError, ValueError): pass
    shutil.rmtree(d)
else:
    fail('unknown command ' + cmd)
EOF
  chmod +x "$1"
}

# shimtest.py: start the shim the way berthd does (fd 3 = sync socket, 0-2 = /dev/null; stderr
# kept in a file for the test), talk on the sync socket, connect attach clients.
write_helper() {
  cat >"$1" <<'EOF'
import json, os, select, signal, socket, time
SHIM = os.environ['SHIM']
T = os.environ['T']
class Shim:
    def __init__(self, name, script, flags=(), runtime=None, bundle=None, log_driver='json-file'):
        self.dir = os.path.join(T, name)
        os.makedirs(self.dir, exist_ok=True)
        self.state = os.path.join(self.dir, 'state')
        self.rroot = os.path.join(self.dir, 'rroot')
        os.makedirs(self.rroot, exist_ok=True)
        self.bundle = bundle or os.path.join(self.dir, 'bundle')
        if script is not None:
            os.makedirs(self.bundle, exist_ok=True)
            open(os.path.join(self.bundle, 'cmd'), 'w').write(script)
        self.log = os.path.join(self.dir, 'ctr-json.log')
        self.id = name
        runtime = runtime or os.path.join(T, 'fake-runtime')
        argv = [SHIM, '--id', name, '--bundle', self.bundle, '--state-dir', self.state, '--runtime', runtime,
                '--runtime-root', self.rroot, '--log-driver', log_driver, '--log-path', self.log] + list(flags)
        self.sock, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        child.set_inheritable(True)
        err = os.open(os.path.join(self.dir, 'shim.stderr'), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        fa = [(os.POSIX_SPAWN_DUP2, child.fileno(), 3), (os.POSIX_SPAWN_OPEN, 0, '/dev/null', os.O_RDONLY, 0),
              (os.POSIX_SPAWN_OPEN, 1, '/dev/null', os.O_WRONLY, 0), (os.POSIX_SPAWN_DUP2, err, 2)]
        self.pid = os.posix_spawn(SHIM, argv, os.environ, file_actions=fa)
        child.close(); os.close(err)
        self.status = None
    def recv(self, timeout=10):
        self.sock.settimeout(timeout)
        return self.sock.recv(4096).decode()
    def created(self):
        m = self.recv()
        assert m.startswith('created '), m
        self.init_pid = int(m.split()[1])
        return self.init_pid
    def start(self):
        self.sock.send(b'start')
        m = self.recv()
        assert m == 'started', m
    def attach(self):
        c = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        c.connect(os.path.join(self.state, 'attach'))
        return c
    def wait(self, timeout=10):
        fd = os.pidfd_open(self.pid)
        try:
            if not select.select([fd], [], [], timeout)[0]: raise AssertionError('shim did not exit')
        finally:
            os.close(fd)
        self.status = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
        err = open(os.path.join(self.dir, 'shim.stderr')).read()
        assert 'Sanitizer' not in err and 'runtime error:' not in err, err  # sanitizer builds (SHIM=)
        return self.status
    def exit_file(self):
        code, at = open(os.path.join(self.state, 'exit')).read().split(' ')
        assert at.endswith('Z\n') and 'T' in at, at
        return int(code)
    def log_entries(self):
        return [json.loads(l) for l in open(self.log)]
    def alive(self):
        try: os.kill(self.pid, 0); return os.waitpid(self.pid, os.WNOHANG)[0] == 0
        except ProcessLookupError: return False
def read_all(c, timeout=10):
    """packets from an attach client until the shim closes it: [(stream, bytes)]"""
    c.settimeout(timeout)
    out = []
    while True:
        p = c.recv(65536)
        if not p: return out
        out.append((p[0], p[1:]))
def joined(packets, stream=None):
    return b''.join(d for s, d in packets if stream is None or s == stream)
EOF
}

py() {
  PYTHONPATH="$T" python3 -c "from shimtest import *
$1"
}

@test "output goes to the json-file log in Docker's format, stdout and stderr apart; exit code recorded" {
  run py '
s = Shim("basic", "echo out1; echo err1 >&2; printf \"a\\tb\\\"c\\n\"; printf partial; exit 3")
s.created(); s.start()
assert s.wait() == 0, s.status
assert s.exit_file() == 3
e = s.log_entries()
out = [x["log"] for x in e if x["stream"] == "stdout"]
err = [x["log"] for x in e if x["stream"] == "stderr"]
assert out == ["out1\n", "a\tb\"c\n", "partial"], out
assert err == ["err1\n"], err
for x in e: assert sorted(x) == ["log", "stream", "time"] and x["time"].endswith("Z"), x
first = open(s.log).readline()
assert first.startswith("{\"log\":\"out1\\n\",\"stream\":\"stdout\",\"time\":\"20"), first
assert not os.path.exists(s.state + "/attach")
assert open(s.rroot + "/calls").read() == "create basic\nstart basic\ndelete basic\n"
assert open(s.state + "/shim.pid").read().strip() == str(s.pid)
'
  [ "$status" -eq 0 ] || { echo "$output"; false; }
}

@test "a container killed with SIGKILL exits 137" {
  run py '
s = Shim("kill", "echo ready; exec sleep 100")
pid = s.created(); s.start()
time.sleep(0.2)
os.kill(pid, signal.SIGKILL)
assert s.wait() == 0
assert s.exit_file() == 137
assert s.log_entries()[0]["log"] == "ready\n"
'
  [ "$status" -eq 0 ] || { echo "$output"; false; }
}

@test "stdin comes from an attach client; --stdin-once ends it when the client shuts down" {
  run py '
s = Shim("stdin", "cat; echo done", ["--stdin", "--stdin-once"])
s.created()
c = s.attach()
s.start()
c.send(b"hello\n"); c.send(b"world\n")
c.shutdown(socket.SHUT_WR)
p = read_all(c)
assert joined(p, 1) == b"hello\nworld\ndone\n", p
assert s.wait() == 0 and s.exit_file() == 0
'
  [ "$status" -eq 0 ] || { echo "$output"; false; }
}

@test "several attach clients see the same output, as stream-tagged packets" {
  run py '
s = Shim("multi", "echo one; echo two >&2; sleep 0.2; echo three")
s.created()
a, b = s.attach(), s.attach()
s.start()
pa, pb = read_all(a), read_all(b)
assert pa == pb, (pa, pb)
assert joined(pa, 1) == b"one\nthree\n" and joined(pa, 2) == b"two\n", pa
assert s.wait() == 0
'
  [ "$status" -eq 0 ] || { echo "$output"; false; }
}

@test "a client that does not read is dropped; the container is not blocked" {
  run py '
s = Shim("slow", "head -c 30000000 /dev/zero | tr \"\\0\" x; echo; echo end")
s.created()
slow = s.attach()
s.start()
assert s.wait(30) == 0 and s.exit_file() == 0
e = s.log_entries()
assert e[-1]["log"] == "end\n", e[-1]
assert sum(len(x["log"]) for x in e) == 30000000 + 5
'
  [ "$status" -eq 0 ] || { echo "$output"; false; }
}

@test "the shim ignores SIGTERM and SIGINT and outlives berthd" {
  run py '
s = Shim("survive", "sleep 0.5; echo alive")
s.created(); s.start()
os.kill(s.pid, signal.SIGTERM); os.kill(s.pid, signal.SIGINT)
s.sock.close()  # berthd goes away
time.sleep(0.1)
assert s.alive()
assert s.wait() == 0 and s.exit_file() == 0
assert s.log_entries()[-1]["log"] == "alive\n"
'
  [ "$status" -eq 0 ] || { echo "$output"; false; }
}

@test "a failing create reaches the sync socket as the runtime's error" {
  run py '
s = Shim("fail", "FAIL the bundle is broken")
m = s.recv()
assert m == "error the bundle is broken", m
assert s.wait() == 1
assert not os.path.exists(s.state + "/exit")
'
  [ "$status" -eq 0 ] || { echo "$output"; false; }
}

@test "a failing start is reported and the container deleted" {
  run py '
s = Shim("failstart", "echo never")
open(s.rroot + "/fail-start", "w").close()
s.created()
s.sock.send(b"start")
m = s.recv()
assert m == "error fake start failed", m
assert s.wait() == 1
assert not os.path.exists(s.rroot + "/failstart")
'
  [ "$status" -eq 0 ] || { echo "$output"; false; }
}

@test "berthd closing the sync socket before start deletes the container" {
  run py '
s = Shim("abandon", "echo never")
s.created()
s.sock.close()
assert s.wait() == 0
assert not os.path.exists(s.rroot + "/abandon")
assert not os.path.exists(s.state + "/exit") and not os.path.exists(s.state + "/attach")
assert open(s.rroot + "/calls").read() == "create abandon\ndelete abandon\n"
'
  [ "$status" -eq 0 ] || { echo "$output"; false; }
}

@test "--tty: the pty carries stdin and output, as stream 1" {
  run py '
s = Shim("tty", "read x; echo got-$x; exit 4", ["--tty", "--stdin"])
s.created()
c = s.attach()
s.start()
c.send(b"hi\n")
p = read_all(c)
assert {st for st, _ in p} == {1}, p
assert b"got-hi\r\n" in joined(p), p
assert s.wait() == 0 and s.exit_file() == 4
logs = "".join(x["log"] for x in s.log_entries())
assert "got-hi\r\n" in logs and {x["stream"] for x in s.log_entries()} == {"stdout"}, logs
'
  [ "$status" -eq 0 ] || { echo "$output"; false; }
}

@test "--tty with --stdin-once: a client that leaves does not end the terminal's input" {
  run py '
s = Shim("ttyonce", "read x; read y; echo got-$x-$y", ["--tty", "--stdin", "--stdin-once"])
s.created()
a = s.attach()
s.start()
a.send(b"one\n"); a.shutdown(socket.SHUT_WR); time.sleep(0.1); a.close()
b = s.attach()
b.send(b"two\n")
out = joined(read_all(b))
assert b"got-one-two" in out, out
assert s.wait() == 0 and s.exit_file() == 0
'
  [ "$status" -eq 0 ] || { echo "$output"; false; }
}

@test "--tty: a resize on the control socket sets the terminal size" {
  run py '
s = Shim("resize", "read x; stty size", ["--tty", "--stdin"])
s.created()
c = s.attach()
ctl = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
ctl.connect(s.state + "/control")
s.start()
ctl.send(b"resize 33 101")
time.sleep(0.1)
c.send(b"go\n")
out = joined(read_all(c))
assert b"33 101\r\n" in out, out
assert s.wait() == 0 and not os.path.exists(s.state + "/control")
'
  [ "$status" -eq 0 ] || { echo "$output"; false; }
}

@test "--log-driver none writes no log" {
  run py '
s = Shim("nolog", "echo hi", log_driver="none")
s.created(); c = s.attach(); s.start()
assert joined(read_all(c)) == b"hi\n"
assert s.wait() == 0 and s.exit_file() == 0
assert not os.path.exists(s.log)
'
  [ "$status" -eq 0 ] || { echo "$output"; false; }
}

@test "bad arguments and a missing sync socket are errors on stderr" {
  run "$SHIM" --id x
  [ "$status" -eq 1 ]
  [[ "$output" == *"--bundle is required"* ]]
  run "$SHIM" --id 'a/b' --bundle /b --state-dir /s --runtime r --runtime-root /r --log-driver none
  [ "$status" -eq 1 ]
  [[ "$output" == *'invalid container id "a/b"'* ]]
  run "$SHIM" --id a --bundle /b --state-dir /s --runtime r --runtime-root /r --log-driver syslog
  [ "$status" -eq 1 ]
  [[ "$output" == *'log driver "syslog" is not supported'* ]]
  run "$SHIM" --id a --bundle /b --state-dir /s --runtime r --runtime-root /r --log-driver none 3>&-
  [ "$status" -eq 1 ]
  [[ "$output" == *"fd 3 is not a SOCK_SEQPACKET socket"* ]]
}

@test "idle shims stay small (PSS, average of 4)" {
  if nm -D "$SHIM" 2>/dev/null | grep -q __asan_init; then skip "a sanitizer build"; fi
  run py '
shims = []
for i in range(4):
    s = Shim("pss%d" % i, "echo hello; exec sleep 100", ["--stdin"])
    pid = s.created(); c = s.attach(); s.start()
    assert c.recv(65536) == b"\x01hello\n"
    shims.append((s, pid, c))
time.sleep(0.2)
pss = [[int(l.split()[1]) for l in open("/proc/%d/smaps_rollup" % s.pid) if l.startswith(k)][0]
       for s, _, _ in shims for k in ("Pss:", "Pss_Anon:")]
total, anon = sum(pss[0::2]) / 4, sum(pss[1::2]) / 4
print("shim PSS %.0f kB (anonymous %.0f kB) per idle container" % (total, anon))
for s, pid, c in shims:
    os.kill(pid, signal.SIGKILL)
    assert s.wait() == 0 and s.exit_file() == 137
assert total < 256, total
'
  echo "# $output" >&3
  [ "$status" -eq 0 ]
}

# the real runtime, when some build directory has it, with a busybox rootfs from the fixtures
real_runtime() {
  RUNTIME=$(dirname "$(dirname "$(dirname "$SHIM")")")/src/runtime/berth-runtime
  [ -x "$RUNTIME" ] || RUNTIME=$(ls -t "$ROOT_DIR"/build*/src/runtime/berth-runtime 2>/dev/null | head -n1)
  [ -x "$RUNTIME" ] || skip "berth-runtime is not built"
  [ "$(id -u)" = 0 ] || skip "needs root"
  local b="$T/real-bundle"
  if [ ! -d "$b/rootfs/bin" ]; then
    mkdir -p "$b/rootfs"
    "$ROOT_DIR/tests/fixtures/make-busybox-rootfs.sh" "$T/rootfs.tar" >/dev/null
    tar -C "$b/rootfs" -xf "$T/rootfs.tar"
  fi
  "$RUNTIME" spec >"$b/spec.json"
  export RUNTIME BUNDLE="$b"
}

# real_config ARGS_JSON TERMINAL: the bundle's config.json for one command
real_config() {
  python3 - "$BUNDLE" "$1" "$2" <<'EOF'
import json, sys
b, args, tty = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3] == "true"
spec = json.load(open(b + "/spec.json"))
spec["process"]["args"] = args
spec["process"]["terminal"] = tty
spec["root"] = {"path": b + "/rootfs", "readonly": False}
json.dump(spec, open(b + "/config.json", "w"))
EOF
}

@test "with the real berth-runtime: log, exit code, delete" {
  real_runtime
  real_config '["sh", "-c", "echo out; echo err >&2; exit 7"]' false
  run py '
s = Shim("real", None, runtime=os.environ["RUNTIME"], bundle=os.environ["BUNDLE"])
s.created(); c = s.attach(); s.start()
p = read_all(c)
assert joined(p, 1) == b"out\n" and joined(p, 2) == b"err\n", p
assert s.wait() == 0 and s.exit_file() == 7
e = s.log_entries()
assert [(x["stream"], x["log"]) for x in e] == [("stdout", "out\n"), ("stderr", "err\n")] or \
       [(x["stream"], x["log"]) for x in e] == [("stderr", "err\n"), ("stdout", "out\n")], e
assert not os.path.exists(s.rroot + "/real")
'
  [ "$status" -eq 0 ] || { echo "$output"; cat "$T/real/state/runtime.log" 2>/dev/null; false; }
}

@test "with the real berth-runtime: a terminal, input and SIGKILL" {
  real_runtime
  real_config '["sh", "-c", "read x; echo got-$x; exec sleep 100"]' true
  run py '
s = Shim("realtty", None, ["--tty", "--stdin"], runtime=os.environ["RUNTIME"], bundle=os.environ["BUNDLE"])
pid = s.created(); c = s.attach(); s.start()
c.send(b"hi\n")
c.settimeout(10)
got = b""
while b"got-hi" not in got: got += c.recv(65536)[1:]
os.kill(pid, signal.SIGKILL)
read_all(c)
assert s.wait() == 0 and s.exit_file() == 137
'
  [ "$status" -eq 0 ] || { echo "$output"; cat "$T/realtty/state/runtime.log" 2>/dev/null; false; }
}
