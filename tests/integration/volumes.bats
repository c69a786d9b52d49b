#!/usr/bin/env bats
# volumes.bats - -v binds (dirs, files, ro, missing host dirs), anonymous and named volumes, image
# VOLUMEs populated from the image, --volumes-from, rm -v / --rm, a bind over /etc/hosts, the
# volume API (create, ls, inspect, rm 409 in use, prune)

load helpers

setup_file() {
  berth_start_daemon
  berth_import_busybox
}
teardown_file() { berth_stop_daemon; }
teardown() { berth_teardown; }

# mounts CTR: one line "TYPE SOURCE DESTINATION RW MODE" per mount of inspect's Mounts
mounts() {
  $BERTH inspect "$1" | python3 -c '
import json, sys
for m in json.load(sys.stdin)[0]["Mounts"]:
    print(m["Type"], m["Source"], m["Destination"], str(m["RW"]).lower(), m["Mode"] or "-")'
}

@test "-v HOSTDIR:DIR binds read-write; Mounts and HostConfig.Binds show it" {
  src="$BATS_TEST_TMPDIR/src"
  mkdir -p "$src"
  echo from-host >"$src/in.txt"
  run $BERTH run --name b1 -v "$src:/opt/app" busybox sh -c 'cat /opt/app/in.txt; echo from-ctr > /opt/app/out.txt'
  assert_status 0
  assert_eq "$output" from-host
  assert_eq "$(cat "$src/out.txt")" from-ctr "file written in the container"
  assert_eq "$(mounts b1)" "bind $src /opt/app true -"
  assert_eq "$(ijson b1 HostConfig.Binds.0)" "$src:/opt/app"
  assert_eq "$($BERTH inspect -f '{{(index .Mounts 0).Propagation}}' b1)" rprivate
  $BERTH rm b1 >/dev/null
}

@test "-v HOSTDIR:DIR:ro is read-only; a missing host dir is created" {
  src="$BATS_TEST_TMPDIR/ro"
  mkdir -p "$src"
  echo keep >"$src/f"
  run $BERTH run --rm -v "$src:/ro:ro" busybox sh -c 'cat /ro/f; echo x > /ro/new'
  assert_status 1
  assert_has "$output" "Read-only file system"
  [ ! -e "$src/new" ] || fail "written through a read-only bind"
  run $BERTH run --rm -v "$src:/ro:ro" busybox rm /ro/f
  assert_status 1
  [ -f "$src/f" ] || fail "removed through a read-only bind"
  missing="$BATS_TEST_TMPDIR/not/there/yet"
  run $BERTH run --rm -v "$missing:/m" busybox touch /m/made
  assert_status 0
  [ -f "$missing/made" ] || fail "missing host dir not created"
}

@test "-v HOSTFILE:FILE binds one file; a bind over /etc/hosts wins over berth's own" {
  f="$BATS_TEST_TMPDIR/hist"
  printf 'one\n' >"$f"
  run $BERTH run --rm -v "$f:/.hist" busybox sh -c 'cat /.hist; echo two >> /.hist'
  assert_status 0
  assert_eq "$output" one
  assert_eq "$(tail -1 "$f")" two
  printf '127.0.0.1 localhost\n10.9.9.9 custom.test\n' >"$BATS_TEST_TMPDIR/hosts"
  run $BERTH run --rm -v "$BATS_TEST_TMPDIR/hosts:/etc/hosts:ro" busybox cat /etc/hosts
  assert_status 0
  assert_line "$output" "10.9.9.9 custom.test"
}

@test "-v /DIR makes an anonymous volume that outlives a restart; rm -v removes it" {
  $BERTH run -d --name a1 -v /webapp busybox sleep 600 >/dev/null
  read -r type src dest rw mode <<<"$(mounts a1)"
  assert_eq "$type $dest $rw" "volume /webapp true"
  name=$($BERTH inspect -f '{{(index .Mounts 0).Name}}' a1)
  assert_match "$name" '^[0-9a-f]{64}$' "anonymous volume name"
  assert_eq "$src" "$BERTH_DIR/data/volumes/$name/_data"
  assert_eq "$(ijson a1 Config.Volumes)" '{"/webapp":{}}'
  $BERTH exec a1 sh -c 'echo kept > /webapp/d'
  assert_eq "$(cat "$src/d")" kept
  $BERTH restart -t 1 a1 >/dev/null
  run $BERTH exec a1 cat /webapp/d
  assert_eq "$output" kept
  assert_line "$($BERTH volume ls -q)" "$name"
  $BERTH rm -fv a1 >/dev/null
  assert_not_has "$($BERTH volume ls -q)" "$name"
  [ ! -d "$src" ] || fail "volume data left after rm -v"
}

