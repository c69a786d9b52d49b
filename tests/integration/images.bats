#!/usr/bin/env bats
# images.bats - images and layered storage end to end: save/load in both formats, a hand-made
# `docker save` archive, bad archives leaving nothing behind, commit, diff, export/import, rmi
# conflicts, prune, system df, history
load helpers

setup_file() {
  berth_start_daemon
  berth_import_busybox
}
teardown_file() { berth_stop_daemon; }
teardown() {
  berth_teardown
  $BERTH rm -f $($BERTH ps -aq) >/dev/null 2>&1 || true
}

# image_count: how many images the daemon knows, intermediate ones included
image_count() { $BERTH images -aq --no-trunc | sort -u | wc -l; }
# store_dirs: every layer directory and blob the daemon holds (must not grow on a failed load)
store_dirs() { (cd "$BERTH_DIR/data" && find overlay vfs blobs -mindepth 1 -maxdepth 2 2>/dev/null | sort); }

# make_docker_archive OUT [MODE]: a `docker save` archive made by hand (manifest.json,
# repositories, <id>.json, <layer>/layer.tar) holding the busybox rootfs as image handmade:v1.
# MODE: ok | baddigest (the layer differs from its diff id) | escape (a member "../../evil")
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
files = {f"{cid}.json": cfg, f"{lid}/layer.tar": layer, f"{lid}/VERSION": b"1.0",
         "manifest.json": json.dumps([{"Config": f"{cid}.json", "RepoTags": ["handmade:v1"],
                                       "Layers": [f"{lid}/layer.tar"]}]).encode(),
         "repositories": json.dumps({"handmade": {"v1": lid}}).encode()}
with tarfile.open(out, "w") as t:
    d = tarfile.TarInfo(lid); d.type = tarfile.DIRTYPE; d.mode = 0o755
    t.addfile(d)
    for name, data in files.items():
        ti = tarfile.TarInfo(name); ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
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

# interop with a real Docker daemon, both ways; skipped where none answers
@test "interop: berth's save loads and runs in docker; docker's save loads and runs in berth" {
  command -v docker >/dev/null && timeout 10 docker version >/dev/null 2>&1 || skip "no docker daemon answers"
  local tag=berth-interop-$$
  $BERTH tag busybox:latest "$tag:b2d"
  $BERTH save -o "$BERTH_DIR/b2d.tar" "$tag:b2d"
  docker load -i "$BERTH_DIR/b2d.tar"
  run docker run --rm "$tag:b2d" echo in-docker
  docker rmi -f "$tag:b2d" >/dev/null 2>&1
  assert_eq "$output" "in-docker"
  docker import "$(berth_rootfs_tar)" "$tag:d2b" >/dev/null
  docker save -o "$BERTH_DIR/d2b.tar" "$tag:d2b"
  docker rmi -f "$tag:d2b" >/dev/null 2>&1
  run $BERTH load -i "$BERTH_DIR/d2b.tar"
  assert_status 0
  run $BERTH run --rm "$tag:d2b" echo in-berth
  assert_eq "$output" "in-berth"
  $BERTH rmi "$tag:b2d" "$tag:d2b"
}
