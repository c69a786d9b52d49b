#!/usr/bin/env bats
# network2.bats: what network.bats leaves out, through a private berthd on bridge bt-n2
# (10.213.70.0/24, --fixed-cidr 10.213.70.128/25, --mtu 1400): the daemon options --fixed-cidr,
# --mtu, --ip-forward (daemons in netns of their own), --iptables=false (10.213.71.0/24), the
# default subnet colliding with a route, -p's other forms (127.0.0.1::P, ranges, /udp), 200 ports
# as map elements only, -P with an image's EXPOSE, port's listing, a port held by a host socket
# and a start the runtime fails (nothing left), /etc files kept across restarts, the host's
# loopback nameservers, seed 002's link variables, network events at start and stop, and the
# lease after a crash. Traffic goes only to 127.0.0.1 and to addresses these daemons made.
load helpers
bats_require_minimum_version 1.5.0

setup_file() {
  export BR=bt-n2 NET3=10.213.70 GW=10.213.70.1
  export NFT="$BUILD_DIR/src/network/test_network nft"
  berth_start_daemon --bridge "$BR" --bip "$GW/24" --fixed-cidr "$NET3.128/25" --mtu 1400
  berth_import_busybox busybox:latest
}

teardown_file() {
  BERTHD_PID=$(cat "$BERTH_DIR/berthd.daemon-pid" 2>/dev/null || echo "$BERTHD_PID")
  berth_stop_daemon
  ip link del "$BR" 2>/dev/null
  $NFT delete table ip "berth_${BR//-/_}" 2>/dev/null
  $NFT delete table bridge "berth_${BR//-/_}" 2>/dev/null
  return 0
}

teardown() {
  berth_teardown
  other_cleanup
  [ -z "${LISTENER:-}" ] || { kill "$LISTENER" 2>/dev/null; wait "$LISTENER" 2>/dev/null; LISTENER=; }
  ip link del bt-n2d 2>/dev/null
  local ids
  ids=$($BERTH ps -aq --no-trunc 2>/dev/null)
  [ -z "$ids" ] || $BERTH rm -f $ids >/dev/null 2>&1
  return 0
}

ip_of() { $BERTH inspect -f '{{.NetworkSettings.IPAddress}}' "$1"; }
pid_of() { $BERTH inspect -f '{{.State.Pid}}' "$1"; }
veth_count() { ls "/sys/class/net/$BR/brif" 2>/dev/null | wc -l; }
http() { curl -fsS --max-time 3 --noproxy '*' "$1"; }
run_httpd() {
  $BERTH run -d --name "$1" "${@:2}" busybox sh -c \
    "mkdir -p /www && echo hello $1 >/www/index.html && exec httpd -f -p 80 -h /www"
}
state_file() { cat "$BERTH_DIR/data/network/$BR.json"; }

# other_start BRIDGE ARGS...: a second berthd (OTHER_BERTH) on its own directories and bridge
other_start() {
  OTHER_BR=$1 OTHER_DIR=$(mktemp -d /tmp/bt2.XXXXXX)
  ${OTHER_WRAP:-} "$BERTHD_BIN" --data-root "$OTHER_DIR/data" --exec-root "$OTHER_DIR/run" -H "unix://$OTHER_DIR/s.sock" \
    --group root --default-registry 127.0.0.1:1 --pidfile "$OTHER_DIR/pid" --bridge "$OTHER_BR" "${@:2}" \
    </dev/null >"$OTHER_DIR/log" 2>&1 3>&- &
  OTHER_PID=$! OTHER_BERTH="$BERTH_BIN -H unix://$OTHER_DIR/s.sock"
  wait_until 10 curl -fsS --unix-socket "$OTHER_DIR/s.sock" http://localhost/_ping
  $OTHER_BERTH import "$(berth_rootfs_tar)" busybox:latest >/dev/null
}

other_cleanup() {
  [ -n "${OTHER_DIR:-}" ] || return 0
  local ids
  ids=$($OTHER_BERTH ps -aq 2>/dev/null)
  [ -z "$ids" ] || $OTHER_BERTH rm -f $ids >/dev/null 2>&1
  kill "$OTHER_PID" 2>/dev/null; wait "$OTHER_PID" 2>/dev/null || true
  berth_unmount_under "$OTHER_DIR"; rm -rf "$OTHER_DIR"
  ip link del "$OTHER_BR" 2>/dev/null || true
  $NFT delete table ip "berth_${OTHER_BR//-/_}" 2>/dev/null || true
  $NFT delete table bridge "berth_${OTHER_BR//-/_}" 2>/dev/null || true
  OTHER_DIR=
}

