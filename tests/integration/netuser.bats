#!/usr/bin/env bats
# netuser.bats: user-defined bridge networks through a private berthd (bridge bt-nu0,
# 10.213.40.0/24; test networks only in 10.213.41-49.0/24): create/ls/inspect/rm, connect and
# disconnect (running and stopped), prune, the embedded DNS (names, aliases, links), isolation,
# --internal, --ip, published ports, container:X's files, --link with --icc=false, events, and
# the repair of a removed network's bridge after kill -9. Traffic stays on addresses made here.
load helpers

setup_file() {
  export NFT="$BUILD_DIR/src/network/test_network nft"
  # a run killed before its teardown leaves bridges in this file's subnets (10.213.41-49): go
  local b
  for b in $(ip -4 -o addr show | awk '$4 ~ /^10\.213\.4[1-9]\./ {print $2}'); do
    case "$(cat "/sys/class/net/$b/ifalias" 2>/dev/null)" in berth:*) ip link del "$b" ;; esac
  done
  berth_start_daemon --bridge bt-nu0 --bip 10.213.40.1/24
  berth_import_busybox busybox:latest
}

teardown_file() {
  BERTHD_PID=$(cat "$BERTH_DIR/berthd.daemon-pid" 2>/dev/null || echo "$BERTHD_PID")
  $BERTH network prune -f >/dev/null 2>&1 || api POST /networks/prune >/dev/null 2>&1
  # whatever a failed test left: the bridges marked with this data root's hash (docs/network.md)
  local left
  left=$(python3 - "$BERTH_DIR/data/network" <<'PY'
import os, sys
h = 0xcbf29ce484222325
for c in sys.argv[1].encode():
    h = ((h ^ c) * 0x100000001b3) & 0xffffffffffffffff
mark = "berth:%016x:" % h
for name in os.listdir("/sys/class/net"):
    try:
        if open("/sys/class/net/%s/ifalias" % name).read().startswith(mark):
            print(name)
    except OSError:
        pass
PY
)
  berth_stop_daemon
  for b in $left; do ip link del "$b" 2>/dev/null; done
  ip link del bt-nu0 2>/dev/null
  $NFT delete table ip berth_bt_nu0 2>/dev/null
  $NFT delete table bridge berth_bt_nu0 2>/dev/null
  return 0
}

teardown() {
  berth_teardown
  icc_cleanup
  local ids
  ids=$($BERTH ps -aq --no-trunc 2>/dev/null)
  [ -z "$ids" ] || $BERTH rm -f $ids >/dev/null 2>&1
  for n in $($BERTH network ls -q -f type=custom 2>/dev/null); do $BERTH network rm "$n" >/dev/null 2>&1; done
  return 0
}

nip() { $BERTH inspect -f "{{(index .NetworkSettings.Networks \"$2\").IPAddress}}" "$1"; }

