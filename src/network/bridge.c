/* bridge.c - opening the default bridge network: options, the bridge and its subnet (adopted,
 * asked for, or picked free from a pool), sysctls, our nftables table, and the state file */
#define LOG_TAG "network"
#include "common/fs.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/strv.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "network/dns.h"
#include "network/net_int.h"
#include <errno.h>
#include <fcntl.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define DEFAULT_BRIDGE "berth0"
#define DEFAULT_BIP "172.18.0.1/16"
#define DEFAULT_MTU 1500

int net_write_sysctl(const char *path, const char *value, struct berth_error **err) {
  _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write_all(fd, value, strlen(value)) < 0) return berr_sys(err, errno, "write \"%s\"", path);
  return 0;
}

/* pick_subnet: Docker's rule: a free private network when the default one is routed already
 * (172.18-31.0.0/16, then 192.168.N.0/24) */
static int pick_subnet(struct nl *nl, int skip, struct cidr *out, struct berth_error **err) {
  struct cidr c;
  bool busy = true;
  for (int i = 0; i < 14 + 256 && busy; i++) {
    if (i < 14)
      c.addr = (172u << 24) | ((18u + (uint32_t)i) << 16) | 1u;
    else
      c.addr = (192u << 24) | (168u << 16) | ((uint32_t)(i - 14) << 8) | 1u;
    c.prefix = i < 14 ? 16 : 24;
    int r = nl_route_overlap(nl, &c, skip, &busy, err);
    if (r < 0) return r;
  }
  if (busy) return berr(err, ENOSPC, "could not find a free private subnet for the bridge: pass --bip");
  *out = c;
  return 0;
}

/* setup_bridge: create or adopt the bridge, give it its address, bring it up */
static int setup_bridge(struct network *n, const struct net_options *o, struct berth_error **err) {
  _cleanup_nl_ struct nl nl = {0};
  int r = nl_open(&nl, err);
  if (r < 0) return r;
  int idx = 0;
  r = nl_link_index(&nl, n->bridge, &idx, err);
  if (r == -ENODEV) {
    if ((r = nl_bridge_create(&nl, n->bridge, n->mtu, err)) < 0) return r;
    r = nl_link_index(&nl, n->bridge, &idx, err);
  }
  if (r < 0) return berr_prefix(err, "bridge \"%s\"", n->bridge);
  n->bridge_index = idx;
  struct cidr have;
  bool has_addr = nl_addr_first(&nl, idx, &have, NULL) == 0;
  if (o->bip && *o->bip) {
    if ((r = cidr_parse(o->bip, &n->subnet, err)) < 0) return berr_prefix(err, "--bip");
    if (n->subnet.addr == cidr_net(&n->subnet))
      return berr(err, EINVAL, "--bip %s: give the bridge's own address, not the network's", o->bip);
    if (has_addr && (have.addr != n->subnet.addr || have.prefix != n->subnet.prefix)) {
      char s[16];
      ip_str(have.addr, s);
      return berr(err, EINVAL, "bridge \"%s\" has the address %s/%d, which does not match --bip %s", n->bridge, s,
                  have.prefix, o->bip);
    }
  } else if (has_addr) {
    n->subnet = have;
  } else {
    cidr_parse(DEFAULT_BIP, &n->subnet, NULL);
    bool busy = false;
    if ((r = nl_route_overlap(&nl, &n->subnet, idx, &busy, err)) < 0) return r;
    if (busy && (r = pick_subnet(&nl, idx, &n->subnet, err)) < 0) return r;
  }
  if ((r = nl_addr_add(&nl, idx, &n->subnet, err)) < 0) return r;
  return nl_link_up(&nl, idx, err);
}

static int load_state(struct network *n, struct berth_error **err);