@test "--fixed-cidr: addresses come from that part of the subnet; --mtu on the bridge and eth0" {
  $BERTH run -d --name fc busybox sleep 600
  IP=$(ip_of fc)
  [ "${IP##*.}" -ge 128 ] || fail "IPAddress $IP is outside $NET3.128/25"
  assert_eq "$($BERTH inspect -f '{{.NetworkSettings.IPPrefixLen}}' fc)" 24 IPPrefixLen
  assert_eq "$(cat "/sys/class/net/$BR/mtu")" 1400 "bridge MTU"
  run nsenter -t "$(pid_of fc)" -n ip -o link show eth0
  assert_has "$output" "mtu 1400 "
  run $BERTH network inspect -f '{{range .IPAM.Config}}{{.Subnet}} {{.IPRange}}{{end}} {{index .Options "com.docker.network.driver.mtu"}}' bridge
  assert_eq "$output" "$NET3.0/24 $NET3.128/25 1400"
}

@test "--ip-forward turns IPv4 forwarding on, --ip-forward=false leaves it (daemons in new netns)" {
  assert_eq "$(cat /proc/sys/net/ipv4/ip_forward)" 1 "ip_forward with our daemon"
  # a network namespace of its own (IPv4 sysctls come from the host's: turned off there first)
  printf '#!/bin/sh\necho 0 >/proc/sys/net/ipv4/ip_forward && exec "$@"\n' >"$BATS_TEST_TMPDIR/fwd0"
  chmod +x "$BATS_TEST_TMPDIR/fwd0"
  local want
  for want in 0 1; do
    if [ "$want" = 0 ]; then set -- --ip-forward=false; else set --; fi
    OTHER_WRAP="unshare -n $BATS_TEST_TMPDIR/fwd0" other_start bt-n2f --bip 10.213.74.1/24 "$@"
    assert_eq "$(nsenter -t "$OTHER_PID" -n cat /proc/sys/net/ipv4/ip_forward)" "$want" "ip_forward after berthd $*"
    other_cleanup
  done
}

@test "--iptables=false: no nftables table of ours, -p is refused, the bridge still works" {
  other_start bt-n2i --bip 10.213.71.1/24 --iptables=false --ip-forward=false
  run $NFT list table ip berth_bt_n2i
  [ "$status" -ne 0 ] || fail "a table exists: $output"
  run $OTHER_BERTH run -d --name pub -p 127.0.0.1:31900:80 busybox sleep 600
  [ "$status" -ne 0 ] || fail "-p accepted without iptables"
  assert_has "$output" "iptables"
  $OTHER_BERTH run -d --name srv busybox sh -c 'mkdir -p /www && echo noipt >/www/index.html && exec httpd -f -p 80 -h /www'
  sip=$($OTHER_BERTH inspect -f '{{.NetworkSettings.IPAddress}}' srv)
  [[ $sip == 10.213.71.* ]] || fail "address $sip"
  wait_until 10 http "http://$sip/"
  assert_eq "$(http "http://$sip/")" noipt
}

@test "a default subnet that a route covers: the bridge gets a free private subnet from the pool" {
  # force the collision of the default 172.18.0.0/16 when no interface holds it already
  [ -n "$(ip -4 route show 172.18.0.0/16)" ] || {
    # a veth pair (the dummy module may not be loadable; veth always is, berth uses it)
    ip link add bt-n2d type veth peer name bt-n2e
    ip addr add 172.18.0.1/16 dev bt-n2d
    ip link set bt-n2e up
    ip link set bt-n2d up
  }
  other_start bt-n2p
  addr=$(ip -4 -o addr show dev bt-n2p | awk '{print $4}')
  [ -n "$addr" ] || fail "bt-n2p has no address"
  [[ $addr != 172.18.* ]] || fail "the colliding default $addr was taken"
  assert_match "$addr" '^(172\.(1[6-9]|2[0-9]|3[01])\.|192\.168\.)'
  # no other interface's route overlaps the chosen subnet
  run ip -4 route show match "${addr%/*}"
  assert_eq "$(printf '%s\n' "$output" | grep -v '^default' | grep -vc 'dev bt-n2p')" 0 "other routes: $output"
  $OTHER_BERTH run -d --name cc busybox sh -c 'mkdir -p /www && echo pool >/www/index.html && exec httpd -f -p 80 -h /www'
  cip=$($OTHER_BERTH inspect -f '{{.NetworkSettings.IPAddress}}' cc)
  wait_until 10 http "http://$cip/"
  assert_eq "$(http "http://$cip/")" pool
}