@test "network create, ls, inspect and rm with docker's fields and errors" {
  run $BERTH network create --subnet 10.213.41.0/24 --gateway 10.213.41.254 --ip-range 10.213.41.128/25 \
    --label team=a -o com.docker.network.bridge.name=bt-nu0a -o com.docker.network.driver.mtu=1400 nu1
  assert_status 0
  id=$output
  assert_match "$id" '^[0-9a-f]{64}$'
  [ -d /sys/class/net/bt-nu0a ] || fail "no bridge bt-nu0a"
  assert_eq "$(cat /sys/class/net/bt-nu0a/mtu)" 1400 mtu
  run $BERTH network ls
  assert_status 0
  assert_line "${lines[0]}" "NETWORK ID     NAME      DRIVER    SCOPE"
  assert_line_re "$output" "^${id:0:12} +nu1 +bridge +local$"
  run $BERTH network ls -q -f type=custom
  assert_eq "$output" "${id:0:12}"
  run $BERTH network ls --format '{{.Name}}' -f label=team=a
  assert_eq "$output" nu1
  run $BERTH network ls -q -f name=nomatch
  assert_eq "$output" ""
  run $BERTH network inspect -f '{{.Name}} {{.Driver}} {{.Scope}} {{.Internal}} {{.IPAM.Driver}} {{(index .IPAM.Config 0).Subnet}} {{(index .IPAM.Config 0).Gateway}} {{(index .IPAM.Config 0).IPRange}} {{.Labels.team}}' "${id:0:6}"
  assert_eq "$output" "nu1 bridge local false default 10.213.41.0/24 10.213.41.254 10.213.41.128/25 a"
  # addresses come from --ip-range; a static one may be anywhere in the subnet
  run $BERTH run --rm --network nu1 busybox ip -o -4 addr show eth0
  assert_match "$output" 'inet 10\.213\.41\.(12[89]|1[3-9][0-9]|2[0-9][0-9])/24'
  run $BERTH run --rm --network nu1 --ip 10.213.41.5 busybox ip -o -4 addr show eth0
  assert_has "$output" "inet 10.213.41.5/24"
  $BERTH create --name gwip --network nu1 --ip 10.213.41.254 busybox true >/dev/null
  run $BERTH start gwip
  assert_status 1
  assert_has "$output" "Address already in use"
  $BERTH rm gwip >/dev/null
  run $BERTH network create --subnet 10.213.42.0/24 nu1
  assert_status 1
  assert_has "$output" "network with name nu1 already exists"
  run api POST /networks/create -H 'Content-Type: application/json' -d '{"Name":"nu9","Driver":"overlay"}'
  assert_line_re "$output" "HTTP (400|501)"
  run $BERTH network create --subnet 10.213.41.0/25 nu2
  assert_status 1
  assert_has "$output" "overlaps"
  run $BERTH network rm bridge
  assert_status 1
  assert_has "$output" "bridge is a pre-defined network and cannot be removed"
  run $BERTH network rm nu1 nosuchnet
  assert_status 1
  assert_line "$output" nu1
  assert_has "$output" "No such network: nosuchnet"
  [ ! -e /sys/class/net/bt-nu0a ] || fail "bridge kept after rm"
  run api GET /networks/nu1
  assert_line "$output" "HTTP 404"
}

@test "containers on a user network find each other by name, alias and short id; --ip" {
  $BERTH network create --subnet 10.213.42.0/24 nu2 >/dev/null
  $BERTH run -d --name web --network nu2 --network-alias www --ip 10.213.42.50 busybox sleep 300
  web_id=$($BERTH inspect -f '{{.Id}}' web)
  assert_eq "$(nip web nu2)" 10.213.42.50
  run $BERTH inspect -f '{{json (index .NetworkSettings.Networks "nu2").Aliases}} {{(index .NetworkSettings.Networks "nu2").IPAMConfig.IPv4Address}}' web
  assert_eq "$output" "[\"www\",\"${web_id:0:12}\"] 10.213.42.50"
  run $BERTH run --rm --network nu2 busybox sh -c \
    'cat /etc/resolv.conf; nslookup web; nslookup www; nslookup '"${web_id:0:12}"'; ping -c1 -W2 www'
  assert_status 0
  assert_line "$output" "nameserver 127.0.0.11"
  assert_line "$output" "options ndots:0"
  assert_has "$output" "Address: 10.213.42.50"
  assert_has "$output" "1 packets received"
  run $BERTH run --rm --network nu2 busybox nslookup 10.213.42.50
  assert_has "$output" "web.nu2"
  run $BERTH network inspect -f '{{range $k, $v := .Containers}}{{$v.Name}} {{$v.IPv4Address}}{{end}}' nu2
  assert_eq "$output" "web 10.213.42.50/24"
  run $BERTH network rm nu2
  assert_status 1
  assert_has "$output" "error while removing network: network nu2 id "
  assert_has "$output" "has active endpoints"
  # the default bridge has no embedded DNS
  run $BERTH run --rm busybox nslookup web
  [ "$status" -ne 0 ] || fail "the default bridge resolved a container name"
}