static int open_steps(struct network *n, const struct net_options *o, struct berth_error **err) {
  int r = setup_bridge(n, o, err);
  if (r < 0) return r;
  n->range = n->subnet;
  if (o->fixed_cidr && *o->fixed_cidr && (r = cidr_parse(o->fixed_cidr, &n->range, err)) < 0)
    return berr_prefix(err, "--fixed-cidr");
  if ((r = ipam_init(&n->ipam, &n->subnet, &n->range, n->subnet.addr, err)) < 0) return r;
  if (o->ip_forward && (r = net_write_sysctl("/proc/sys/net/ipv4/ip_forward", "1", err)) < 0) return r;
  if ((r = load_state(n, err)) < 0) return r;
  if ((r = unet_load_all(n, err)) < 0) return r;
  unet_dns_start(n);
  if (!n->iptables) return 0;
  /* 127.0.0.1:PORT DNATed to a container leaves through the bridge with a loopback source */
  _cleanup_free_ char *rl = xasprintf("/proc/sys/net/ipv4/conf/%s/route_localnet", n->bridge);
  if ((r = net_write_sysctl(rl, "1", err)) < 0) return r;
  return net_nft_rebuild(n, err);
}

int net_nft_rebuild(struct network *n, struct berth_error **err) {
  if (!n->iptables) return 0;
  struct buf b = {0};
  _cleanup_free_ char *table = nft_table_script(n->table, n->bridge, &n->subnet, n->icc, NET_IFGROUP(n->bridge_index));
  buf_puts(&b, table);
  pthread_mutex_lock(&n->mu);
  unet_nft(n, &b);
  for (struct ctr_net *c = n->ctrs; c; c = c->next)
    if (c->done) nft_elements(&b, "add", n->table, c->ip, c->ports, c->nports);
  for (struct ctr_net *c = n->ctrs; c && !n->icc; c = c->next)
    if (c->done) nft_link_elements(&b, "add", n->table, c->link_elems);
  for (struct unet *u = n->unets; u; u = u->next)
    for (struct uep *e = u->eps; e; e = e->next)
      if (e->done) nft_elements(&b, "add", n->table, e->ip, e->ports, e->nports);
  pthread_mutex_unlock(&n->mu);
  int r = nft_run(n, b.p, err);
  buf_free(&b);
  return r;
}

/* lock_bridge: bind the abstract socket "@berth-bridge/NAME"; the kernel frees it when this
 * process dies, so a crash never leaves a stale lock. -EADDRINUSE: another berthd has it. */
static int lock_bridge(const char *name) {
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  int len = snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "berth-bridge/%s", name);
  if (bind(fd, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)len)) < 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  return fd;
}

/* choose_bridge: the asked-for bridge must be free; the default one, when another berthd (a
 * test's private daemon) has it, gives way to berth1, berth2...: two daemons on one bridge
 * would hand out the same addresses and sweep each other's veths */
static int choose_bridge(struct network *n, const struct net_options *o, struct berth_error **err) {
  bool asked = o->bridge && *o->bridge;
  const char *br = asked ? o->bridge : DEFAULT_BRIDGE;
  for (int i = 0; i < 100; i++) {
    _cleanup_free_ char *name = i ? xasprintf("berth%d", i) : xstrdup(br);
    n->lock_fd = lock_bridge(name);
    if (n->lock_fd >= 0) {
      n->bridge = take_ptr(&name);
      n->auto_bridge = i > 0;
      if (i) log_warn("Bridge \"%s\" belongs to another berthd: this one uses \"%s\"", br, n->bridge);
      return 0;
    }
    if (n->lock_fd != -EADDRINUSE) return berr_sys(err, -n->lock_fd, "lock bridge \"%s\"", name);
    if (asked)
      return berr(err, EBUSY, "bridge \"%s\" is in use by another berthd: give each daemon its own --bridge", br);
    if (o->bip && *o->bip) break; /* an explicit subnet cannot be shared between bridges */
  }
  return berr(err, EBUSY, "bridge \"%s\" is in use by another berthd: give this one --bridge and --bip", br);
}

