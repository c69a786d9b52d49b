#!/usr/bin/env bats
# images.bats - images and layered storage end to end: save/load in both formats, a hand-made
# `docker save` archive, bad archives leaving nothing behind, commit, diff, export/import, rmi
# conflicts, prune (and its filters), system df, history, digest references, --change expansion,
# kill -9 in the middle of load and commit, and interop both ways with a private dockerd
load helpers

setup_file() {
  berth_start_daemon
  berth_import_busybox
}
# the crash tests restart berthd: the pid to stop is the one in the file
teardown_file() {
  BERTHD_PID=$(cat "$BERTH_DIR/berthd.daemon-pid" 2>/dev/null || echo "${BERTHD_PID:-}")
  berth_stop_daemon
}
teardown() {
  berth_teardown
  docker_stop
  $BERTH rm -f $($BERTH ps -aq) >/dev/null 2>&1 || true
}

# docker_start: a private dockerd for this test alone (never the host's /run/docker.sock): its own
# data root, exec root, socket and pid file, no bridge or iptables, and the containerd it starts
# and manages itself; sets DOCKER (the CLI pointed at it). Skips when none can be had.
docker_start() {
  command -v dockerd >/dev/null && command -v docker >/dev/null || skip "dockerd is not installed"
  # dockerd 20.10 uses a system containerd at this socket instead of managing its own
  [ ! -S /run/containerd/containerd.sock ] || skip "a system containerd runs: the private dockerd would share it"
  DOCKER_DIR=$(mktemp -d /tmp/dk.XXXXXX)
  # in a network namespace of its own: with --bridge=none dockerd deletes the host's docker0 otherwise
  unshare -n dockerd --data-root "$DOCKER_DIR/data" --exec-root "$DOCKER_DIR/exec" -H "unix://$DOCKER_DIR/docker.sock" \
    --pidfile "$DOCKER_DIR/docker.pid" --bridge=none --iptables=false --ip-masq=false \
    </dev/null >"$DOCKER_DIR/dockerd.log" 2>&1 3>&- &
  DOCKERD_PID=$!
  DOCKER="docker -H unix://$DOCKER_DIR/docker.sock"
  local i
  for i in $(seq 100); do
    timeout 5 $DOCKER version >/dev/null 2>&1 && return 0
    kill -0 "$DOCKERD_PID" 2>/dev/null || break
    sleep 0.2
  done
  tail -5 "$DOCKER_DIR/dockerd.log" >&2
  docker_stop
  skip "the private dockerd did not come up within 20 s"
}

# docker_stop: stop the private dockerd (it stops its containerd) and remove all it had
docker_stop() {
  [ -n "${DOCKER_DIR:-}" ] && [ -d "$DOCKER_DIR" ] || return 0
  local i
  kill -TERM "$DOCKERD_PID" 2>/dev/null
  for i in $(seq 150); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$DOCKERD_PID" 2>/dev/null
  local pid
  pid=$(cat "$DOCKER_DIR/exec/containerd/containerd.pid" 2>/dev/null)
  [ -z "$pid" ] || kill -KILL "$pid" 2>/dev/null
  berth_unmount_under "$DOCKER_DIR"
  rm -rf "$DOCKER_DIR"
  unset DOCKER_DIR DOCKERD_PID
}

# daemon_crash: SIGKILL berthd; daemon_restart: start it again on the same data and exec roots
daemon_crash() {
  BERTHD_PID=$(cat "$BERTH_DIR/berthd.daemon-pid") # a restart in an earlier test changed it
  kill -KILL "$BERTHD_PID"
  local i
  for i in $(seq 100); do kill -0 "$BERTHD_PID" 2>/dev/null || return 0; sleep 0.1; done
  fail "berthd survived SIGKILL"
}
daemon_restart() {
  "$BERTHD_BIN" --data-root "$BERTH_DIR/data" --exec-root "$BERTH_DIR/run" \
    -H "unix://$BERTH_SOCK" --group root --default-registry 127.0.0.1:1 \
    --pidfile "$BERTH_DIR/berthd.pid" --log-level debug </dev/null >>"$BERTH_DIR/berthd.log" 2>&1 3>&- &
  BERTHD_PID=$!
  echo "$BERTHD_PID" >"$BERTH_DIR/berthd.daemon-pid"
  local i
  for i in $(seq 100); do
    curl -fsS --max-time 2 --unix-socket "$BERTH_SOCK" http://localhost/_ping >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  fail "berthd did not come back after the crash"
}