@test "a created container shows its networks; connect and disconnect, running and stopped" {
  $BERTH network create --subnet 10.213.43.0/24 nu3 >/dev/null
  $BERTH network create --subnet 10.213.44.0/24 nu4 >/dev/null
  $BERTH create --name c1 --network nu3 busybox sleep 300 >/dev/null
  run $BERTH inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}}={{$v.IPAddress}};{{end}}' c1
  assert_eq "$output" "nu3=;"
  $BERTH create --name c0 busybox true >/dev/null
  run $BERTH inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}};{{end}}' c0
  assert_eq "$output" "bridge;"
  # stopped: remembered, attached at start
  $BERTH network connect --alias extra nu4 c1
  $BERTH start c1
  assert_match "$(nip c1 nu3)" '^10\.213\.43\.'
  assert_match "$(nip c1 nu4)" '^10\.213\.44\.'
  run $BERTH exec c1 ip -o -4 addr show eth1
  assert_has "$output" "10.213.44."
  run $BERTH run --rm --network nu4 busybox nslookup extra
  assert_has "$output" "Address: $(nip c1 nu4)"
  # running: disconnect removes the interface and the name
  $BERTH network disconnect nu4 c1
  run $BERTH exec c1 ip link show eth1
  [ "$status" -ne 0 ] || fail "eth1 still there"
  run $BERTH inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}};{{end}}' c1
  assert_eq "$output" "nu3;"
  # running, on the default bridge: connect adds eth1
  $BERTH run -d --name c2 busybox sleep 300 >/dev/null
  $BERTH network connect --ip 10.213.44.9 nu4 c2
  run $BERTH exec c2 ip -o -4 addr show eth1
  assert_has "$output" "10.213.44.9/24"
  run $BERTH network connect nu4 c2
  assert_status 1
  assert_has "$output" "already exists in network nu4"
  run $BERTH network connect nu4 nosuchctr
  assert_status 1
  $BERTH stop -t 0 c1 >/dev/null
  $BERTH network disconnect nu3 c1
  run $BERTH inspect -f '{{len .NetworkSettings.Networks}}' c1
  assert_eq "$output" 0
}

@test "networks are isolated from each other; --internal reaches nothing outside its bridge" {
  $BERTH network create --subnet 10.213.45.0/24 nua >/dev/null
  $BERTH network create --subnet 10.213.46.0/24 nub >/dev/null
  $BERTH network create --subnet 10.213.47.0/24 --internal nuint >/dev/null
  $BERTH run -d --name a1 --network nua busybox sleep 300 >/dev/null
  $BERTH run -d --name d1 busybox sleep 300 >/dev/null
  run $BERTH run --rm --network nub busybox ping -c1 -W1 "$(nip a1 nua)"
  [ "$status" -ne 0 ] || fail "nub reached nua"
  run $BERTH run --rm busybox ping -c1 -W1 "$(nip a1 nua)"
  [ "$status" -ne 0 ] || fail "the default bridge reached nua"
  run $BERTH run --rm --network nua busybox ping -c1 -W1 "$(nip d1 bridge)"
  [ "$status" -ne 0 ] || fail "nua reached the default bridge"
  # the host (its address on another bridge) is reachable from a normal network, not an internal one
  run $BERTH run --rm --network nua busybox ping -c1 -W1 10.213.40.1
  assert_status 0
  run $BERTH run --rm --network nuint busybox ping -c1 -W1 10.213.40.1
  [ "$status" -ne 0 ] || fail "an internal network reached outside"
  run $BERTH run --rm --network nuint busybox ip route
  assert_not_has "$output" default
  run $BERTH network inspect -f '{{.Internal}}' nuint
  assert_eq "$output" true
}

@test "-o com.docker.network.bridge.enable_icc=false: containers of that network cannot talk" {
  $BERTH network create --subnet 10.213.49.0/24 -o com.docker.network.bridge.enable_icc=false nuicc >/dev/null
  $BERTH network create --subnet 10.213.48.0/24 nuicc2 >/dev/null
  $BERTH run -d --name i1 --network nuicc busybox sleep 300 >/dev/null
  $BERTH run -d --name i2 --network nuicc2 busybox sleep 300 >/dev/null
  run $BERTH run --rm --network nuicc busybox ping -c1 -W1 "$(nip i1 nuicc)"
  [ "$status" -ne 0 ] || fail "icc=false network: a container reached another one"
  run $BERTH run --rm --network nuicc2 busybox ping -c1 -W1 "$(nip i2 nuicc2)"
  assert_status 0
}