int net_open(const struct net_options *o, const char *data_root, const char *exec_root, struct network **out,
             struct berth_error **err) {
  const char *br = o->bridge && *o->bridge ? o->bridge : DEFAULT_BRIDGE;
  if (strlen(br) >= 16 || strpbrk(br, "/ \t\n\"\\:"))
    return berr(err, EINVAL, "invalid bridge name \"%s\"", br);
  if (o->mtu < 0 || o->mtu > 65535) return berr(err, EINVAL, "invalid --mtu %d", o->mtu);
  struct network *n = xcalloc(1, sizeof(*n));
  pthread_mutex_init(&n->mu, NULL);
  pthread_mutex_init(&n->write_mu, NULL);
  pthread_mutex_init(&n->nft_mu, NULL);
  pthread_mutex_init(&n->unet_mu, NULL);
  int r = choose_bridge(n, o, err);
  if (r < 0) {
    net_close(n);
    return r;
  }
  br = n->bridge;
  n->table = xasprintf("berth_%s", br);
  for (char *p = n->table; *p; p++)
    if (*p == '-' || *p == '.') *p = '_';
  n->mtu = o->mtu ? o->mtu : DEFAULT_MTU;
  n->icc = o->icc;
  n->iptables = o->iptables;
  _cleanup_free_ char *dir = path_join(data_root, "network");
  _cleanup_free_ char *file = xasprintf("%s.json", br);
  n->state_path = path_join(dir, file);
  n->data_dir = xstrdup(dir);
  n->netns_dir = path_join(exec_root, "netns");
  r = mkdir_p(dir, 0700, err);
  if (r == 0) r = mkdir_p(n->netns_dir, 0755, err);
  if (r == 0) r = open_steps(n, o, err);
  if (r < 0) {
    net_close(n);
    return r;
  }
  char s[16];
  ip_str(n->subnet.addr, s);
  log_info("Bridge \"%s\" %s/%d (mtu %d, icc %s, nftables %s)", n->bridge, s, n->subnet.prefix, n->mtu,
           n->icc ? "on" : "off", n->iptables ? "on" : "off");
  *out = n;
  return 0;
}

/* drop_auto_bridge: a bridge picked only because the default one was taken goes away with its
 * daemon when no container uses it */
static void drop_auto_bridge(struct network *n) {
  if (!n->auto_bridge || n->ctrs || !n->bridge_index) return;
  /* the user networks' bridges too (their state stays: a start makes them again) */
  unet_drop_unused_bridges(n);
  for (struct unet *u = n->unets; u; u = u->next)
    if (u->eps) return;
  _cleanup_free_ char *script = xasprintf("delete table ip %s", n->table);
  _cleanup_free_ char *script2 = xasprintf("delete table bridge %s", n->table);
  nft_run(n, script, NULL);
  nft_run(n, script2, NULL); /* --icc=false or a network's enable_icc=false */
  _cleanup_nl_ struct nl nl = {0};
  if (nl_open(&nl, NULL) == 0) nl_link_del(&nl, n->bridge, NULL);
  unlink(n->state_path);
}

void net_close(struct network *n) {
  if (!n) return;
  if (n->dns) dns_server_stop(n->dns);
  drop_auto_bridge(n);
  if (n->lock_fd > 0) close(n->lock_fd);
  for (struct unet *u = n->unets, *next; u; u = next) {
    next = u->next;
    unet_free(u);
  }
  free(n->data_dir);
  pthread_mutex_destroy(&n->unet_mu);
  for (struct ctr_net *c = n->ctrs, *next; c; c = next) {
    next = c->next;
    free(c->ports);
    strv_free(c->link_elems);
    free(c);
  }
  ipam_free(&n->ipam);
  if (n->nft) nft_ctx_free(n->nft);
  pthread_mutex_destroy(&n->mu);
  pthread_mutex_destroy(&n->write_mu);
  pthread_mutex_destroy(&n->nft_mu);
  free(n->bridge);
  free(n->table);
  free(n->state_path);
  free(n->netns_dir);
  free(n);
}

const char *net_bridge_name(struct network *n) { return n->bridge; }

/* ---------- the state file: network id, and per container its address, veth and ports ---------- */

static json_t *ctr_json(const struct ctr_net *c) {
  char ip[16];
  ip_str(c->ip, ip);
  json_t *ports = json_array();
  for (size_t i = 0; i < c->nports; i++) {
    const struct port_map *p = &c->ports[i];
    if (p->exposed_only) continue;
    char hip[16];
    ip_str(p->host_ip, hip);
    json_array_append_new(ports, json_pack("[s, s, i, i]", proto_name(p->proto), hip, p->host_port, p->ctr_port));
  }
  json_t *links = json_array();
  for (char **p = c->link_elems; p && *p; p++) json_array_append_new(links, json_string(*p));
  return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o}", "IP", ip, "Veth", c->veth, "Name", c->name, "Mac", c->mac,
                   "EndpointID", c->epid, "Ports", ports, "LinkRules", links);
}