# wait_tmp PREFIX: until D/tmp holds a PREFIX* file (the operation is under way), at most 60 s
wait_tmp() {
  local i
  for i in $(seq 6000); do
    compgen -G "$BERTH_DIR/data/tmp/$1*" >/dev/null && return 0
    sleep 0.01
  done
  fail "no $1* file appeared in D/tmp"
}

# assert_clean_after_crash IMAGES DIRS: the image list and the layer dirs and blobs are what they
# were before the interrupted operation, and D/tmp and the drivers' temporaries are empty
assert_clean_after_crash() {
  assert_eq "$(image_count)" "$1" "images after the crash"
  assert_eq "$(store_dirs)" "$2" "layer dirs and blobs after the crash"
  assert_eq "$(ls -A "$BERTH_DIR/data/tmp")" "" "D/tmp after the restart"
  assert_eq "$(cd "$BERTH_DIR/data" && ls -d overlay/.tmp-* vfs/.tmp-* 2>/dev/null)" "" "driver temporaries"
}

# image_count: how many images the daemon knows, intermediate ones included
image_count() { $BERTH images -aq --no-trunc | sort -u | wc -l; }
# store_dirs: every layer directory and blob the daemon holds (must not grow on a failed load)
store_dirs() { (cd "$BERTH_DIR/data" && find overlay vfs blobs -mindepth 1 -maxdepth 2 2>/dev/null | sort); }