@test "rm without -v keeps the anonymous volume; --rm removes it" {
  $BERTH run --name k1 -v /k busybox true
  name=$($BERTH inspect -f '{{(index .Mounts 0).Name}}' k1)
  $BERTH rm k1 >/dev/null
  assert_line "$($BERTH volume ls -q)" "$name"
  $BERTH volume rm "$name" >/dev/null
  before=$($BERTH volume ls -q | wc -l)
  $BERTH run --rm -v /gone busybox true
  sleep 0.5
  assert_eq "$($BERTH volume ls -q | wc -l)" "$before" "volumes after run --rm"
}

@test "named volumes: created on first use, shared, 409 while in use" {
  $BERTH run --rm -v shared1:/s busybox sh -c 'echo one > /s/f'
  run $BERTH run --rm -v shared1:/t:ro busybox cat /t/f
  assert_status 0
  assert_eq "$output" one
  $BERTH run -d --name n1 -v shared1:/s busybox sleep 600 >/dev/null
  run $BERTH volume rm shared1
  assert_status 1
  assert_has "$output" "volume is in use"
  run api DELETE /volumes/shared1
  assert_line "$output" "HTTP 409"
  $BERTH rm -f n1 >/dev/null
  $BERTH volume rm shared1 >/dev/null
  run $BERTH volume inspect shared1
  assert_status 1
  assert_has "$output" "No such volume"
}

@test "an image VOLUME gets an anonymous volume filled with the image's content" {
  $BERTH run --name seed busybox sh -c 'mkdir /data && echo seeded > /data/s && chown 1:2 /data && chmod 750 /data'
  $BERTH commit --change 'VOLUME /data' seed withvol >/dev/null
  $BERTH rm seed >/dev/null
  run $BERTH run --name iv withvol sh -c 'cat /data/s; stat -c "%u:%g %a" /data; grep -c " /data " /proc/mounts'
  assert_status 0
  assert_eq "$output" "seeded"$'\n'"1:2 750"$'\n'"1"
  assert_eq "$($BERTH inspect -f '{{(index .Mounts 0).Type}} {{(index .Mounts 0).Destination}}' iv)" "volume /data"
  $BERTH rm -v iv >/dev/null
  $BERTH rmi withvol >/dev/null
}

@test "--volumes-from shares volumes and binds; :ro makes them read-only" {
  hd="$BATS_TEST_TMPDIR/h"
  mkdir -p "$hd"
  $BERTH run --name dbdata -v /dbdata -v "$hd:/hostdir" busybox true
  $BERTH run --rm --volumes-from dbdata busybox sh -c 'echo w > /dbdata/f; echo h > /hostdir/g'
  run $BERTH run --rm --volumes-from dbdata:ro busybox sh -c 'cat /dbdata/f /hostdir/g; touch /dbdata/no'
  assert_status 1
  assert_has "$output" "w"$'\n'"h"
  assert_has "$output" "Read-only file system"
  $BERTH run -d --name db1 --volumes-from dbdata busybox sleep 600 >/dev/null
  assert_eq "$(mounts db1 | sort)" "$(mounts dbdata | sort)"
  $BERTH rm -f db1 >/dev/null
  $BERTH rm -v dbdata >/dev/null
}

@test "bad -v specs are refused with Docker's messages" {
  run $BERTH run --rm -v /h:rel busybox true
  assert_status 125
  assert_has "$output" "must be absolute"
  run $BERTH run --rm -v /h:/c:bogus busybox true
  assert_status 125
  assert_has "$output" "invalid mode"
  run $BERTH run --rm -v /a:/d -v /b:/d busybox true
  assert_status 125
  assert_has "$output" "Duplicate mount point: /d"
  run $BERTH run --rm -v 'bad$name:/d' busybox true
  assert_status 125
  assert_has "$output" "invalid characters"
}