int net_state_save(struct network *n, struct berth_error **err) {
  pthread_mutex_lock(&n->write_mu);
  json_t *ctrs = json_object();
  pthread_mutex_lock(&n->mu);
  for (struct ctr_net *c = n->ctrs; c; c = c->next)
    if (c->done) json_object_set_new(ctrs, c->id, ctr_json(c));
  pthread_mutex_unlock(&n->mu);
  json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:o}", "NetworkID", n->network_id, "HostNetworkID", n->host_id,
                        "NoneNetworkID", n->none_id, "Created", n->created, "Containers", ctrs);
  _cleanup_free_ char *text = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  int r = write_file_atomic(n->state_path, text, strlen(text), 0600, 0, err);
  pthread_mutex_unlock(&n->write_mu);
  return r;
}

static int load_ctr(struct network *n, const char *id, const json_t *v) {
  const json_t *ports = json_object_get(v, "Ports");
  struct ctr_net *c = xcalloc(1, sizeof(*c));
  snprintf(c->id, sizeof(c->id), "%s", id);
  snprintf(c->veth, sizeof(c->veth), "%s", json_string_value(json_object_get(v, "Veth")) ?: "");
  snprintf(c->name, sizeof(c->name), "%s", json_string_value(json_object_get(v, "Name")) ?: "");
  snprintf(c->mac, sizeof(c->mac), "%s", json_string_value(json_object_get(v, "Mac")) ?: "");
  snprintf(c->epid, sizeof(c->epid), "%s", json_string_value(json_object_get(v, "EndpointID")) ?: "");
  c->ports = xcalloc(json_array_size(ports) + 1, sizeof(*c->ports));
  size_t i;
  json_t *p;
  json_array_foreach(ports, i, p) {
    const char *proto = json_string_value(json_array_get(p, 0)) ?: "tcp";
    struct port_map *m = &c->ports[c->nports++];
    m->proto = strcmp(proto, "udp") == 0 ? PROTO_UDP : strcmp(proto, "sctp") == 0 ? PROTO_SCTP : PROTO_TCP;
    ip_parse(json_string_value(json_array_get(p, 1)), &m->host_ip);
    m->host_port = m->host_lo = m->host_hi = (uint16_t)json_integer_value(json_array_get(p, 2));
    m->ctr_port = (uint16_t)json_integer_value(json_array_get(p, 3));
  }
  json_array_foreach(json_object_get(v, "LinkRules"), i, p) if (json_is_string(p)) c->link_elems =
      strv_push(c->link_elems, json_string_value(p));
  c->done = true;
  if (ip_parse(json_string_value(json_object_get(v, "IP")), &c->ip) < 0 ||
      ipam_alloc(&n->ipam, c->ip, &c->ip, NULL) < 0) {
    /* an address outside the (changed) range: the container keeps it, IPAM just cannot track it */
    log_warn("Container %.12s: address not in the bridge's range any more", id);
  }
  c->next = n->ctrs;
  n->ctrs = c;
  ports_index_add(n, c->ports, c->nports);
  return 0;
}

static int load_state(struct network *n, struct berth_error **err) {
  _cleanup_free_ char *text = NULL;
  _cleanup_berr_ struct berth_error *e = NULL;
  int r = read_file(n->state_path, &text, NULL, &e);
  json_t *j = r == 0 ? json_loads(text, 0, NULL) : NULL;
  if (r < 0 && r != -ENOENT) log_warn("Network state: %s (starting afresh)", berr_msg(e));
  struct {
    const char *key;
    char *id;
  } ids[] = {{"NetworkID", n->network_id}, {"HostNetworkID", n->host_id}, {"NoneNetworkID", n->none_id}};
  for (size_t i = 0; i < ARRAY_SIZE(ids); i++) {
    const char *v = json_string_value(json_object_get(j, ids[i].key));
    if (v && id_is_hex(v, BERTH_ID_LEN)) snprintf(ids[i].id, BERTH_ID_LEN + 1, "%s", v);
    else id_random(ids[i].id);
  }
  const char *created = json_string_value(json_object_get(j, "Created"));
  if (created && *created) snprintf(n->created, sizeof(n->created), "%s", created);
  else time_now_rfc3339nano(n->created, sizeof(n->created));
  const char *id;
  json_t *v;
  json_object_foreach(json_object_get(j, "Containers"), id, v) if (id_is_hex(id, BERTH_ID_LEN)) load_ctr(n, id, v);
  json_decref(j);
  return net_state_save(n, err);
}