# make_docker_archive OUT [MODE]: a `docker save` archive made by hand (manifest.json,
# repositories, <id>.json, <layer>/layer.tar) holding the busybox rootfs as image handmade:v1.
# MODE: ok | baddigest (the layer differs from its diff id) | escape (a member "../../evil") |
# first (manifest.json and the config before the layers, as some writers order them) |
# big (a second layer of 300 MB: slow enough to be interrupted)
make_docker_archive() {
  python3 - "$1" "$(berth_rootfs_tar)" "${2:-ok}" <<'PY'
import hashlib, io, json, sys, tarfile
out, rootfs, mode = sys.argv[1:4]
layer = open(rootfs, "rb").read()
if mode == "escape":
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w") as t:
        ti = tarfile.TarInfo("../../evil"); ti.size = 4
        t.addfile(ti, io.BytesIO(b"evil"))
    layer = b.getvalue()
diff_id = "sha256:" + hashlib.sha256(layer).hexdigest()
if mode == "baddigest":
    diff_id = "sha256:" + "0" * 64
cfg = json.dumps({"architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
                  "config": {"Cmd": ["sh"], "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
                  "rootfs": {"type": "layers", "diff_ids": [diff_id]},
                  "history": [{"created": "2024-01-01T00:00:00Z", "created_by": "handmade"}]}).encode()
cid = hashlib.sha256(cfg).hexdigest()
lid = hashlib.sha256(layer).hexdigest()
layers = [(lid, layer)]
if mode == "big":
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w") as t:
        ti = tarfile.TarInfo("big"); ti.size = 300 << 20
        t.addfile(ti, io.BytesIO(bytes(ti.size)))
    big = b.getvalue()
    layers.append((hashlib.sha256(big).hexdigest(), big))
    cfgj = json.loads(cfg)
    cfgj["rootfs"]["diff_ids"].append("sha256:" + layers[1][0])
    cfg = json.dumps(cfgj).encode()
    cid = hashlib.sha256(cfg).hexdigest()
meta = {f"{cid}.json": cfg,
        "manifest.json": json.dumps([{"Config": f"{cid}.json", "RepoTags": ["handmade:v1"],
                                      "Layers": [f"{h}/layer.tar" for h, _ in layers]}]).encode(),
        "repositories": json.dumps({"handmade": {"v1": layers[-1][0]}}).encode()}
with tarfile.open(out, "w") as t:
    def add(name, data):
        ti = tarfile.TarInfo(name); ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
    if mode == "first":
        for name, data in meta.items(): add(name, data)
    for h, data in layers:
        d = tarfile.TarInfo(h); d.type = tarfile.DIRTYPE; d.mode = 0o755
        t.addfile(d)
        add(f"{h}/layer.tar", data)
        add(f"{h}/VERSION", b"1.0")
    if mode != "first":
        for name, data in meta.items(): add(name, data)
PY
}

# assert_load_fails ARCHIVE WORD: load fails naming WORD; no image, layer dir or blob is left
assert_load_fails() {
  local before dirs_before
  before=$(image_count)
  dirs_before=$(store_dirs)
  run $BERTH load -i "$1"
  [ "$status" -ne 0 ] || fail "load of $1 succeeded: $output"
  assert_match "$output" "$2"
  assert_eq "$(image_count)" "$before" "images after a failed load"
  assert_eq "$(store_dirs)" "$dirs_before" "store contents after a failed load"
  [ ! -e "$BERTH_DIR/evil" ] && [ ! -e "$BERTH_DIR/data/evil" ] || fail "a layer wrote outside its directory"
}

@test "save -o then load -i round trip (Docker archive with an OCI index) runs the image" {
  $BERTH tag busybox:latest rt:one
  $BERTH save -o "$BERTH_DIR/rt.tar" rt:one
  tar -tf "$BERTH_DIR/rt.tar" >"$BERTH_DIR/rt.list"
  grep -qx manifest.json "$BERTH_DIR/rt.list" || fail "no manifest.json"
  grep -qx repositories "$BERTH_DIR/rt.list" || fail "no repositories"
  grep -qx index.json "$BERTH_DIR/rt.list" || fail "no OCI index.json"
  grep -qx oci-layout "$BERTH_DIR/rt.list" || fail "no oci-layout"
  $BERTH rmi rt:one
  run $BERTH load -i "$BERTH_DIR/rt.tar"
  assert_status 0
  assert_line "$output" "Loaded image: rt:one"
  run $BERTH run --rm rt:one echo round-trip
  assert_eq "$output" "round-trip"
  $BERTH rmi rt:one
}

@test "load of an OCI layout only (no manifest.json) brings the image back" {
  $BERTH tag busybox:latest oci:only
  $BERTH save -o "$BERTH_DIR/full.tar" oci:only
  $BERTH rmi oci:only
  python3 - "$BERTH_DIR/full.tar" "$BERTH_DIR/oci.tar" <<'PY'
import sys, tarfile
with tarfile.open(sys.argv[1]) as src, tarfile.open(sys.argv[2], "w") as dst:
    for m in src.getmembers():
        if m.name in ("manifest.json", "repositories"): continue
        dst.addfile(m, src.extractfile(m) if m.isfile() else None)
PY
  run $BERTH load < "$BERTH_DIR/oci.tar"
  assert_status 0
  run $BERTH run --rm oci:only echo from-oci
  assert_eq "$output" "from-oci"
  $BERTH rmi oci:only
}

@test "a hand-made docker save archive (manifest.json, repositories, layer tars) loads and runs" {
  make_docker_archive "$BERTH_DIR/hand.tar"
  run $BERTH load -i "$BERTH_DIR/hand.tar"
  assert_status 0
  assert_line "$output" "Loaded image: handmade:v1"
  run $BERTH run --rm handmade:v1 sh -c 'echo hand-$((1+1))'
  assert_eq "$output" "hand-2"
  run $BERTH history handmade:v1
  assert_has "$output" "handmade"
  $BERTH rmi handmade:v1
}

@test "truncated and corrupt archives fail clearly and register nothing" {
  make_docker_archive "$BERTH_DIR/good.tar"
  head -c $(( $(stat -c %s "$BERTH_DIR/good.tar") / 2 )) "$BERTH_DIR/good.tar" >"$BERTH_DIR/trunc.tar"
  assert_load_fails "$BERTH_DIR/trunc.tar" "[Tt]runcated|unexpected|EOF|premature|damaged|manifest"
  head -c 4096 /dev/urandom >"$BERTH_DIR/junk.tar"
  assert_load_fails "$BERTH_DIR/junk.tar" "."
}

@test "a layer that does not match its diff id fails and registers nothing" {
  make_docker_archive "$BERTH_DIR/bad.tar" baddigest
  assert_load_fails "$BERTH_DIR/bad.tar" "digest|diff"
}

@test "a layer with escaping paths fails and writes nothing outside" {
  make_docker_archive "$BERTH_DIR/esc.tar" escape
  assert_load_fails "$BERTH_DIR/esc.tar" "outside|escap|\\.\\."
  [ ! -e /evil ] || fail "/evil exists"
}

@test "commit of a container that wrote a file; the new image runs with it" {
  $BERTH run --name w1 busybox sh -c 'echo committed > /data.txt'
  run $BERTH commit -m "add data" -a tester -c 'ENV COMMITTED=yes' w1 committed:v1
  assert_status 0
  run $BERTH run --rm committed:v1 sh -c 'cat /data.txt; echo $COMMITTED'
  assert_eq "$output" $'committed\nyes'
  run $BERTH history committed:v1
  assert_has "$output" "add data"
  # the mount placeholders are not part of the layer
  run $BERTH run --rm committed:v1 sh -c 'test -s /etc/hostname && echo bound'
  assert_eq "$output" "bound"
}

@test "commit of a running container pauses it (-p default) and leaves it running" {
  $BERTH run -d --name run1 busybox sleep 60
  local t0
  t0=$(date +%s)
  run $BERTH commit run1 running:v1
  assert_status 0
  assert_eq "$($BERTH inspect -f '{{.State.Status}}' run1)" "running"
  run api GET "/events?since=$t0&until=$(( $(date +%s) + 1 ))&filters=%7B%22container%22%3A%5B%22run1%22%5D%7D"
  assert_has "$output" '"pause"'
  assert_has "$output" '"unpause"'
  run $BERTH commit --pause=false run1 running:v2
  assert_status 0
  $BERTH rm -f run1
  $BERTH rmi running:v1 running:v2
}

@test "diff shows A/C/D and hides the hostname/hosts/resolv.conf placeholders" {
  $BERTH run --name d1 busybox sh -c 'echo x > /added; rm /bin/ls; echo y >> /etc/passwd'
  run $BERTH diff d1
  assert_status 0
  assert_line "$output" "A /added"
  assert_line "$output" "D /bin/ls"
  assert_line "$output" "C /etc/passwd"
  assert_not_has "$output" "/etc/hostname"
  assert_not_has "$output" "/etc/hosts"
  assert_not_has "$output" "/etc/resolv.conf"
  $BERTH run --name d2 busybox true
  run $BERTH diff d2
  assert_eq "$output" ""
  $BERTH commit d2 empty:v1 >/dev/null
  run $BERTH run --rm empty:v1 ls /etc
  assert_status 0
  $BERTH rmi empty:v1
}

@test "export | import round trip keeps the files" {
  $BERTH run --name e1 busybox sh -c 'echo exported > /mark'
  $BERTH export e1 | $BERTH import - exported:v1
  run $BERTH run --rm exported:v1 cat /mark
  assert_eq "$output" "exported"
  $BERTH rmi exported:v1
}

@test "rmi: untag versus delete, 409 while a container uses it, parents kept, -f" {
  $BERTH run --name r1 busybox sh -c 'echo a > /a'
  $BERTH commit r1 parent:v1 >/dev/null
  $BERTH rm r1
  $BERTH run --name r2 parent:v1 sh -c 'echo b > /b'
  $BERTH commit r2 child:v1 >/dev/null
  $BERTH tag parent:v1 parent:alias
  run $BERTH rmi parent:alias
  assert_status 0
  assert_eq "$output" "Untagged: parent:alias"
  # r2 uses parent:v1: a conflict
  run api DELETE /images/parent:v1
  assert_has "$output" "HTTP 409"
  run $BERTH rmi parent:v1
  [ "$status" -ne 0 ]
  assert_has "$output" "conflict"
  $BERTH rm r2
  # the child still needs the parent's layers: rmi parent only untags it
  pid=$($BERTH images -q --no-trunc parent:v1)
  $BERTH rmi parent:v1
  run $BERTH run --rm child:v1 cat /a /b
  assert_eq "$output" $'a\nb'
  run $BERTH images -a --no-trunc -q
  assert_has "$output" "$pid"
  # -f with a container: untagged and kept for the container
  $BERTH run --name r3 child:v1 true
  run $BERTH rmi -f child:v1
  assert_status 0
  $BERTH rm r3
  run $BERTH image prune -f
  assert_status 0
  run $BERTH images -a --no-trunc -q
  assert_not_has "$output" "$pid"
}

@test "image prune -a, container prune, system df and system prune" {
  $BERTH run --name p1 busybox sh -c 'head -c 100000 /dev/zero > /z'
  $BERTH commit p1 prune:v1 >/dev/null
  run $BERTH system df
  assert_status 0
  assert_line_re "$output" '^TYPE +TOTAL +ACTIVE +SIZE +RECLAIMABLE$'
  assert_line_re "$output" '^Images +[0-9]+ +[0-9]+ '
  assert_line_re "$output" '^Containers +1 +0 +100kB +100kB \(100%\)$'
  run $BERTH system df -v
  assert_has "$output" "Images space usage:"
  assert_has "$output" "prune"
  run $BERTH container prune -f
  assert_status 0
  assert_has "$output" "Deleted Containers:"
  assert_line "$output" "Total reclaimed space: 100kB"
  [ -z "$($BERTH ps -aq)" ] || fail "containers left after prune"
  run $BERTH image prune -a -f
  assert_status 0
  assert_has "$output" "untagged: prune:v1"
  assert_eq "$(image_count)" 0 "images after prune -a"
  berth_import_busybox
  $BERTH run --name p2 busybox true
  run $BERTH system prune -f
  assert_status 0
  assert_has "$output" "Deleted Containers:"
  assert_eq "$(image_count)" 1 "busybox is tagged: system prune without -a keeps it"
}

@test "images filters: dangling, reference, label, before, since; --digests; history -q" {
  $BERTH run --name f1 busybox true
  $BERTH commit -c 'LABEL bench.k=v' f1 flab:1 >/dev/null
  $BERTH run --name f2 busybox true
  dang=$($BERTH commit f2)
  run $BERTH images -q --no-trunc --filter dangling=true
  assert_eq "$output" "$dang"
  run $BERTH images --format '{{.Repository}}:{{.Tag}}' --filter 'reference=flab*'
  assert_eq "$output" "flab:1"
  run $BERTH images --format '{{.Repository}}' --filter label=bench.k=v
  assert_eq "$output" "flab"
  run $BERTH images --format '{{.Repository}}' --filter before=flab:1
  assert_eq "$output" "busybox"
  run $BERTH images --format '{{.Repository}}' --filter since=busybox
  assert_has "$output" "flab"
  assert_not_has "$output" "busybox"
  run $BERTH images --digests
  assert_line_re "$output" '^REPOSITORY +TAG +DIGEST +IMAGE ID +CREATED +SIZE$'
  run $BERTH history -q flab:1
  assert_eq "$(printf '%s\n' "$output" | head -1)" "$($BERTH images -q flab:1)"
  $BERTH rm f1 f2
  $BERTH rmi flab:1 "$dang"
}

@test "load takes manifest.json before or after the layers (one pass either way)" {
  make_docker_archive "$BERTH_DIR/first.tar" first
  run $BERTH load -i "$BERTH_DIR/first.tar"
  assert_status 0
  assert_line "$output" "Loaded image: handmade:v1"
  run $BERTH run --rm handmade:v1 echo manifest-first
  assert_eq "$output" "manifest-first"
  $BERTH rmi handmade:v1
  assert_eq "$(ls -A "$BERTH_DIR/data/tmp")" "" "D/tmp after a load"
}

@test "layers reached through symlinks (Docker 25's <id>/layer.tar -> ../blobs/sha256/...) load" {
  $BERTH run --name sl1 busybox sh -c 'echo linked > /ln'
  $BERTH commit sl1 sl:one >/dev/null
  $BERTH rm sl1
  $BERTH save -o "$BERTH_DIR/blobs.tar" sl:one
  $BERTH rmi sl:one
  python3 - "$BERTH_DIR/blobs.tar" "$BERTH_DIR/links.tar" <<'PY'
import io, json, sys, tarfile
src = tarfile.open(sys.argv[1])
with tarfile.open(sys.argv[2], "w") as dst:
    for m in src.getmembers():
        if m.name == "manifest.json":
            man = json.loads(src.extractfile(m).read())
            for e in man:
                links = []
                for lp in e["Layers"]:
                    h = lp.rsplit("/", 1)[1]
                    li = tarfile.TarInfo(f"{h}/layer.tar"); li.type = tarfile.SYMTYPE
                    li.linkname = f"../blobs/sha256/{h}"
                    dst.addfile(li)
                    links.append(f"{h}/layer.tar")
                e["Layers"] = links
            data = json.dumps(man).encode()
            ti = tarfile.TarInfo("manifest.json"); ti.size = len(data)
            dst.addfile(ti, io.BytesIO(data))
        elif m.name != "index.json":
            dst.addfile(m, src.extractfile(m) if m.isfile() else None)
PY
  run $BERTH load -i "$BERTH_DIR/links.tar"
  assert_status 0
  run $BERTH run --rm sl:one cat /ln
  assert_eq "$output" "linked"
  $BERTH rmi sl:one
}

@test "an OCI archive with gzip layers (as skopeo and buildah write them) loads and runs" {
  $BERTH run --name gz1 busybox sh -c 'echo gzipped > /gz'
  $BERTH commit gz1 gz:one >/dev/null
  $BERTH rm gz1
  $BERTH save -o "$BERTH_DIR/plain.tar" gz:one
  $BERTH rmi gz:one
  python3 - "$BERTH_DIR/plain.tar" "$BERTH_DIR/gz.tar" <<'PY'
import gzip, hashlib, io, json, sys, tarfile
src = tarfile.open(sys.argv[1])
files = {m.name: src.extractfile(m).read() for m in src.getmembers() if m.isfile()}
idx = json.loads(files["index.json"])
out = {"oci-layout": files["oci-layout"]}
def put(data):
    d = hashlib.sha256(data).hexdigest()
    out[f"blobs/sha256/{d}"] = data
    return "sha256:" + d
for desc in idx["manifests"]:
    m = json.loads(files["blobs/sha256/" + desc["digest"][7:]])
    put(files["blobs/sha256/" + m["config"]["digest"][7:]])
    for l in m["layers"]:
        gz = gzip.compress(files["blobs/sha256/" + l["digest"][7:]], mtime=0)
        l.update(mediaType="application/vnd.oci.image.layer.v1.tar+gzip", digest=put(gz), size=len(gz))
    mt = json.dumps(m).encode()
    desc.update(digest=put(mt), size=len(mt))
out["index.json"] = json.dumps(idx).encode()
with tarfile.open(sys.argv[2], "w") as t:
    for name in sorted(out, key=lambda n: n == "index.json"):  # index.json last
        ti = tarfile.TarInfo(name); ti.size = len(out[name])
        t.addfile(ti, io.BytesIO(out[name]))
PY
  run $BERTH load -i "$BERTH_DIR/gz.tar"
  assert_status 0
  run $BERTH run --rm gz:one cat /gz
  assert_eq "$output" "gzipped"
  $BERTH rmi gz:one
  assert_eq "$(ls -A "$BERTH_DIR/data/tmp")" "" "D/tmp after a load"
}

@test "digest references: RepoDigests from a loaded OCI index; IMAGE@sha256 in run, inspect, tag, save, rmi" {
  $BERTH tag busybox:latest dg:one
  $BERTH save -o "$BERTH_DIR/dg.tar" dg:one
  $BERTH rmi dg:one
  $BERTH load -i "$BERTH_DIR/dg.tar"
  digest=$($BERTH inspect -f '{{index .RepoDigests 0}}' dg:one)
  assert_match "$digest" '^dg@sha256:[0-9a-f]{64}$'
  tar -xOf "$BERTH_DIR/dg.tar" index.json | grep -q "${digest#dg@}" || fail "$digest is not the manifest digest in index.json"
  run $BERTH images --digests dg
  assert_line_re "$output" "^dg +one +${digest#dg@} +[0-9a-f]{12} "
  run $BERTH run --rm "$digest" echo by-digest
  assert_eq "$output" "by-digest"
  run $BERTH tag "$digest" dg:two
  assert_status 0
  id=$($BERTH inspect -f '{{.Id}}' dg:one)
  assert_eq "$($BERTH inspect -f '{{.Id}}' dg:two)" "$id"
  # a digest no reference names: the image whose id it is, as docker does
  assert_eq "$($BERTH inspect -f '{{.Id}}' "busybox@$id")" "$id"
  run $BERTH save -o "$BERTH_DIR/dg2.tar" "$digest"
  assert_status 0
  run $BERTH tag dg:one "dg@${digest#dg@}"
  [ "$status" -ne 0 ] || fail "tagging with a digest succeeded"
  run $BERTH rmi "$digest"
  assert_status 0
  assert_eq "$output" "Untagged: $digest"
  assert_eq "$($BERTH inspect -f '{{len .RepoDigests}}' dg:one)" "0"
  $BERTH rmi dg:one dg:two
}

@test "commit and import --change: \$VAR and \${VAR} expansion, HEALTHCHECK, ONBUILD; SHELL refused like docker" {
  $BERTH run --name ch1 busybox true
  run $BERTH commit -c 'ENV A=1' -c 'ENV B=$A C=${A}x D=${NOPE:-dflt} E=\$A' -c 'ENV A=2 F=$A' -c 'LABEL l=$B' \
    -c 'HEALTHCHECK --interval=5s --retries=3 CMD true' -c 'ONBUILD RUN echo hi' -c 'STOPSIGNAL SIGUSR1' \
    -c 'WORKDIR /w$A' ch1 chg:1
  assert_status 0
  assert_eq "$($BERTH inspect -f '{{json .Config.Env}}' chg:1)" '["A=2","B=1","C=1x","D=dflt","E=$A","F=1"]'
  assert_eq "$($BERTH inspect -f '{{json .Config.Labels}}' chg:1)" '{"l":"1"}'
  assert_eq "$($BERTH inspect -f '{{json .Config.Healthcheck}}' chg:1)" '{"Test":["CMD-SHELL","true"],"Interval":5000000000,"Retries":3}'
  assert_eq "$($BERTH inspect -f '{{json .Config.OnBuild}} {{.Config.StopSignal}} {{.Config.WorkingDir}}' chg:1)" \
    '["RUN echo hi"] SIGUSR1 /w2'
  run $BERTH commit -c 'SHELL ["/bin/bash", "-c"]' ch1 chg:2
  [ "$status" -ne 0 ] || fail "SHELL was accepted"
  assert_has "$output" "shell is not a valid change command"
  run $BERTH import -c 'ENV P=/x' -c 'ENV Q=$P/y' "$(berth_rootfs_tar)" chg:3
  assert_status 0
  assert_eq "$($BERTH inspect -f '{{json .Config.Env}}' chg:3)" '["P=/x","Q=/x/y"]'
  $BERTH rm ch1
  $BERTH rmi chg:1 chg:3
}

@test "prune filters (until, label, label!), system prune --volumes, info shows overlay2" {
  $BERTH run --name pf1 --label keep=yes busybox true
  $BERTH run --name pf2 --label keep=no busybox true
  run $BERTH container prune -f --filter label=keep=no
  assert_status 0
  assert_eq "$($BERTH ps -a --format '{{.Names}}')" "pf1"
  run $BERTH container prune -f --filter until=1h
  assert_eq "$($BERTH ps -a --format '{{.Names}}')" "pf1" "until=1h keeps a new container"
  run $BERTH container prune -f --filter 'label!=keep=yes'
  assert_eq "$($BERTH ps -a --format '{{.Names}}')" "pf1"
  run $BERTH container prune -f --filter "until=$(( $(date +%s) + 5 ))"
  assert_eq "$($BERTH ps -a --format '{{.Names}}')" "" "until=now+5s removes it"
  run $BERTH container prune -f --filter bogus=1
  [ "$status" -ne 0 ] || fail "an unknown filter was accepted"
  assert_has "$output" "Invalid filter 'bogus'"
  $BERTH run --name pf3 busybox true
  dang=$($BERTH commit -c 'LABEL pr=1' pf3)
  run $BERTH image prune -f --filter label=pr=2
  assert_has "$($BERTH images -aq --no-trunc)" "$dang"
  run $BERTH image prune -f --filter until=2000-01-01T00:00:00Z
  assert_has "$($BERTH images -aq --no-trunc)" "$dang"
  run $BERTH image prune -f --filter label=pr=1
  assert_status 0
  assert_has "$output" "deleted: $dang"
  # -a keeps the filters: only tagged images with the label go
  $BERTH commit -c 'LABEL pr=3' pf3 tagged:pr >/dev/null
  run $BERTH image prune -a -f --filter label=pr=4
  assert_has "$($BERTH images --format '{{.Repository}}')" "tagged"
  run $BERTH image prune -a -f --filter label=pr=3
  assert_has "$output" "untagged: tagged:pr"
  assert_has "$($BERTH images --format '{{.Repository}}')" "busybox"
  $BERTH rm pf3
  $BERTH run --name sv1 -v /data busybox true
  $BERTH rm sv1
  [ -n "$($BERTH volume ls -q)" ] || fail "no anonymous volume was made"
  run $BERTH system prune -f --volumes
  assert_status 0
  assert_has "$output" "Deleted Volumes:"
  assert_eq "$($BERTH volume ls -q)" ""
  run $BERTH system prune -f --volumes --filter until=1h
  [ "$status" -ne 0 ] || fail "until with --volumes was accepted"
  assert_line_re "$($BERTH info --format '{{.Driver}}')" '^(overlay2|vfs)$'
  assert_eq "$(image_count)" 1 "busybox is still there"
}

@test "kill -9 of berthd in the middle of a load: no half image, D/tmp empty, no orphan layer; the load works after" {
  make_docker_archive "$BERTH_DIR/big.tar" big
  local imgs dirs
  imgs=$(image_count)
  dirs=$(store_dirs)
  $BERTH load -i "$BERTH_DIR/big.tar" >/dev/null 2>&1 &
  local loader=$!
  wait_tmp layer-
  daemon_crash
  wait "$loader" || true
  daemon_restart
  assert_clean_after_crash "$imgs" "$dirs"
  run $BERTH load -i "$BERTH_DIR/big.tar"
  assert_status 0
  assert_line "$output" "Loaded image: handmade:v1"
  run $BERTH run --rm handmade:v1 wc -c /big
  assert_eq "$output" "314572800 /big"
  $BERTH rmi handmade:v1
  rm -f "$BERTH_DIR/big.tar"
}

@test "kill -9 of berthd in the middle of a commit: no half image, D/tmp empty, no orphan layer; the commit works after" {
  $BERTH run --name cbig busybox sh -c 'head -c 314572800 /dev/zero > /big'
  local imgs dirs
  imgs=$(image_count)
  dirs=$(store_dirs)
  $BERTH commit cbig crash:v1 >/dev/null 2>&1 &
  local committer=$!
  wait_tmp commit-
  daemon_crash
  wait "$committer" || true
  daemon_restart
  assert_clean_after_crash "$imgs" "$dirs"
  run $BERTH commit cbig crash:v1
  assert_status 0
  run $BERTH run --rm crash:v1 wc -c /big
  assert_eq "$output" "314572800 /big"
  $BERTH rm -f cbig
  $BERTH rmi crash:v1
}

# interop with a real Docker daemon, both ways, through a private dockerd (skipped without one)
@test "interop: an image berth made (import + commit with a layer) saves, loads and runs in docker" {
  docker_start
  $BERTH run --name ib1 busybox sh -c 'echo made-by-berth > /file'
  $BERTH commit -c 'ENV MADE=berth' ib1 interop-b2d:1 >/dev/null
  $BERTH save -o "$BERTH_DIR/b2d.tar" interop-b2d:1
  run $DOCKER load -i "$BERTH_DIR/b2d.tar"
  assert_status 0
  assert_has "$output" "Loaded image: interop-b2d:1"
  run $DOCKER run --rm interop-b2d:1 sh -c 'cat /file; echo $MADE'
  assert_eq "$output" $'made-by-berth\nberth'
  assert_eq "$($DOCKER inspect -f '{{.Id}}' interop-b2d:1)" "$($BERTH inspect -f '{{.Id}}' interop-b2d:1)" "same image id"
  $BERTH rm ib1
  $BERTH rmi interop-b2d:1
}

@test "interop: an image docker made (import + commit of a container that wrote a file) loads and runs in berth" {
  docker_start
  $DOCKER import "$(berth_rootfs_tar)" interop-base:1 >/dev/null
  $DOCKER run --name dc1 interop-base:1 sh -c 'echo made-by-docker > /file'
  $DOCKER commit -c 'ENV MADE=docker' dc1 interop-d2b:1 >/dev/null
  $DOCKER save -o "$BERTH_DIR/d2b.tar" interop-d2b:1
  run $BERTH load -i "$BERTH_DIR/d2b.tar"
  assert_status 0
  assert_line "$output" "Loaded image: interop-d2b:1"
  run $BERTH run --rm interop-d2b:1 sh -c 'cat /file; echo $MADE'
  assert_eq "$output" $'made-by-docker\ndocker'
  assert_eq "$($BERTH inspect -f '{{.Id}}' interop-d2b:1)" "$($DOCKER inspect -f '{{.Id}}' interop-d2b:1)" "same image id"
  # and back: berth's save of docker's image loads in docker again (the OCI side: berth's own round trip above)
  $BERTH save -o "$BERTH_DIR/d2b2d.tar" interop-d2b:1
  $DOCKER rmi interop-d2b:1 >/dev/null
  run $DOCKER load -i "$BERTH_DIR/d2b2d.tar"
  assert_status 0
  run $DOCKER run --rm interop-d2b:1 cat /file
  assert_eq "$output" "made-by-docker"
  $BERTH rmi interop-d2b:1
}
