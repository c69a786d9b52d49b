/* test_network.c - unit tests of the network module: CIDR, IPAM, MAC, port bindings, hosts and
 * resolv.conf, link env, nftables text; as root also a bridge + container round trip on a
 * private bridge and subnet. "test_network nft CMD..." runs an nftables command (bats checks
 * our table with it: nft(8) is not installed everywhere). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "common/buf.h"
#include "common/fs.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "network/net_int.h"

static void test_cidr(void **state) {
  struct cidr c;
  assert_int_equal(cidr_parse("172.18.0.1/16", &c, NULL), 0);
  assert_int_equal(c.prefix, 16);
  assert_int_equal(c.addr, (172u << 24) | (18u << 16) | 1u);
  assert_int_equal(cidr_net(&c), (172u << 24) | (18u << 16));
  _cleanup_berr_ struct berth_error *e = NULL;
  assert_int_equal(cidr_parse("172.18.0.1", &c, &e), -EINVAL);
  assert_string_equal(e->msg, "invalid CIDR address: 172.18.0.1");
  assert_int_equal(cidr_parse("1.2.3.4/33", &c, NULL), -EINVAL);
  assert_int_equal(cidr_parse("1.2.3/8", &c, NULL), -EINVAL);
  assert_int_equal(cidr_parse("1.2.3.4/", &c, NULL), -EINVAL);
  struct cidr a, b;
  cidr_parse("10.0.0.0/8", &a, NULL);
  cidr_parse("10.213.0.1/24", &b, NULL);
  assert_true(cidr_overlap(&a, &b));
  cidr_parse("172.18.0.0/16", &b, NULL);
  assert_false(cidr_overlap(&a, &b));
  assert_true(cidr_contains(&a, (10u << 24) | 5u));
  char s[16];
  ip_str((192u << 24) | (168u << 16) | (1u << 8) | 200u, s);
  assert_string_equal(s, "192.168.1.200");
}

static void test_mac(void **state) {
  uint8_t m[6];
  char s[18];
  mac_from_ip((172u << 24) | (17u << 16) | 2u, m);
  mac_str(m, s);
  assert_string_equal(s, "02:42:ac:11:00:02");
  assert_int_equal(mac_parse("92:d0:c6:0a:29:33", m), 0);
  assert_int_equal(m[5], 0x33);
  assert_int_equal(mac_parse("01:00:00:00:00:01", m), -EINVAL); /* multicast */
  assert_int_equal(mac_parse("92:d0:c6:0a:29", m), -EINVAL);
  assert_int_equal(mac_parse("92:d0:c6:0a:29:33:44", m), -EINVAL);
}

static void test_ipam(void **state) {
  struct cidr sub, range;
  cidr_parse("10.1.0.1/29", &sub, NULL); /* .0 net, .1 gateway, .2-.6, .7 broadcast */
  range = sub;
  struct ipam p;
  assert_int_equal(ipam_init(&p, &sub, &range, sub.addr, NULL), 0);
  uint32_t got[5];
  for (int i = 0; i < 5; i++) {
    assert_int_equal(ipam_alloc(&p, 0, &got[i], NULL), 0);
    assert_int_equal(got[i] & 0xff, 2 + i);
  }
  uint32_t x;
  _cleanup_berr_ struct berth_error *e = NULL;
  assert_int_equal(ipam_alloc(&p, 0, &x, &e), -ENOSPC);
  ipam_release(&p, got[1]);
  assert_int_equal(ipam_alloc(&p, 0, &x, NULL), 0);
  assert_int_equal(x, got[1]);
  /* a wanted address: taken, reserved, outside */
  assert_int_equal(ipam_alloc(&p, got[0], &x, NULL), -EEXIST);
  assert_int_equal(ipam_alloc(&p, sub.addr, &x, NULL), -EINVAL);
  assert_int_equal(ipam_alloc(&p, (10u << 24) | (2u << 16), &x, NULL), -EINVAL);
  ipam_free(&p);
  /* fixed-cidr: a part of the subnet */
  cidr_parse("10.1.0.1/16", &sub, NULL);
  cidr_parse("10.1.5.0/24", &range, NULL);
  assert_int_equal(ipam_init(&p, &sub, &range, sub.addr, NULL), 0);
  assert_int_equal(ipam_alloc(&p, 0, &x, NULL), 0);
  assert_int_equal(x, (10u << 24) | (1u << 16) | (5u << 8)); /* .5.0 is an ordinary host in a /16 */
  ipam_free(&p);
  cidr_parse("10.2.0.0/24", &range, NULL);
  assert_int_equal(ipam_init(&p, &sub, &range, sub.addr, NULL), -EINVAL);
}