@test "published ports work on a user network" {
  $BERTH network create --subnet 10.213.45.0/24 nup >/dev/null
  $BERTH run -d --name pw --network nup -p 127.0.0.1:31641:80 busybox sh -c \
    'mkdir -p /www && echo usernet >/www/index.html && exec httpd -f -p 80 -h /www' >/dev/null
  wait_until 10 curl -fsS --max-time 2 http://127.0.0.1:31641/
  assert_eq "$(curl -fsS --max-time 2 http://127.0.0.1:31641/)" usernet
}

@test "--net container:X shares X's hosts, hostname and resolv.conf" {
  $BERTH network create --subnet 10.213.46.0/24 nux >/dev/null
  $BERTH run -d --name x1 --network nux busybox sleep 300 >/dev/null
  $BERTH run -d --name x2 --net container:x1 busybox sleep 300 >/dev/null
  assert_eq "$($BERTH inspect -f '{{.HostsPath}}' x2)" "$($BERTH inspect -f '{{.HostsPath}}' x1)"
  assert_eq "$($BERTH inspect -f '{{.ResolvConfPath}}' x2)" "$($BERTH inspect -f '{{.ResolvConfPath}}' x1)"
  assert_eq "$($BERTH exec x2 cat /etc/hostname)" "$($BERTH exec x1 cat /etc/hostname)"
  run $BERTH exec x2 cat /etc/resolv.conf
  assert_line "$output" "nameserver 127.0.0.11"
  run $BERTH exec x2 nslookup x1
  assert_has "$output" "Address: $(nip x1 nux)"
}

@test "a --link alias resolves on a user network" {
  $BERTH network create --subnet 10.213.47.0/24 nul >/dev/null
  $BERTH run -d --name db --network nul busybox sleep 300 >/dev/null
  run $BERTH run --rm --network nul --link db:database busybox nslookup database
  assert_status 0
  assert_has "$output" "Address: $(nip db nul)"
}

@test "network prune removes unused user networks only, with filters" {
  $BERTH network create --subnet 10.213.41.0/24 --label keep=yes pk >/dev/null
  $BERTH network create --subnet 10.213.42.0/24 pu >/dev/null
  $BERTH network create --subnet 10.213.43.0/24 pd >/dev/null
  $BERTH run -d --name pc --network pu busybox sleep 300 >/dev/null
  run api POST '/networks/prune?filters=%7B%22label%21%22%3A%5B%22keep%3Dyes%22%5D%7D'
  assert_line "$output" "HTTP 200"
  assert_has "$output" '"NetworksDeleted":["pd"]'
  if $BERTH network prune --help >/dev/null 2>&1; then
    run $BERTH network prune -f
    assert_status 0
    assert_line "${lines[0]}" "Deleted Networks:"
    assert_line "$output" pk
  else
    api POST /networks/prune >/dev/null
  fi
  run $BERTH network ls --format '{{.Name}}' -f type=custom
  assert_eq "$output" pu
}

@test "network events: create, connect, disconnect, destroy" {
  since=$(date +%s)
  $BERTH network create --subnet 10.213.48.0/24 nue >/dev/null
  $BERTH run -d --name ev busybox sleep 300 >/dev/null
  $BERTH network connect nue ev
  $BERTH network disconnect nue ev
  $BERTH network rm nue >/dev/null
  run $BERTH events --since "$since" --until "$(($(date +%s) + 1))" --filter type=network --format '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}'
  assert_eq "$(printf '%s\n' "$output" | grep ' nue$')" "network create nue
network connect nue
network disconnect nue
network destroy nue"
}

# icc_cleanup: the --icc=false daemon, whatever point its test reached
icc_cleanup() {
  [ -n "${ICC_DIR:-}" ] || return 0
  $ICC_BERTH rm -f srv srv2 >/dev/null 2>&1
  kill "$ICC_PID" 2>/dev/null; wait "$ICC_PID" 2>/dev/null
  berth_unmount_under "$ICC_DIR"; rm -rf "$ICC_DIR"
  ip link del bt-nu8 2>/dev/null
  $NFT delete table ip berth_bt_nu8 2>/dev/null; $NFT delete table bridge berth_bt_nu8 2>/dev/null
  ICC_DIR=
}