@test "-p 127.0.0.1::80 takes a free port on 127.0.0.1; port lists every mapping like docker" {
  run_httpd lo -p 127.0.0.1::80 -p 127.0.0.1:31950-31951:7000-7001 -p 127.0.0.1:31952:53/udp
  run $BERTH port lo 80
  assert_match "$output" '^127\.0\.0\.1:[0-9]+$' "port lo 80"
  HP=${output##*:}
  wait_until 10 http "http://127.0.0.1:$HP/"
  assert_eq "$(http "http://127.0.0.1:$HP/")" "hello lo"
  run $BERTH port lo
  assert_status 0
  assert_line "$output" "80/tcp -> 127.0.0.1:$HP"
  assert_line "$output" "7000/tcp -> 127.0.0.1:31950"
  assert_line "$output" "7001/tcp -> 127.0.0.1:31951"
  assert_line "$output" "53/udp -> 127.0.0.1:31952"
  run $BERTH port lo 7001/tcp
  assert_eq "$output" "127.0.0.1:31951"
}

@test "-p A-B:A-B on every address: one map element, each port reachable on 127.0.0.1" {
  $BERTH run -d --name rg -p 33810-33815:33810-33815 busybox sh -c \
    'mkdir -p /www && echo range >/www/index.html && exec httpd -f -p 33813 -h /www'
  run $NFT list map ip berth_bt_n2 pubr_tcp
  assert_has "$output" "0.0.0.0/0 . 33810-33815 : $(ip_of rg)"
  run $BERTH port rg
  assert_line "$output" "33810/tcp -> 0.0.0.0:33810"
  assert_line "$output" "33815/tcp -> 0.0.0.0:33815"
  wait_until 10 http "http://127.0.0.1:33813/"
  assert_eq "$(http "http://127.0.0.1:33813/")" range
}

@test "-p 127.0.0.1:HOSTPORT:5000/udp: an UDP echo through the published port" {
  PORT=$((32000 + $$ % 500))
  $BERTH run -d --name udp -p "127.0.0.1:$PORT:5000/udp" busybox sleep 600
  run $BERTH port udp 5000/udp
  assert_eq "$output" "127.0.0.1:$PORT"
  # Debian's busybox has no UDP server (nc without -u, no udpsvd): an echo in the container's
  # network namespace with the host's python
  nsenter -t "$(pid_of udp)" -n python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 5000)); s.settimeout(20)
data, peer = s.recvfrom(100); s.sendto(b"echo " + data, peer)' 3>&- &
  LISTENER=$!
  wait_until 5 sh -c "nsenter -t $(pid_of udp) -n ss -Hlun 'sport = :5000' | grep -q ."
  run python3 - "$PORT" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1)
for _ in range(10):
    s.sendto(b"ping-udp", ("127.0.0.1", int(sys.argv[1])))
    try:
        print(s.recvfrom(100)[0].decode()); break
    except socket.timeout:
        pass
PY
  assert_eq "$output" "echo ping-udp"
}

# nft_rules: the number of rules in our table's chains (map elements are not rules)
nft_rules() {
  $NFT list table ip berth_bt_n2 | awk '/^\tchain /{c=1; next} c && /^\t}/{c=0} c && !/^\t\ttype / && NF {n++} END {print n+0}'
}

@test "200 published ports: 200 map elements, not one more rule, no host socket or process per port" {
  rules=$(nft_rules)
  threads=$(awk '/^Threads:/ {print $2}' "/proc/$BERTHD_PID/status")
  $BERTH run -d --name many -p 127.0.0.1:33000-33199:7000-7199 busybox sleep 600
  assert_eq "$(nft_rules)" "$rules" "rules after publishing 200 ports"
  run $NFT list map ip berth_bt_n2 pubh_tcp
  assert_eq "$(grep -o "127.0.0.1 . 33[01][0-9][0-9] : $(ip_of many) . 7[01][0-9][0-9]" <<<"$output" | wc -l)" 200 elements
  assert_eq "$(ss -Hltn 'sport >= :33000 and sport <= :33199' | wc -l)" 0 "host sockets on the published ports"
  # no process (the shim is the only one naming the container) and no daemon thread per port
  id=$($BERTH inspect -f '{{.Id}}' many)
  [ "$(pgrep -fc "$id")" -le 1 ] || fail "processes naming the container: $(pgrep -fa "$id")"
  [ "$(awk '/^Threads:/ {print $2}' "/proc/$BERTHD_PID/status")" -le $((threads + 2)) ] || fail "berthd threads grew"
  $BERTH rm -f many >/dev/null
  run $NFT list map ip berth_bt_n2 pubh_tcp
  assert_not_has "$output" "33000"
}