/* allocations from threads never hand out one address twice */
struct ipam_th {
  struct ipam *p;
  pthread_mutex_t *mu;
  uint32_t got[100];
};
static void *ipam_worker(void *arg) {
  struct ipam_th *t = arg;
  for (int i = 0; i < 100; i++) {
    pthread_mutex_lock(t->mu);
    ipam_alloc(t->p, 0, &t->got[i], NULL);
    pthread_mutex_unlock(t->mu);
  }
  return NULL;
}
static void test_ipam_threads(void **state) {
  struct cidr sub;
  cidr_parse("10.9.0.1/16", &sub, NULL);
  struct ipam p;
  ipam_init(&p, &sub, &sub, sub.addr, NULL);
  pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
  struct ipam_th th[4];
  pthread_t t[4];
  for (int i = 0; i < 4; i++) {
    th[i] = (struct ipam_th){.p = &p, .mu = &mu};
    pthread_create(&t[i], NULL, ipam_worker, &th[i]);
  }
  for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
  uint8_t *seen = xcalloc(65536, 1);
  for (int i = 0; i < 4; i++)
    for (int k = 0; k < 100; k++) {
      uint32_t o = th[i].got[k] & 0xffff;
      assert_int_equal(seen[o], 0);
      seen[o] = 1;
    }
  free(seen);
  ipam_free(&p);
}

static void test_ports_parse(void **state) {
  json_t *b = json_loads("{\"80/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"8080\"}],"
                         "\"53/udp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"\"}],"
                         "\"5000\":[{\"HostIp\":\"\",\"HostPort\":\"9000-9010\"}]}",
                         0, NULL);
  json_t *x = json_loads("{\"80/tcp\":{},\"443/tcp\":{}}", 0, NULL);
  struct port_map *v = NULL;
  size_t n = 0;
  assert_int_equal(ports_parse(b, x, false, &v, &n, NULL), 0);
  assert_int_equal(n, 4);
  assert_int_equal(v[0].ctr_port, 80);
  assert_int_equal(v[0].host_lo, 8080);
  assert_int_equal(v[0].host_hi, 8080);
  assert_int_equal(v[1].proto, PROTO_UDP);
  assert_int_equal(v[1].host_ip, (127u << 24) | 1u);
  assert_int_equal(v[1].host_lo, 0);
  assert_int_equal(v[2].host_lo, 9000);
  assert_int_equal(v[2].host_hi, 9010);
  assert_int_equal(v[3].ctr_port, 443);
  assert_true(v[3].exposed_only);
  v[0].host_port = 8080;
  v[1].host_port = 33000;
  v[2].host_port = 9004;
  json_t *pj = ports_json(v, n);
  char *s = json_dumps(pj, JSON_COMPACT | JSON_SORT_KEYS);
  assert_string_equal(s, "{\"443/tcp\":null,\"5000/tcp\":[{\"HostIp\":\"0.0.0.0\",\"HostPort\":\"9004\"}],"
                         "\"53/udp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"33000\"}],"
                         "\"80/tcp\":[{\"HostIp\":\"0.0.0.0\",\"HostPort\":\"8080\"}]}");
  free(s);
  json_decref(pj);
  free(v);
  /* -P: exposed ports get ephemeral ones */
  assert_int_equal(ports_parse(NULL, x, true, &v, &n, NULL), 0);
  assert_int_equal(n, 2);
  assert_false(v[0].exposed_only);
  assert_int_equal(v[0].host_lo, 0);
  free(v);
  /* container range to host range, one to one */
  json_t *r = json_loads("{\"8000-8002/tcp\":[{\"HostPort\":\"9000-9002\"}]}", 0, NULL);
  assert_int_equal(ports_parse(r, NULL, false, &v, &n, NULL), 0);
  assert_int_equal(n, 3);
  assert_int_equal(v[2].ctr_port, 8002);
  assert_int_equal(v[2].host_lo, 9002);
  free(v);
  json_decref(r);
  const char *bad[] = {"{\"80/xyz\":[{}]}", "{\"0/tcp\":[{}]}", "{\"80/tcp\":[{\"HostPort\":\"70000\"}]}",
                       "{\"80/tcp\":[{\"HostIp\":\"1.2.3\"}]}", "{\"8000-8002/tcp\":[{\"HostPort\":\"9000-9001\"}]}"};
  for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
    json_t *j = json_loads(bad[i], 0, NULL);
    _cleanup_berr_ struct berth_error *e = NULL;
    assert_int_equal(ports_parse(j, NULL, false, &v, &n, &e), -EINVAL);
    json_decref(j);
  }
  json_decref(b);
  json_decref(x);
}

