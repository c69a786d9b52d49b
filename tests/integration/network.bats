#!/usr/bin/env bats
# network.bats: container networking through a private berthd on its OWN bridge and subnet
# (never berth0): eth0 and routes inside, bridge and veth on the host, the host reaching a
# container, published ports on 127.0.0.1, a taken port, --net none|host|container:, --link,
# --dns/--add-host, and cleanup after stop, rm and a kill -9 of berthd. Traffic goes only to
# 127.0.0.1 and to addresses this file's daemon made.
load helpers

setup_file() {
  export BR="bn$(($$ % 100000))" NET3="10.213.$(($$ % 250))"
  export SUBNET="$NET3.0/24" GW="$NET3.1"
  export NFT="$BUILD_DIR/src/network/test_network nft"
  berth_start_daemon --bridge "$BR" --bip "$GW/24"
  berth_import_busybox busybox:latest
}

teardown_file() {
  # the kill -9 test starts a new berthd: stop that one
  BERTHD_PID=$(cat "$BERTH_DIR/berthd.daemon-pid" 2>/dev/null || echo "$BERTHD_PID")
  berth_stop_daemon
  ip link del "$BR" 2>/dev/null
  $NFT delete table ip "berth_$BR" 2>/dev/null
  $NFT delete table bridge "berth_$BR" 2>/dev/null
  return 0
}

teardown() {
  berth_teardown
  icc_cleanup
  local ids
  ids=$($BERTH ps -aq --no-trunc 2>/dev/null)
  [ -z "$ids" ] || $BERTH rm -f $ids >/dev/null 2>&1
  return 0
}

ip_of() { $BERTH inspect -f '{{.NetworkSettings.IPAddress}}' "$1"; }
pid_of() { $BERTH inspect -f '{{.State.Pid}}' "$1"; }
# veths_of_bridge: the host ends plugged into our bridge
veths_of_bridge() { ls "/sys/class/net/$BR/brif" 2>/dev/null; }
no_veth() { [ -z "$(veths_of_bridge)" ]; }
# httpd_up NAME: busybox httpd on port 80 serving "hello NAME"
run_httpd() {
  $BERTH run -d --name "$1" "${@:2}" busybox sh -c \
    "mkdir -p /www && echo hello $1 >/www/index.html && exec httpd -f -p 80 -h /www"
}
http() { curl -fsS --max-time 3 --noproxy '*' "$1"; }

@test "the bridge has the --bip address and our nftables table exists" {
  ip -o -4 addr show dev "$BR" | grep -q "inet $GW/24 " || fail "$(ip -o -4 addr show dev "$BR")"
  [ -d "/sys/class/net/$BR/bridge" ] || fail "$BR is not a bridge"
  run $NFT list table ip "berth_$BR"
  assert_status 0
  assert_has "$output" "masquerade"
  assert_has "$output" "map pubh_tcp"
  [ "$(cat "/proc/sys/net/ipv4/conf/$BR/route_localnet")" = 1 ] || fail "route_localnet is off"
}

@test "network ls and inspect show the predefined networks; the bridge lists its containers" {
  run $BERTH network ls
  assert_status 0
  assert_line_re "$output" '^[0-9a-f]{12} +bridge +bridge +local$'
  assert_line_re "$output" '^[0-9a-f]{12} +host +host +local$'
  assert_line_re "$output" '^[0-9a-f]{12} +none +null +local$'
  $BERTH run -d --name insp busybox sleep 600
  run $BERTH network inspect -f '{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}}' bridge
  assert_eq "$output" "$SUBNET $GW"
  run $BERTH network inspect bridge
  assert_has "$output" "\"IPv4Address\": \"$(ip_of insp)/24\""
  assert_has "$output" "\"com.docker.network.bridge.name\": \"$BR\""
  run $BERTH network rm bridge
  [ "$status" -ne 0 ] || fail "the bridge network was removed"
  assert_has "$output" "pre-defined network"
}

@test "eth0 inside has the address inspect reports, MAC 02:42:..., a default route via the gateway" {
  $BERTH run -d --name aa busybox sleep 600
  IP=$(ip_of aa)
  [[ $IP == $NET3.* ]] || fail "IPAddress $IP not in $SUBNET"
  assert_eq "$($BERTH inspect -f '{{.NetworkSettings.Gateway}}' aa)" "$GW" Gateway
  assert_eq "$($BERTH inspect -f '{{.NetworkSettings.IPPrefixLen}}' aa)" 24 IPPrefixLen
  MAC=$($BERTH inspect -f '{{.NetworkSettings.MacAddress}}' aa)
  assert_eq "$MAC" "$(printf '02:42:%02x:%02x:%02x:%02x' ${IP//./ })" MacAddress
  assert_eq "$($BERTH inspect -f '{{.NetworkSettings.Networks.bridge.IPAddress}}' aa)" "$IP" Networks.bridge
  run $BERTH inspect -f '{{.NetworkSettings.SandboxKey}}' aa
  [ -e "$output" ] || fail "SandboxKey $output does not exist"
  PID=$(pid_of aa)
  run nsenter -t "$PID" -n ip -o -4 addr
  assert_has "$output" "eth0    inet $IP/24"
  assert_has "$output" "lo    inet 127.0.0.1/8"
  run nsenter -t "$PID" -n ip route
  assert_line_re "$output" "^default via $GW dev eth0"
  run nsenter -t "$PID" -n ip -o link show eth0
  assert_has "$output" "link/ether $MAC"
}