@test "a start the runtime fails leaves no veth, netns, map element or lease" {
  before=$(veth_count)
  # 127: docker's status for a command not found
  run -127 $BERTH run -d --name nocmd -p 127.0.0.1:33500:80 busybox /no/such/command
  id=$($BERTH inspect -f '{{.Id}}' nocmd)
  [ ! -e "$BERTH_DIR/run/netns/$id" ] || fail "netns file left"
  # the kernel deletes the pair when the namespace dies: its cleanup worker can lag seconds
  # behind on a loaded machine
  wait_until 30 test "$(veth_count)" -eq "$before"
  run $NFT list table ip berth_bt_n2
  assert_not_has "$output" 33500
  assert_not_has "$(state_file)" "$id"
  assert_eq "$($BERTH inspect -f '{{.NetworkSettings.IPAddress}}' nocmd)" ""
}

@test "-P publishes the image's EXPOSEd ports on ephemeral host ports" {
  $BERTH run -d --name base busybox true
  $BERTH wait base >/dev/null
  $BERTH commit -c 'EXPOSE 80 7000/udp' base n2expose:latest >/dev/null
  $BERTH run -d --name pall -P n2expose:latest sh -c 'mkdir -p /www && echo exposed >/www/index.html && exec httpd -f -p 80 -h /www'
  assert_eq "$($BERTH inspect -f '{{.HostConfig.PublishAllPorts}}' pall)" true
  HP=$($BERTH port pall 80/tcp | head -1 | awk -F: '{print $NF}')
  UP=$($BERTH port pall 7000/udp | head -1 | awk -F: '{print $NF}')
  [ "$HP" -ge 1024 ] && [ "$UP" -ge 1024 ] || fail "host ports $HP $UP"
  wait_until 10 http "http://127.0.0.1:$HP/"
  assert_eq "$(http "http://127.0.0.1:$HP/")" exposed
  $BERTH rm -f pall base >/dev/null
  $BERTH rmi n2expose:latest >/dev/null
}

@test "a host port held by a host socket: docker's error, and no veth, netns, element or lease left" {
  PORT=$((32600 + $$ % 300))
  python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); time.sleep(60)' "$PORT" 3>&- &
  LISTENER=$!
  wait_until 5 sh -c "ss -Hltn 'sport = :$PORT' | grep -q ."
  before=$(veth_count)
  run $BERTH run -d --name taken -p "$PORT:80" busybox sleep 600
  [ "$status" -ne 0 ] || fail "the container started"
  assert_match "$output" "driver failed programming external connectivity on endpoint taken \([0-9a-f]{64}\): Error starting userland proxy: listen tcp4 0.0.0.0:$PORT: bind: address already in use"
  id=$($BERTH inspect -f '{{.Id}}' taken)
  [ ! -e "$BERTH_DIR/run/netns/$id" ] || fail "netns file left"
  wait_until 30 test "$(veth_count)" -eq "$before"
  run $NFT list table ip berth_bt_n2
  assert_not_has "$output" "$PORT"
  assert_not_has "$(state_file)" "$id"
  assert_eq "$($BERTH inspect -f '{{.NetworkSettings.IPAddress}}' taken)" ""
}

@test "edits of /etc/hosts, /etc/hostname and /etc/resolv.conf inside are kept across a restart" {
  $BERTH run -d --name keep busybox sleep 600
  $BERTH exec keep sh -c 'echo "10.9.9.8 edited.test" >>/etc/hosts; echo "search kept.test" >>/etc/resolv.conf; echo renamed >/etc/hostname'
  $BERTH restart -t 1 keep
  run $BERTH exec keep sh -c 'cat /etc/hosts /etc/resolv.conf /etc/hostname'
  assert_status 0
  assert_line "$output" "10.9.9.8 edited.test"
  assert_line "$output" "search kept.test"
  assert_line "$output" renamed
  # the container's own line follows its (new) address
  assert_line_re "$output" "^$(ip_of keep)"$'\t'
  # the host's loopback nameservers never reach the container
  assert_not_has "$(grep '^nameserver' <<<"$output")" "nameserver 127."
}