@test "volume API: create with labels, ls, inspect, prune" {
  run $BERTH volume create --label team=a v1
  assert_status 0
  assert_eq "$output" v1
  assert_eq "$($BERTH volume inspect -f '{{.Driver}} {{.Mountpoint}} {{.Labels.team}} {{.Scope}}' v1)" \
    "local $BERTH_DIR/data/volumes/v1/_data a local"
  run api POST /volumes/create -H 'Content-Type: application/json' -d '{"Name":"v1"}'
  assert_line "$output" "HTTP 201"
  run api POST /volumes/create -H 'Content-Type: application/json' -d '{"Name":"v2","Driver":"nfs"}'
  assert_line "$output" "HTTP 501"
  run api GET /volumes
  assert_has "$output" '"Name":"v1"'
  $BERTH run --name p1 -v /anon busybox true
  anon=$($BERTH inspect -f '{{(index .Mounts 0).Name}}' p1)
  $BERTH rm p1 >/dev/null
  run api POST /volumes/prune
  assert_has "$output" "$anon"
  assert_not_has "$output" '"v1"'
  run api POST '/volumes/prune?filters=%7B%22all%22%3A%5B%22true%22%5D%7D'
  assert_has "$output" '"v1"'
  run api GET /volumes/v1
  assert_line "$output" "HTTP 404"
}

@test "--mount type=bind|volume|tmpfs (HostConfig.Mounts)" {
  hd="$BATS_TEST_TMPDIR/m"
  mkdir -p "$hd"
  echo mf >"$hd/f"
  run $BERTH run --rm --mount type=bind,source="$hd",target=/m,readonly busybox sh -c 'cat /m/f; touch /m/x'
  assert_status 1
  assert_has "$output" "mf"
  assert_has "$output" "Read-only file system"
  run $BERTH run --rm --mount type=bind,src="$BATS_TEST_TMPDIR/nope",dst=/m busybox true
  assert_status 125
  assert_has "$output" "bind source path does not exist: $BATS_TEST_TMPDIR/nope"
  run $BERTH run --name mt --mount type=tmpfs,target=/t,tmpfs-size=1m,tmpfs-mode=1770 \
    --mount source=mv1,target=/v --mount type=volume,target=/anon busybox sh -c 'grep " /t " /proc/mounts; stat -c %a /t'
  assert_status 0
  assert_has "$output" "size=1024k"
  assert_line "$output" 1770
  assert_eq "$(mounts mt)" "tmpfs  /t true -"$'\n'"volume $BERTH_DIR/data/volumes/mv1/_data /v true -"$'\n'"volume $($BERTH inspect -f '{{(index .Mounts 2).Source}}' mt) /anon true -"
  run $BERTH run --rm --mount type=nfs,target=/x busybox true
  assert_status 125
  assert_has "$output" "not supported"
  $BERTH rm -v mt >/dev/null
  $BERTH volume rm mv1 >/dev/null
}

@test "volume ls --filter dangling/name/label, volume prune, ps Mounts" {
  $BERTH volume create --label tier=db fv1 >/dev/null
  $BERTH run --name fu1 -v fv1:/x busybox true
  $BERTH run --name fu2 -v /an2 busybox true
  an=$($BERTH inspect -f '{{(index .Mounts 0).Name}}' fu2)
  $BERTH rm fu2 >/dev/null
  assert_eq "$($BERTH volume ls -q -f dangling=true)" "$an"
  assert_eq "$($BERTH volume ls -q -f label=tier=db)" fv1
  assert_eq "$($BERTH volume ls -q -f name=fv)" fv1
  assert_eq "$($BERTH ps -a --filter name=fu1 --format '{{.Mounts}}')" fv1
  run $BERTH volume prune -f
  assert_status 0
  assert_line "$output" "$an"
  assert_line "$output" "Total reclaimed space: 0B"
  $BERTH rm fu1 >/dev/null
  run $BERTH volume prune -a -f
  assert_line "$output" fv1
  assert_eq "$($BERTH volume ls -q)" ""
}

@test "volume create and rm are events (type volume, driver local)" {
  local since until
  since=$(date +%s)
  $BERTH volume create evvol >/dev/null
  $BERTH volume create evvol >/dev/null # exists already: no second event
  $BERTH volume rm evvol >/dev/null
  until=$(($(date +%s) + 1))
  run $BERTH events --since "$since" --until "$until" --filter type=volume --format '{{.Action}} {{.Actor.ID}} {{.Actor.Attributes.driver}}'
  assert_status 0
  assert_eq "$(printf '%s\n' "$output" | grep -c '^create evvol local$')" 1
  assert_has "$output" "destroy evvol local"
}