static void test_nft_elements(void **state) {
  struct port_map v[5] = {
      {.proto = PROTO_TCP, .host_port = 8000, .ctr_port = 8000},
      {.proto = PROTO_TCP, .host_port = 8001, .ctr_port = 8001},
      {.proto = PROTO_TCP, .host_port = 8002, .ctr_port = 8002},
      {.proto = PROTO_TCP, .host_ip = (127u << 24) | 1u, .host_port = 8080, .ctr_port = 80},
      {.proto = PROTO_UDP, .ctr_port = 53, .exposed_only = true},
  };
  struct buf b = {0};
  nft_elements(&b, "add", "berth_x", (10u << 24) | 2u, v, 5);
  assert_string_equal(b.p, "add element ip berth_x pubr_tcp { 0.0.0.0/0 . 8000-8002 : 10.0.0.2 }\n"
                           "add element ip berth_x pubh_tcp { 127.0.0.1 . 8080 : 10.0.0.2 . 80 }\n");
  buf_free(&b);
  struct cidr c;
  cidr_parse("10.213.0.1/24", &c, NULL);
  char *s = nft_table_script("berth_bt1", "bt1", &c, false, NET_IFGROUP(7));
  assert_non_null(strstr(s, "ip saddr 10.213.0.0/24 oifname != \"bt1\" masquerade"));
  assert_non_null(strstr(s, "dnat ip to ip daddr . tcp dport map @pubh_tcp"));
  assert_non_null(strstr(s, "dnat ip to tcp dport map @puba_tcp"));
  assert_non_null(strstr(s, "meta iifgroup 1651769351 meta oifgroup 1651769351 ether type ip drop"));
  free(s);
}