@test "--link with --icc=false opens exactly the linked container's exposed ports" {
  ICC_DIR=$(mktemp -d /tmp/bti.XXXXXX)
  "$BERTHD_BIN" --data-root "$ICC_DIR/data" --exec-root "$ICC_DIR/run" -H "unix://$ICC_DIR/s.sock" --group root \
    --default-registry 127.0.0.1:1 --pidfile "$ICC_DIR/pid" --bridge bt-nu8 --bip 10.213.48.1/24 --icc=false \
    </dev/null >"$ICC_DIR/log" 2>&1 3>&- &
  ICC_PID=$! ICC_BERTH="$BERTH_BIN -H unix://$ICC_DIR/s.sock"
  wait_until 10 curl -fsS --unix-socket "$ICC_DIR/s.sock" http://localhost/_ping
  $ICC_BERTH import "$(berth_rootfs_tar)" busybox:latest >/dev/null
  $ICC_BERTH run -d --name srv --expose 80 busybox httpd -f -p 80 -h /etc >/dev/null
  $ICC_BERTH run -d --name srv2 --expose 80 busybox httpd -f -p 80 -h /etc >/dev/null
  s2=$($ICC_BERTH inspect -f '{{.NetworkSettings.IPAddress}}' srv2)
  run $ICC_BERTH run --rm --link srv:s busybox sh -c \
    "printf 'GET /hostname HTTP/1.0\r\n\r\n' | nc -w 2 s 80 | tail -1; echo linked; \
     printf 'GET /hostname HTTP/1.0\r\n\r\n' | nc -w 2 $s2 80; echo unlinked; ping -c1 -W1 s && echo pinged"
  assert_line "$output" "$($ICC_BERTH inspect -f '{{.Config.Hostname}}' srv)"
  assert_not_has "$output" "$($ICC_BERTH inspect -f '{{.Config.Hostname}}' srv2)"
  assert_not_has "$output" pinged
  icc_cleanup
}

@test "after kill -9 berthd a restart removes a removed network's bridge and keeps the DNS of live ones" {
  $BERTH network create --subnet 10.213.49.0/24 nuk >/dev/null
  gone=$($BERTH network create --subnet 10.213.41.0/24 nugone)
  $BERTH run -d --name k1 --network nuk busybox sleep 300 >/dev/null
  $BERTH run -d --name k2 --network nuk busybox sleep 300 >/dev/null
  [ -e "/sys/class/net/br-${gone:0:12}" ] || fail "no bridge for nugone"
  kill -9 "$BERTHD_PID"
  wait "$BERTHD_PID" 2>/dev/null || true
  # dead for sure once its data root lock is free (it may not be this shell's child)
  wait_until 10 flock -n "$BERTH_DIR/data/berth.lock" true
  # a crash in the middle of a removal: the state is gone, the bridge is not
  rm "$BERTH_DIR/data/network/networks/$gone.json"
  "$BERTHD_BIN" --data-root "$BERTH_DIR/data" --exec-root "$BERTH_DIR/run" -H "unix://$BERTH_SOCK" --group root \
    --default-registry 127.0.0.1:1 --pidfile "$BERTH_DIR/berthd.pid" --log-level debug \
    --bridge bt-nu0 --bip 10.213.40.1/24 </dev/null >>"$BERTH_DIR/berthd.log" 2>&1 3>&- &
  BERTHD_PID=$!
  echo "$BERTHD_PID" >"$BERTH_DIR/berthd.daemon-pid"
  wait_until 10 curl -fsS --max-time 2 --unix-socket "$BERTH_SOCK" http://localhost/_ping
  [ ! -e "/sys/class/net/br-${gone:0:12}" ] || fail "the removed network's bridge is still there"
  run $BERTH exec k1 nslookup k2
  assert_status 0
  assert_has "$output" "Address: $(nip k2 nuk)"
  run $BERTH network ls --format '{{.Name}}' -f type=custom
  assert_eq "$output" nuk
}