@test "the container's veth is a port of the bridge; the host reaches the container's address" {
  run_httpd web
  IP=$(ip_of web)
  # eth0@ifN inside: N is the host end's index (nsenter -n keeps the host's /sys: ask netlink)
  IFL=$(nsenter -t "$(pid_of web)" -n ip -o link show eth0 | sed -n 's/^[0-9]*: eth0@if\([0-9]*\):.*/\1/p')
  VETH=$(basename "$(dirname "$(grep -lx "$IFL" /sys/class/net/*/ifindex)")")
  [[ $VETH == veth* ]] || fail "host end $VETH"
  [ -e "/sys/class/net/$BR/brif/$VETH" ] || fail "$VETH is not in $BR"
  wait_until 10 http "http://$IP/"
  assert_eq "$(http "http://$IP/")" "hello web"
}

@test "-p 127.0.0.1:PORT:80 is reachable from the host on 127.0.0.1, and port shows it" {
  PORT=$((20000 + $$ % 20000))
  run_httpd pub -p "127.0.0.1:$PORT:80"
  wait_until 10 http "http://127.0.0.1:$PORT/"
  assert_eq "$(http "http://127.0.0.1:$PORT/")" "hello pub"
  run $BERTH port pub 80
  assert_eq "$output" "127.0.0.1:$PORT"
  run $NFT list map ip "berth_$BR" pubh_tcp
  assert_has "$output" "127.0.0.1 . $PORT : $(ip_of pub) . 80"
}

@test "-p 80 publishes on a random host port reachable through 127.0.0.1" {
  run_httpd rnd -p 80
  HP=$($BERTH inspect -f '{{(index (index .NetworkSettings.Ports "80/tcp") 0).HostPort}}' rnd)
  [ "$HP" -ge 1024 ] || fail "host port $HP"
  wait_until 10 http "http://127.0.0.1:$HP/"
  assert_eq "$(http "http://127.0.0.1:$HP/")" "hello rnd"
}

@test "hairpin: containers reach a published port through the gateway's address, itself included" {
  PORT=$((20000 + ($$ + 3) % 20000))
  run_httpd hp -p "$PORT:80"
  wait_until 10 http "http://127.0.0.1:$PORT/"
  run $BERTH run --rm busybox wget -qO- "http://$GW:$PORT/"
  assert_status 0
  assert_eq "$output" "hello hp"
  run nsenter -t "$(pid_of hp)" -n curl -fsS --max-time 3 "http://$GW:$PORT/"
  assert_status 0
  assert_eq "$output" "hello hp"
}

@test "a range published on the same numbers is one map element" {
  $BERTH run -d --name rng -p 127.0.0.1:31000-31099:31000-31099 busybox sleep 600
  run $NFT list map ip "berth_$BR" pubr_tcp
  assert_has "$output" "127.0.0.1 . 31000-31099 : $(ip_of rng)"
}

@test "a host port already published is a clear error and leaves nothing behind" {
  PORT=$((20000 + ($$ + 7) % 20000))
  $BERTH run -d --name first -p "$PORT:80" busybox sleep 600
  veths=$(veths_of_bridge | wc -l)
  run $BERTH run -d --name second -p "$PORT:80" busybox sleep 600
  [ "$status" -ne 0 ] || fail "second container started"
  assert_has "$output" "Bind for 0.0.0.0:$PORT failed: port is already allocated"
  id=$($BERTH inspect -f '{{.Id}}' second)
  [ ! -e "$BERTH_DIR/run/netns/$id" ] || fail "netns of the failed container left"
  wait_until 5 test "$(veths_of_bridge | wc -l)" -eq "$veths"
  run $NFT list map ip "berth_$BR" puba_tcp
  [ "$(printf '%s\n' "$output" | grep -o "$PORT :" | wc -l)" -eq 1 ] || fail "$output"
  # no lease: the state file names the first container only
  assert_not_has "$(cat "$BERTH_DIR/data/network/$BR.json")" "$id"
}

@test "--net none has only lo; --net host sees the host's interfaces; container: shares a namespace" {
  run $BERTH run --rm --net none busybox sh -c 'ls /sys/class/net'
  assert_status 0
  assert_eq "$output" lo
  run $BERTH run --rm --net host busybox sh -c 'ls /sys/class/net'
  assert_status 0
  assert_line "$output" "$BR"
  run_httpd shared
  IP=$(ip_of shared)
  wait_until 10 http "http://$IP/"
  run $BERTH run --rm --net container:shared busybox sh -c 'ip -o -4 addr show eth0; wget -qO- http://127.0.0.1/'
  assert_status 0
  assert_has "$output" "inet $IP/24"
  assert_line "$output" "hello shared"
}

@test "--link gives the alias in /etc/hosts and the DB_* variables" {
  $BERTH run -d --name db --expose 5432 -e SECRET=s3 busybox sleep 600
  DBIP=$(ip_of db)
  run $BERTH run --rm --name web2 --link db:db busybox sh -c 'env; cat /etc/hosts'
  assert_status 0
  assert_line "$output" "DB_NAME=/web2/db"
  assert_line "$output" "DB_PORT=tcp://$DBIP:5432"
  assert_line "$output" "DB_PORT_5432_TCP_ADDR=$DBIP"
  assert_line "$output" "DB_PORT_5432_TCP_PROTO=tcp"
  assert_line "$output" "DB_ENV_SECRET=s3"
  # Docker's line: ALIAS, the linked container's host name, and its name when that differs
  assert_line "$output" "$DBIP"$'\t'"db $($BERTH inspect -f '{{.Config.Hostname}}' db)"
}

@test "--dns, --dns-search, --dns-option, --add-host, --hostname and --domainname" {
  run $BERTH run --rm --dns 127.0.0.2 --dns-search example.test --dns-option ndots:2 \
    --add-host db.test:10.1.2.3 -h myhost --domainname dom.test busybox \
    sh -c 'cat /etc/resolv.conf /etc/hosts; hostname'
  assert_status 0
  assert_line "$output" "nameserver 127.0.0.2"
  assert_line "$output" "search example.test"
  assert_line "$output" "options ndots:2"
  assert_line "$output" $'10.1.2.3\tdb.test'
  assert_line_re "$output" $'\tmyhost.dom.test myhost$'
  assert_line "$output" myhost
  [ "$(printf '%s\n' "$output" | grep -c '^nameserver')" -eq 1 ] || fail "$output"
}

@test "--mac-address sets eth0's address; --ip on the default bridge is refused like Docker does" {
  $BERTH run -d --name mac --mac-address 92:d0:c6:0a:29:33 busybox sleep 600
  assert_eq "$($BERTH inspect -f '{{.NetworkSettings.MacAddress}}' mac)" 92:d0:c6:0a:29:33
  run nsenter -t "$(pid_of mac)" -n ip -o link show eth0
  assert_has "$output" "link/ether 92:d0:c6:0a:29:33"
  run $BERTH run --rm --network bridge --ip "$NET3.77" busybox true
  [ "$status" -ne 0 ] || fail "--ip was accepted"
  assert_has "$output" "user specified IP address is supported on user defined networks only"
}

@test "stop and rm leave no veth, netns file or map element" {
  run_httpd gone -p 127.0.0.1:31500:80
  id=$($BERTH inspect -f '{{.Id}}' gone)
  [ -e "$BERTH_DIR/run/netns/$id" ] || fail "no netns file"
  $BERTH stop -t 1 gone
  [ ! -e "$BERTH_DIR/run/netns/$id" ] || fail "netns file left after stop"
  wait_until 5 no_veth
  run $NFT list map ip "berth_$BR" pubh_tcp
  assert_not_has "$output" "31500"
  assert_eq "$($BERTH inspect -f '{{.NetworkSettings.IPAddress}}' gone)" "" "IPAddress after stop"
  echo "10.9.9.9 kept.test" >>"$BERTH_DIR/data/containers/$id/hosts"
  $BERTH start gone
  wait_until 10 http "http://127.0.0.1:31500/"
  # the hosts file keeps the user's line and names the container at its new address
  hosts=$(cat "$BERTH_DIR/data/containers/$id/hosts")
  assert_line "$hosts" "10.9.9.9 kept.test"
  assert_line_re "$hosts" "^$(ip_of gone)"$'\t'"${id:0:12}\$"
  $BERTH rm -f gone
  [ ! -e "$BERTH_DIR/run/netns/$id" ] || fail "netns file left after rm"
  wait_until 5 no_veth
}

# icc_cleanup: the second daemon of the --icc=false test, whatever point the test reached
icc_cleanup() {
  [ -n "${ICC_DIR:-}" ] || return 0
  $ICC_BERTH rm -f srv >/dev/null 2>&1
  kill "$ICC_PID" 2>/dev/null; wait "$ICC_PID" 2>/dev/null
  berth_unmount_under "$ICC_DIR"; rm -rf "$ICC_DIR"
  ip link del "$ICC_BR" 2>/dev/null
  $NFT delete table ip "berth_$ICC_BR" 2>/dev/null; $NFT delete table bridge "berth_$ICC_BR" 2>/dev/null
  ICC_DIR=
}

@test "a second berthd with --icc=false on its own bridge: containers cannot talk to each other" {
  ICC_BR="${BR}i" ICC_DIR=$(mktemp -d /tmp/bti.XXXXXX)
  local net2="10.212.$(($$ % 250))"
  "$BERTHD_BIN" --data-root "$ICC_DIR/data" --exec-root "$ICC_DIR/run" -H "unix://$ICC_DIR/s.sock" --group root \
    --default-registry 127.0.0.1:1 --pidfile "$ICC_DIR/pid" --bridge "$ICC_BR" --bip "$net2.1/24" --icc=false \
    </dev/null >"$ICC_DIR/log" 2>&1 3>&- &
  ICC_PID=$! ICC_BERTH="$BERTH_BIN -H unix://$ICC_DIR/s.sock"
  wait_until 10 curl -fsS --unix-socket "$ICC_DIR/s.sock" http://localhost/_ping
  $ICC_BERTH import "$(berth_rootfs_tar)" busybox:latest >/dev/null
  $ICC_BERTH run -d --name srv busybox sh -c 'mkdir -p /www && echo iso >/www/index.html && exec httpd -f -p 80 -h /www'
  sip=$($ICC_BERTH inspect -f '{{.NetworkSettings.IPAddress}}' srv)
  wait_until 10 http "http://$sip/"
  run $ICC_BERTH run --rm busybox wget -qO- -T 2 "http://$sip/"
  [ "$status" -ne 0 ] || fail "a container reached another one with --icc=false"
  run $ICC_BERTH network inspect -f '{{index .Options "com.docker.network.bridge.enable_icc"}}' bridge
  assert_eq "$output" false "enable_icc"
  icc_cleanup
}

@test "after kill -9 of berthd a restart repairs: stale leftovers go, live containers keep theirs" {
  $BERTH run -d --name live -p 127.0.0.1:31600:80 busybox sh -c \
    'mkdir -p /www && echo alive >/www/index.html && exec httpd -f -p 80 -h /www'
  live_id=$($BERTH inspect -f '{{.Id}}' live)
  kill -9 "$BERTHD_PID"
  wait "$BERTHD_PID" 2>/dev/null || true
  # what a crash in the middle of a setup could leave: a netns file, a veth, a map element
  touch "$BERTH_DIR/run/netns/$(printf 'f%.0s' {1..64})"
  STALE=$(printf 'veth%07x' $(($$ & 0xfffffff)))
  ip link del "$STALE" 2>/dev/null || true
  ip link add "$STALE" master "$BR" type veth peer name "${STALE}p"
  $NFT add element ip "berth_$BR" pubh_tcp '{ 127.0.0.1 . 31601 : 10.0.0.9 . 80 }'
  berth_restart_daemon --bridge "$BR" --bip "$GW/24"
  [ ! -e "$BERTH_DIR/run/netns/$(printf 'f%.0s' {1..64})" ] || fail "stale netns file kept"
  [ ! -e "/sys/class/net/$STALE" ] || fail "stale veth kept"
  run $NFT list map ip "berth_$BR" pubh_tcp
  assert_not_has "$output" 31601
  assert_has "$output" 31600
  [ -e "$BERTH_DIR/run/netns/$live_id" ] || fail "live container lost its netns"
  wait_until 10 http "http://127.0.0.1:31600/"
  assert_eq "$(http "http://127.0.0.1:31600/")" alive
}

# berth_restart_daemon ARGS: a new berthd on the same directories (the helper's start makes new ones)
berth_restart_daemon() {
  "$BERTHD_BIN" --data-root "$BERTH_DIR/data" --exec-root "$BERTH_DIR/run" \
    -H "unix://$BERTH_SOCK" --group root --default-registry 127.0.0.1:1 \
    --pidfile "$BERTH_DIR/berthd.pid" --log-level debug "$@" \
    </dev/null >>"$BERTH_DIR/berthd.log" 2>&1 3>&- &
  BERTHD_PID=$!
  echo "$BERTHD_PID" >"$BERTH_DIR/berthd.daemon-pid"
  export BERTHD_PID
  wait_until 10 curl -fsS --max-time 2 --unix-socket "$BERTH_SOCK" http://localhost/_ping
}