static void test_hosts(void **state) {
  struct net_link l[2] = {{.name = "db1", .alias = "db", .ip = "10.0.0.3", .hostname = "0123456789ab"},
                          {.name = "cache", .ip = "10.0.0.4"}};
  json_t *extra = json_loads("[\"example.test:10.9.9.9\", \"v6.test:::1\"]", 0, NULL);
  struct etc_info e = {.ip = "10.0.0.2", .hostname = "abc", .domainname = "dom.test", .links = l, .nlinks = 2,
                       .extra_hosts = extra};
  char *h = hosts_text(&e);
  assert_non_null(strstr(h, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"));
  assert_non_null(strstr(h, "10.9.9.9\texample.test\n"));
  assert_non_null(strstr(h, "::1\tv6.test\n"));
  assert_non_null(strstr(h, "10.0.0.3\tdb 0123456789ab db1\n10.0.0.4\tcache\n"));
  const char *tail = "10.0.0.2\tabc.dom.test abc\n";
  assert_string_equal(h + strlen(h) - strlen(tail), tail);
  json_decref(extra);
  /* a restart: new addresses for our lines, the user's edits kept */
  struct net_link l2[2] = {{.name = "db1", .alias = "db", .ip = "10.0.0.7", .hostname = "0123456789ab"},
                           {.name = "cache", .ip = "10.0.0.4"}};
  struct etc_info e2 = {.ip = "10.0.0.9", .hostname = "abc", .domainname = "dom.test", .links = l2, .nlinks = 2};
  char *old = xasprintf("%s1.2.3.4\tmine.test\n", h);
  free(h);
  h = hosts_refresh(old, &e2);
  assert_non_null(strstr(h, "10.0.0.7\tdb 0123456789ab db1\n"));
  assert_null(strstr(h, "10.0.0.3"));
  assert_non_null(strstr(h, "10.0.0.9\tabc.dom.test abc\n1.2.3.4\tmine.test\n"));
  free(h);
  free(old);
  e = (struct etc_info){.hostname = "abc"};
  h = hosts_text(&e);
  assert_null(strstr(h, "abc"));
  free(h);
}

static void test_resolv(void **state) {
  const char *host = "# generated\nsearch a.test b.test\nnameserver 127.0.0.53\nnameserver 10.0.0.1\n"
                     "options edns0\n";
  char *r = resolv_text(host, NULL, NULL, NULL);
  assert_string_equal(r, "# generated\nsearch a.test b.test\nnameserver 10.0.0.1\noptions edns0\n");
  free(r);
  r = resolv_text("nameserver 127.0.0.1\nnameserver ::1\n", NULL, NULL, NULL);
  assert_string_equal(r, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
  free(r);
  json_t *dns = json_loads("[\"127.0.0.2\"]", 0, NULL), *search = json_loads("[\"example.test\"]", 0, NULL);
  json_t *opt = json_loads("[\"ndots:2\", \"timeout:1\"]", 0, NULL);
  r = resolv_text(host, dns, search, NULL);
  assert_string_equal(r, "search example.test\nnameserver 127.0.0.2\noptions edns0\n");
  free(r);
  r = resolv_text(host, NULL, NULL, opt);
  assert_string_equal(r, "search a.test b.test\nnameserver 10.0.0.1\noptions ndots:2 timeout:1\n");
  free(r);
  json_decref(dns);
  json_decref(search);
  json_decref(opt);
}

static void test_link_env(void **state) {
  json_t *exp = json_loads("{\"5432/tcp\":{}, \"80/udp\":{}}", 0, NULL);
  json_t *env = json_loads("[\"PATH=/bin\", \"POSTGRES_USER=me\", \"X=a=b\"]", 0, NULL);
  struct net_link l = {.name = "db1", .alias = "my-db", .ip = "10.0.0.3", .exposed_ports = exp, .env = env};
  char **v = NULL;
  net_link_env(&l, "web", &v);
  const char *want[] = {"MY_DB_NAME=/web/my-db",
                        "MY_DB_PORT=udp://10.0.0.3:80",
                        "MY_DB_PORT_80_UDP=udp://10.0.0.3:80",
                        "MY_DB_PORT_80_UDP_ADDR=10.0.0.3",
                        "MY_DB_PORT_80_UDP_PORT=80",
                        "MY_DB_PORT_80_UDP_PROTO=udp",
                        "MY_DB_PORT_5432_TCP=tcp://10.0.0.3:5432",
                        "MY_DB_PORT_5432_TCP_ADDR=10.0.0.3",
                        "MY_DB_PORT_5432_TCP_PORT=5432",
                        "MY_DB_PORT_5432_TCP_PROTO=tcp",
                        "MY_DB_ENV_POSTGRES_USER=me",
                        "MY_DB_ENV_X=a=b"};
  assert_int_equal(strv_len(v), ARRAY_SIZE(want));
  for (size_t i = 0; i < ARRAY_SIZE(want); i++) assert_string_equal(v[i], want[i]);
  strv_free(v);
  json_decref(exp);
  json_decref(env);
}

static void test_settings_helpers(void **state) {
  json_t *set = json_loads("{\"IPAddress\":\"10.0.0.2\",\"IPPrefixLen\":24,\"SandboxKey\":\"/x\","
                           "\"Ports\":{\"443/tcp\":null,\"80/tcp\":[{\"HostIp\":\"0.0.0.0\",\"HostPort\":\"8080\"}]},"
                           "\"Networks\":{\"bridge\":{\"IPAddress\":\"10.0.0.2\",\"NetworkID\":\"abc\"}}}",
                           0, NULL);
  json_t *ps = net_ports_summary(set);
  char *s = json_dumps(ps, JSON_COMPACT | JSON_SORT_KEYS);
  assert_string_equal(s, "[{\"PrivatePort\":443,\"Type\":\"tcp\"},"
                         "{\"IP\":\"0.0.0.0\",\"PrivatePort\":80,\"PublicPort\":8080,\"Type\":\"tcp\"}]");
  free(s);
  json_decref(ps);
  json_t *st = net_settings_stopped(set);
  s = json_dumps(st, JSON_COMPACT | JSON_SORT_KEYS);
  assert_string_equal(s, "{\"IPAddress\":\"\",\"IPPrefixLen\":0,\"Networks\":{\"bridge\":{\"IPAddress\":\"\","
                         "\"NetworkID\":\"abc\"}},\"Ports\":{},\"SandboxKey\":\"\"}");
  free(s);
  json_decref(st);
  json_decref(set);
}

static void test_modes(void **state) {
  assert_true(net_mode_is(NULL, "bridge"));
  assert_true(net_mode_is("default", "bridge"));
  assert_true(net_mode_is("container:abc", "container"));
  assert_string_equal(net_mode_container("container:abc"), "abc");
  assert_int_equal(net_mode_check("host", NULL), 0);
  assert_int_equal(net_mode_check("container:", NULL), -EINVAL);
  assert_int_equal(net_mode_check("mynet", NULL), 0);
  assert_int_equal(net_mode_check("my net", NULL), -ENOENT);
  assert_true(net_mode_user("mynet"));
  assert_false(net_mode_user("bridge"));
  assert_false(net_mode_user(NULL));
  assert_false(net_mode_user("container:x"));
  assert_false(net_mode_user("none"));
}

/* our chains for user networks: masquerade unless internal, isolation between bridges */
static void test_unet_nft(void **state) {
  struct network n = {.bridge = "bt0", .table = "berth_bt0"};
  struct unet a = {.name = "a", .bridge = "br-a"}, b = {.name = "b", .bridge = "br-b", .internal = true};
  cidr_parse("10.1.0.1/24", &a.subnet, NULL);
  cidr_parse("10.2.0.1/24", &b.subnet, NULL);
  a.options = json_object();
  b.options = json_object();
  struct buf out = {0};
  unet_nft(&n, &out);
  assert_null(out.p);
  n.unets = &a;
  a.next = &b;
  unet_nft(&n, &out);
  assert_non_null(strstr(out.p, "ip saddr 10.1.0.0/24 oifname != \"br-a\" masquerade"));
  assert_null(strstr(out.p, "ip saddr 10.2.0.0/24 oifname != \"br-b\" masquerade"));
  assert_non_null(strstr(out.p, "iifname \"br-a\" oifname { \"bt0\", \"br-b\" } drop"));
  assert_non_null(strstr(out.p, "iifname \"br-b\" oifname != \"br-b\" drop"));
  assert_non_null(strstr(out.p, "oifname \"br-b\" ct status dnat ip saddr 10.2.0.0/24 masquerade"));
  assert_null(strstr(out.p, "uicc"));
  buf_free(&out);
  json_object_set_new(a.options, "com.docker.network.bridge.enable_icc", json_string("false"));
  a.bridge_index = 7;
  unet_nft(&n, &out);
  assert_non_null(strstr(out.p, "table bridge berth_bt0 {\n  chain uicc"));
  assert_non_null(strstr(out.p, "meta iifgroup 1651769351 meta oifgroup 1651769351 ether type ip drop"));
  buf_free(&out);
  json_decref(a.options);
  json_decref(b.options);
}

static json_t *nets_of(json_t *settings, const char *name) {
  return json_object_get(json_object_get(settings, "Networks"), name);
}

static int create_net(struct network *n, const char *name, const char *subnet, const char *bridge, bool internal,
                      char id[65], struct berth_error **e) {
  json_t *ipam = json_pack("{s:[{s:s}]}", "Config", "Subnet", subnet);
  json_t *opts = json_pack("{s:s}", "com.docker.network.bridge.name", bridge);
  struct net_create c = {.name = name, .driver = "bridge", .internal = internal, .ipam = ipam, .options = opts};
  json_t *out = NULL;
  int r = net_create(n, &c, &out, e);
  if (r == 0) snprintf(id, 65, "%s", json_string_value(json_object_get(out, "Id")));
  json_decref(out);
  json_decref(ipam);
  json_decref(opts);
  return r;
}

/* as root: user networks: create, duplicate and overlap refused, a container on one with an
 * alias and a static address, connect to a second, disconnect, remove refused while in use */
static void test_usernet(void **state) {
  if (geteuid() != 0) skip();
  char tmp[] = "/tmp/bunet.XXXXXX";
  assert_non_null(mkdtemp(tmp));
  char br[16], b1[16], b2[16];
  int pid = (int)getpid() % 10000;
  snprintf(br, sizeof(br), "btv%d", pid);
  snprintf(b1, sizeof(b1), "btv%da", pid);
  snprintf(b2, sizeof(b2), "btv%db", pid);
  struct net_options o = {.bridge = br, .bip = "10.214.9.1/24", .icc = true, .iptables = true};
  struct network *n = NULL;
  _cleanup_berr_ struct berth_error *e = NULL;
  int r = net_open(&o, tmp, tmp, &n, &e);
  if (r < 0) fail_msg("net_open: %s", berr_msg(e));
  char id1[65], id2[65], idx[65];
  r = create_net(n, "un1", "10.214.10.0/24", b1, false, id1, &e);
  if (r < 0) fail_msg("create: %s", berr_msg(e));
  assert_int_equal(create_net(n, "un1", "10.214.11.0/24", b2, false, idx, &e), -EEXIST);
  berr_clear(&e);
  assert_int_equal(create_net(n, "un3", "10.214.10.0/25", b2, false, idx, &e), -EPERM);
  berr_clear(&e);
  assert_int_equal(create_net(n, "bridge", "10.214.11.0/24", b2, false, idx, &e), -EPERM);
  berr_clear(&e);
  assert_int_equal(create_net(n, "un2", "10.214.11.0/24", b2, true, id2, &e), 0);
  json_t *nj = NULL;
  assert_int_equal(net_network_inspect(n, "un1", &nj, &e), 0);
  assert_string_equal(json_string_value(json_object_get(nj, "Id")), id1);
  json_t *cfg = json_array_get(json_object_get(json_object_get(nj, "IPAM"), "Config"), 0);
  assert_string_equal(json_string_value(json_object_get(cfg, "Gateway")), "10.214.10.1");
  json_decref(nj);
  json_t *list = net_networks_json(n);
  assert_int_equal(json_array_size(list), 5);
  json_decref(list);
  /* a container on un1 with an alias and a fixed address */
  json_t *eps = json_loads("{\"un1\":{\"Aliases\":[\"db\"],\"IPAMConfig\":{\"IPv4Address\":\"10.214.10.9\"}}}", 0,
                           NULL);
  struct net_request req = {.name = "c1", .mode = "un1", .hostname = "h1", .endpoints = eps};
  const char *id = "3333333333333333333333333333333333333333333333333333333333333333";
  json_t *set = NULL;
  r = net_container_setup(n, id, &req, &set, &e);
  if (r < 0) fail_msg("setup: %s", berr_msg(e));
  assert_string_equal(json_string_value(json_object_get(nets_of(set, "un1"), "IPAddress")), "10.214.10.9");
  assert_string_equal(json_string_value(json_object_get(nets_of(set, "un1"), "NetworkID")), id1);
  assert_string_equal(json_string_value(json_array_get(json_object_get(nets_of(set, "un1"), "Aliases"), 0)), "db");
  assert_int_equal(net_remove(n, "un1", NULL, NULL, &e), -EPERM);
  assert_non_null(strstr(berr_msg(e), "has active endpoints"));
  berr_clear(&e);
  /* the embedded DNS's file */
  assert_int_equal(net_container_files(n, tmp, &req, set, &e), 0);
  char *text = NULL;
  char path[256];
  snprintf(path, sizeof(path), "%s/resolv.conf", tmp);
  assert_int_equal(read_file(path, &text, NULL, NULL), 0);
  assert_non_null(strstr(text, "nameserver 127.0.0.11\noptions ndots:0\n"));
  free(text);
  /* connect to un2 (eth1), disconnect again */
  r = net_container_connect(n, id, "c1", "un2", NULL, NULL, 0, set, &e);
  if (r < 0) fail_msg("connect: %s", berr_msg(e));
  assert_string_equal(json_string_value(json_object_get(nets_of(set, "un2"), "IPAddress")), "10.214.11.2");
  assert_int_equal(net_container_connect(n, id, "c1", "un2", NULL, NULL, 0, set, &e), -EPERM);
  berr_clear(&e);
  assert_int_equal(net_container_disconnect(n, id, "un2", set, &e), 0);
  assert_null(nets_of(set, "un2"));
  assert_int_equal(net_remove(n, "un2", NULL, NULL, &e), 0);
  /* teardown frees the address: the network can go */
  assert_int_equal(net_container_teardown(n, id, set, &e), 0);
  char *name = NULL;
  assert_int_equal(net_remove(n, id1, &name, idx, &e), 0);
  assert_string_equal(name, "un1");
  free(name);
  assert_int_equal(net_remove(n, "un1", NULL, NULL, &e), -ENOENT);
  berr_clear(&e);
  assert_int_equal(net_remove(n, "bridge", NULL, NULL, &e), -EPERM);
  berr_clear(&e);
  json_decref(set);
  json_decref(eps);
  net_close(n);
  struct nft_ctx *c = nft_ctx_new(0);
  char cmd[128];
  nft_ctx_buffer_error(c);
  snprintf(cmd, sizeof(cmd), "delete table ip berth_%s", br);
  nft_run_cmd_from_buffer(c, cmd);
  nft_ctx_free(c);
  struct nl nl = {0};
  nl_open(&nl, NULL);
  nl_link_del(&nl, br, NULL);
  nl_link_del(&nl, b1, NULL);
  nl_link_del(&nl, b2, NULL);
  nl_close(&nl);
  rm_rf(tmp, NULL);
}

/* as root: a private bridge, a container's endpoint with a published port, teardown, repair */
static void test_roundtrip(void **state) {
  if (geteuid() != 0) skip();
  char tmp[] = "/tmp/bnet.XXXXXX";
  assert_non_null(mkdtemp(tmp));
  char br[16];
  snprintf(br, sizeof(br), "btu%d", (int)getpid() % 100000);
  struct net_options o = {.bridge = br, .bip = "10.214.7.1/24", .icc = true, .iptables = true};
  struct network *n = NULL;
  _cleanup_berr_ struct berth_error *e = NULL;
  int r = net_open(&o, tmp, tmp, &n, &e);
  if (r < 0) fail_msg("net_open: %s", berr_msg(e));
  /* one daemon per bridge */
  struct network *n2 = NULL;
  assert_int_equal(net_open(&o, tmp, tmp, &n2, &e), -EBUSY);
  berr_clear(&e);
  json_t *pb = json_loads("{\"80/tcp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"\"}]}", 0, NULL);
  struct net_request req = {.name = "t1", .hostname = "h1", .port_bindings = pb};
  const char *id = "1111111111111111111111111111111111111111111111111111111111111111";
  json_t *set = NULL;
  r = net_container_setup(n, id, &req, &set, &e);
  if (r < 0) fail_msg("setup: %s", berr_msg(e));
  assert_string_equal(json_string_value(json_object_get(set, "IPAddress")), "10.214.7.2");
  assert_string_equal(json_string_value(json_object_get(set, "Gateway")), "10.214.7.1");
  assert_string_equal(json_string_value(json_object_get(set, "MacAddress")), "02:42:0a:d6:07:02");
  const char *hp = json_string_value(json_object_get(json_array_get(json_object_get(json_object_get(set, "Ports"),
                                                                                    "80/tcp"), 0), "HostPort"));
  assert_non_null(hp);
  /* the same fixed port again is refused, and nothing is left of the failed one */
  char pbs[128];
  snprintf(pbs, sizeof(pbs), "{\"80/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"%s\"}]}", hp);
  json_t *pb2 = json_loads(pbs, 0, NULL);
  struct net_request req2 = {.name = "t2", .port_bindings = pb2};
  const char *id2 = "2222222222222222222222222222222222222222222222222222222222222222";
  json_t *set2 = NULL;
  berr_clear(&e);
  assert_int_equal(net_container_setup(n, id2, &req2, &set2, &e), -EADDRINUSE);
  assert_non_null(strstr(e->msg, "port is already allocated"));
  char p2[256];
  snprintf(p2, sizeof(p2), "%s/netns/%s", tmp, id2);
  assert_int_not_equal(access(p2, F_OK), 0);
  /* the predefined networks: the bridge lists the container */
  json_t *nets = net_networks_json(n);
  assert_int_equal(json_array_size(nets), 3);
  json_decref(nets);
  json_t *bj = NULL;
  assert_int_equal(net_network_inspect(n, "bridge", &bj, &e), 0);
  const char *bid = json_string_value(json_object_get(bj, "Id"));
  assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(bj, "Containers"), id),
                                                        "IPv4Address")),
                      "10.214.7.2/24");
  char prefix[8];
  snprintf(prefix, sizeof(prefix), "%.6s", bid);
  json_t *bj2 = NULL;
  assert_int_equal(net_network_inspect(n, prefix, &bj2, &e), 0);
  assert_string_equal(json_string_value(json_object_get(bj2, "Name")), "bridge");
  assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(set, "Networks"), "bridge"),
                                                        "NetworkID")),
                      bid);
  json_decref(bj);
  json_decref(bj2);
  assert_int_equal(net_network_inspect(n, "nope", &bj, &e), -ENOENT);
  berr_clear(&e);
  /* files */
  berr_clear(&e);
  assert_int_equal(net_container_files(n, tmp, &req, set, &e), 0);
  char *hosts = NULL;
  char hpth[256];
  snprintf(hpth, sizeof(hpth), "%s/hosts", tmp);
  assert_int_equal(read_file(hpth, &hosts, NULL, NULL), 0);
  assert_non_null(strstr(hosts, "10.214.7.2\th1\n"));
  free(hosts);
  /* teardown twice is fine; repair with nothing live clears the state */
  assert_int_equal(net_container_teardown(n, id, set, &e), 0);
  assert_int_equal(net_container_teardown(n, id, set, &e), 0);
  assert_int_equal(net_repair(n, NULL, &e), 0);
  json_decref(set);
  json_decref(pb);
  json_decref(pb2);
  net_close(n);
  /* clean the host: our bridge and tables */
  struct nft_ctx *c = nft_ctx_new(0);
  char cmd[128];
  nft_ctx_buffer_error(c);
  snprintf(cmd, sizeof(cmd), "delete table ip berth_%s", br);
  nft_run_cmd_from_buffer(c, cmd);
  nft_ctx_free(c);
  struct nl nl = {0};
  nl_open(&nl, NULL);
  nl_link_del(&nl, br, NULL);
  nl_close(&nl);
  rm_rf(tmp, NULL);
}

static int nft_main(int argc, char **argv) {
  struct buf b = {0};
  for (int i = 2; i < argc; i++) buf_printf(&b, "%s ", argv[i]);
  struct nft_ctx *c = nft_ctx_new(0);
  int r = nft_run_cmd_from_buffer(c, b.p ? b.p : "");
  nft_ctx_free(c);
  buf_free(&b);
  return r ? 1 : 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "nft") == 0) return nft_main(argc, argv);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cidr),        cmocka_unit_test(test_mac),          cmocka_unit_test(test_ipam),
      cmocka_unit_test(test_ipam_threads), cmocka_unit_test(test_ports_parse), cmocka_unit_test(test_nft_elements),
      cmocka_unit_test(test_hosts),       cmocka_unit_test(test_resolv),       cmocka_unit_test(test_link_env),
      cmocka_unit_test(test_modes),       cmocka_unit_test(test_settings_helpers), cmocka_unit_test(test_roundtrip),
      cmocka_unit_test(test_usernet),     cmocka_unit_test(test_unet_nft),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