@test "the host's loopback nameservers are left out of a container's resolv.conf" {
  # a berthd in a mount namespace of its own that sees another /etc/resolv.conf
  printf 'nameserver 127.0.0.53\nnameserver 10.213.73.53\nnameserver ::1\nsearch n2.test\n' >"$BATS_TEST_TMPDIR/resolv.conf"
  printf '#!/bin/sh\nmount --bind "%s" /etc/resolv.conf && exec "$@"\n' "$BATS_TEST_TMPDIR/resolv.conf" >"$BATS_TEST_TMPDIR/wrap"
  chmod +x "$BATS_TEST_TMPDIR/wrap"
  OTHER_WRAP="unshare -m --propagation private $BATS_TEST_TMPDIR/wrap" other_start bt-n2r --bip 10.213.73.1/24
  run $OTHER_BERTH run --rm busybox cat /etc/resolv.conf
  assert_status 0
  assert_eq "$output" "nameserver 10.213.73.53
search n2.test" "resolv.conf"
}

@test "--link: every variable of seed 002 (_NAME, _PORT, _PORT_N_TCP, _ADDR, _PORT, _PROTO)" {
  $BERTH run -d --name pg --expose 5432 busybox sleep 600
  PGIP=$(ip_of pg)
  run $BERTH run --rm --name web --link pg:db busybox env
  assert_status 0
  for l in "DB_NAME=/web/db" "DB_PORT=tcp://$PGIP:5432" "DB_PORT_5432_TCP=tcp://$PGIP:5432" \
    "DB_PORT_5432_TCP_PROTO=tcp" "DB_PORT_5432_TCP_PORT=5432" "DB_PORT_5432_TCP_ADDR=$PGIP"; do
    assert_line "$output" "$l"
  done
}

@test "network connect and disconnect events at a container's start and stop" {
  since=$(date +%s)
  $BERTH run --name ev busybox true
  $BERTH run --name evn --net none busybox true
  id=$($BERTH inspect -f '{{.Id}}' ev)
  idn=$($BERTH inspect -f '{{.Id}}' evn)
  nid=$($BERTH network inspect -f '{{.Id}}' bridge)
  run $BERTH events --since "$since" --until "$(($(date +%s) + 1))" --filter type=network \
    --format '{{.Action}} {{.Actor.ID}} {{.Actor.Attributes.container}} {{.Actor.Attributes.name}} {{.Actor.Attributes.type}}'
  assert_status 0
  assert_line "$output" "connect $nid $id bridge bridge"
  assert_line "$output" "disconnect $nid $id bridge bridge"
  assert_line_re "$output" "^connect [0-9a-f]{64} $idn none null\$"
  assert_line_re "$output" "^disconnect [0-9a-f]{64} $idn none null\$"
  # one each: a stopped container's rm sends no second disconnect
  $BERTH rm ev >/dev/null
  run $BERTH events --since "$since" --until "$(($(date +%s) + 1))" --filter type=network
  assert_eq "$(grep -c " disconnect .*container=$id" <<<"$output")" 1 "disconnects: $output"
}

@test "kill -9 berthd, the container dies meanwhile: the restart frees its lease, veth and netns" {
  $BERTH run -d --name dies busybox sleep 600
  id=$($BERTH inspect -f '{{.Id}}' dies); IP=$(ip_of dies); PID=$(pid_of dies)
  assert_has "$(state_file)" "\"$IP\""
  kill -9 "$BERTHD_PID"; wait "$BERTHD_PID" 2>/dev/null || true
  kill -9 "$PID"
  wait_until 5 sh -c "! kill -0 $PID 2>/dev/null"
  "$BERTHD_BIN" --data-root "$BERTH_DIR/data" --exec-root "$BERTH_DIR/run" -H "unix://$BERTH_SOCK" --group root \
    --default-registry 127.0.0.1:1 --pidfile "$BERTH_DIR/berthd.pid" --log-level debug \
    --bridge "$BR" --bip "$GW/24" --fixed-cidr "$NET3.128/25" --mtu 1400 </dev/null >>"$BERTH_DIR/berthd.log" 2>&1 3>&- &
  BERTHD_PID=$!
  echo "$BERTHD_PID" >"$BERTH_DIR/berthd.daemon-pid"
  wait_until 10 curl -fsS --max-time 2 --unix-socket "$BERTH_SOCK" http://localhost/_ping
  wait_until 10 is_stopped dies
  wait_until 5 test ! -e "$BERTH_DIR/run/netns/$id"
  wait_until 30 test "$(veth_count)" -eq 0
  assert_not_has "$(state_file)" "\"$IP\""
}
