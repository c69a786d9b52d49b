/* usernet.c - user-defined bridge networks: create (subnet, gateway, range, bridge), state
 * files written atomically, bridges made or adopted at start, removal, and their nftables chains */
#define LOG_TAG "network"
#include "common/fs.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/strv.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "network/net_int.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define OPT_BRIDGE "com.docker.network.bridge.name"
#define OPT_MTU "com.docker.network.driver.mtu"
#define OPT_MASQ "com.docker.network.bridge.enable_ip_masquerade"
#define OPT_ICC "com.docker.network.bridge.enable_icc"

void uep_free(struct uep *e) {
  if (!e) return;
  strv_free(e->aliases);
  strv_free(e->links);
  free(e->ports);
  free(e);
}

void unet_free(struct unet *u) {
  if (!u) return;
  for (struct uep *e = u->eps, *next; e; e = next) {
    next = e->next;
    uep_free(e);
  }
  ipam_free(&u->ipam);
  json_decref(u->options);
  json_decref(u->labels);
  free(u->name);
  free(u->bridge);
  free(u);
}

static char *unet_path(struct network *n, const char *id) {
  _cleanup_free_ char *dir = path_join(n->data_dir, "networks");
  _cleanup_free_ char *file = xasprintf("%s.json", id);
  return path_join(dir, file);
}

/* owner_alias: the ifalias our bridges carry, so repair finds the ones whose network is gone:
 * "berth:" + a hash of the data root (another daemon's bridges are never ours) + ":" + the id */
static char *owner_alias(struct network *n, const char *id) {
  uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
  for (const char *p = n->data_dir; *p; p++) h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
  return xasprintf("berth:%016llx:%s", (unsigned long long)h, id ? id : "");
}

struct unet *unet_find(struct network *n, const char *ref) {
  size_t len = ref ? strlen(ref) : 0;
  if (!len) return NULL;
  for (struct unet *u = n->unets; u; u = u->next)
    if (strcmp(u->id, ref) == 0) return u;
  for (struct unet *u = n->unets; u; u = u->next)
    if (strcmp(u->name, ref) == 0) return u;
  struct unet *found = NULL;
  for (struct unet *u = n->unets; u; u = u->next) {
    if (strncmp(u->id, ref, len) != 0) continue;
    if (found) return NULL; /* ambiguous */
    found = u;
  }
  return found;
}

/* ---------- JSON: the state file and GET /networks ---------- */

static json_t *cidr_json(const struct cidr *c) {
  char s[16];
  ip_str(cidr_net(c), s);
  return json_sprintf("%s/%d", s, c->prefix);
}

static json_t *ipam_config(struct unet *u) {
  char gw[16];
  ip_str(u->subnet.addr, gw);
  json_t *c = json_pack("{s:o, s:s}", "Subnet", cidr_json(&u->subnet), "Gateway", gw);
  if (u->has_range) json_object_set_new(c, "IPRange", cidr_json(&u->range));
  return json_pack("[o]", c);
}

static json_t *strv_json(char **v) {
  json_t *a = json_array();
  for (; v && *v; v++) json_array_append_new(a, json_string(*v));
  return a;
}

static char **json_strv(const json_t *a) {
  char **v = NULL;
  size_t i;
  json_t *x;
  json_array_foreach(a, i, x) if (json_is_string(x)) v = strv_push(v, json_string_value(x));
  return v;
}

static json_t *uep_state(const struct uep *e) {
  char ip[16];
  ip_str(e->ip, ip);
  json_t *ports = json_array();
  for (size_t i = 0; i < e->nports; i++) {
    const struct port_map *p = &e->ports[i];
    if (p->exposed_only) continue;
    char hip[16];
    ip_str(p->host_ip, hip);
    json_array_append_new(ports, json_pack("[s, s, i, i]", proto_name(p->proto), hip, p->host_port, p->ctr_port));
  }
  return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:o, s:o, s:o}", "Container", e->ctr, "Name", e->name,
                   "EndpointID", e->epid, "Veth", e->veth, "IfName", e->ifname, "Mac", e->mac, "IP", ip, "StaticIP",
                   e->static_ip, "Aliases", strv_json(e->aliases), "Links", strv_json(e->links), "Ports", ports);
}

json_t *unet_json(struct network *n, struct unet *u, bool containers) {
  (void)n;
  json_t *ctrs = json_object();
  for (struct uep *e = u->eps; e && containers; e = e->next) {
    if (!e->done) continue;
    char ip[16];
    ip_str(e->ip, ip);
    json_object_set_new(ctrs, e->ctr,
                        json_pack("{s:s, s:s, s:s, s:o, s:s}", "Name", e->name, "EndpointID", e->epid, "MacAddress",
                                  e->mac, "IPv4Address", json_sprintf("%s/%d", ip, u->subnet.prefix), "IPv6Address",
                                  ""));
  }
  return json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:{s:s, s:{}, s:o}, s:b, s:b, s:b, s:{s:s}, s:b, s:o, s:O, s:O}",
                   "Name", u->name, "Id", u->id, "Created", u->created, "Scope", "local", "Driver", "bridge",
                   "EnableIPv6", 0, "IPAM", "Driver", "default", "Options", "Config", ipam_config(u), "Internal",
                   u->internal, "Attachable", u->attachable, "Ingress", 0, "ConfigFrom", "Network", "", "ConfigOnly",
                   0, "Containers", ctrs, "Options", u->options, "Labels", u->labels);
}

int unet_save(struct network *n, struct unet *u, struct berth_error **err) {
  pthread_mutex_lock(&n->write_mu);
  pthread_mutex_lock(&n->mu);
  json_t *j = unet_json(n, u, false);
  json_t *eps = json_array();
  for (struct uep *e = u->eps; e; e = e->next)
    if (e->done) json_array_append_new(eps, uep_state(e));
  json_object_set_new(j, "Bridge", json_string(u->bridge));
  json_object_set_new(j, "MTU", json_integer(u->mtu));
  json_object_set_new(j, "AutoSubnet", json_boolean(u->auto_subnet));
  json_object_set_new(j, "Endpoints", eps);
  pthread_mutex_unlock(&n->mu);
  _cleanup_free_ char *text = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  _cleanup_free_ char *path = unet_path(n, u->id);
  int r = write_file_atomic(path, text, strlen(text), 0600, 1, err);
  pthread_mutex_unlock(&n->write_mu);
  return r;
}

/* ---------- the bridge ---------- */

/* bridge_up: make or adopt the bridge, mark it ours, give it the gateway address */
static int bridge_up(struct network *n, struct unet *u, struct berth_error **err) {
  _cleanup_nl_ struct nl nl = {0};
  int r = nl_open(&nl, err);
  if (r < 0) return r;
  int idx = 0;
  r = nl_link_index(&nl, u->bridge, &idx, err);
  if (r == -ENODEV) {
    berr_clear(err);
    if ((r = nl_bridge_create(&nl, u->bridge, u->mtu, err)) < 0) return r;
    r = nl_link_index(&nl, u->bridge, &idx, err);
  }
  if (r < 0) return berr_prefix(err, "bridge \"%s\"", u->bridge);
  u->bridge_index = idx;
  _cleanup_free_ char *alias = owner_alias(n, u->id);
  if ((r = nl_set_alias(&nl, idx, alias, err)) < 0) return r;
  if ((r = nl_addr_add(&nl, idx, &u->subnet, err)) < 0) return r;
  if ((r = nl_link_up(&nl, idx, err)) < 0) return r;
  /* 127.0.0.1:PORT DNATed to a container here leaves through this bridge with a loopback source */
  _cleanup_free_ char *rl = xasprintf("/proc/sys/net/ipv4/conf/%s/route_localnet", u->bridge);
  _cleanup_berr_ struct berth_error *e = NULL;
  if (net_write_sysctl(rl, "1", &e) < 0) log_warn("route_localnet on \"%s\": %s", u->bridge, berr_msg(e));
  return 0;
}

static void bridge_down(const char *bridge) {
  _cleanup_nl_ struct nl nl = {0};
  _cleanup_berr_ struct berth_error *e = NULL;
  if (nl_open(&nl, &e) < 0 || nl_link_del(&nl, bridge, &e) < 0) log_warn("%s", berr_msg(e));
}

/* ---------- nftables ---------- */

static void bridge_set(struct buf *b, struct network *n, const struct unet *skip) {
  buf_printf(b, "{ \"%s\"", n->bridge);
  for (struct unet *o = n->unets; o; o = o->next)
    if (o != skip) buf_printf(b, ", \"%s\"", o->bridge);
  buf_puts(b, " }");
}

void unet_nft(struct network *n, struct buf *b) {
  if (!n->unets) return;
  buf_printf(b, "table ip %s {\n  chain upost { type nat hook postrouting priority srcnat; policy accept;\n", n->table);
  for (struct unet *u = n->unets; u; u = u->next) {
    char net[16];
    ip_str(cidr_net(&u->subnet), net);
    const char *masq = json_string_value(json_object_get(u->options, OPT_MASQ));
    if (!u->internal && !(masq && strcmp(masq, "false") == 0))
      buf_printf(b, "    ip saddr %s/%d oifname != \"%s\" masquerade\n", net, u->subnet.prefix, u->bridge);
    buf_printf(b,
               "    oifname \"%s\" ip saddr 127.0.0.0/8 masquerade\n"
               "    oifname \"%s\" ct status dnat ip saddr %s/%d masquerade\n",
               u->bridge, u->bridge, net, u->subnet.prefix);
  }
  /* Docker's DOCKER-ISOLATION: nothing routed between two of our bridges; an internal network
   * reaches nothing outside its bridge */
  buf_puts(b, "  }\n  chain ufwd { type filter hook forward priority filter; policy accept;\n");
  for (struct unet *u = n->unets; u; u = u->next) {
    if (u->internal) {
      buf_printf(b, "    iifname \"%s\" oifname != \"%s\" drop\n", u->bridge, u->bridge);
      buf_printf(b, "    oifname \"%s\" iifname != \"%s\" drop\n", u->bridge, u->bridge);
      continue;
    }
    buf_printf(b, "    iifname \"%s\" oifname ", u->bridge);
    bridge_set(b, n, u);
    buf_printf(b, " drop\n    oifname \"%s\" iifname ", u->bridge);
    bridge_set(b, n, u);
    buf_puts(b, " drop\n");
  }
  buf_puts(b, "  }\n}\n");
  /* -o com.docker.network.bridge.enable_icc=false: no IP between two ports of that bridge */
  bool chain = false;
  for (struct unet *u = n->unets; u; u = u->next) {
    const char *icc = json_string_value(json_object_get(u->options, OPT_ICC));
    if (!icc || strcmp(icc, "false") != 0) continue;
    if (!chain)
      buf_printf(b, "table bridge %s {\n  chain uicc { type filter hook forward priority 0; policy accept;\n", n->table);
    chain = true;
    uint32_t g = NET_IFGROUP(u->bridge_index);
    buf_printf(b, "    meta iifgroup %u meta oifgroup %u ether type ip drop\n", g, g);
  }
  if (chain) buf_puts(b, "  }\n}\n");
}

/* ---------- create ---------- */

static bool subnet_taken(struct network *n, const struct cidr *c, const struct unet *skip) {
  if (cidr_overlap(c, &n->subnet)) return true;
  for (struct unet *u = n->unets; u; u = u->next)
    if (u != skip && cidr_overlap(c, &u->subnet)) return true;
  return false;
}

/* pick_subnet: Docker's local pools: 172.17-31.0.0/16, then 192.168.N.0/20 ranges, skipping what
 * our networks or the host's routes already cover */
static int pick_subnet(struct network *n, struct cidr *out, struct berth_error **err) {
  _cleanup_nl_ struct nl nl = {0};
  int r = nl_open(&nl, err);
  if (r < 0) return r;
  for (int i = 0; i < 15 + 16; i++) {
    struct cidr c;
    if (i < 15) c = (struct cidr){(172u << 24) | ((17u + (uint32_t)i) << 16) | 1u, 16};
    else c = (struct cidr){(192u << 24) | (168u << 16) | ((uint32_t)(i - 15) << 12) | 1u, 20};
    pthread_mutex_lock(&n->mu);
    bool busy = subnet_taken(n, &c, NULL);
    pthread_mutex_unlock(&n->mu);
    if (!busy && (r = nl_route_overlap(&nl, &c, 0, &busy, err)) < 0) return r;
    if (!busy) {
      *out = c;
      return 0;
    }
  }
  return berr(err, ENOSPC, "could not find an available, non-overlapping IPv4 address pool among the defaults to "
                           "assign to the network");
}

static int parse_ipam(struct network *n, struct unet *u, const json_t *ipam, struct berth_error **err) {
  const char *drv = json_string_value(json_object_get(ipam, "Driver"));
  if (drv && *drv && strcmp(drv, "default") != 0) return berr(err, ENOTSUP, "IPAM driver \"%s\" is not supported yet", drv);
  const json_t *cfgs = json_object_get(ipam, "Config");
  if (json_array_size(cfgs) > 1) return berr(err, ENOTSUP, "more than one IPAM config is not supported yet");
  const json_t *c = json_array_get(cfgs, 0);
  const char *sub = json_string_value(json_object_get(c, "Subnet"));
  const char *gw = json_string_value(json_object_get(c, "Gateway"));
  const char *range = json_string_value(json_object_get(c, "IPRange"));
  int r;
  if (!sub || !*sub) {
    if ((gw && *gw) || (range && *range)) return berr(err, EINVAL, "every ip-range or gateway must have a corresponding subnet");
    if ((r = pick_subnet(n, &u->subnet, err)) < 0) return r;
    u->auto_subnet = true;
  } else {
    if (strchr(sub, ':')) return berr(err, ENOTSUP, "IPv6 subnets are not supported yet");
    if ((r = cidr_parse(sub, &u->subnet, err)) < 0) return berr_prefix(err, "invalid subnet");
    if (u->subnet.prefix > 30) return berr(err, EINVAL, "invalid subnet %s: the prefix must be /30 or shorter", sub);
    if (u->subnet.addr != cidr_net(&u->subnet)) {
      char net[16];
      ip_str(cidr_net(&u->subnet), net);
      return berr(err, EINVAL, "invalid network config:\ninvalid subnet %s : it should be %s/%d", sub, net,
                  u->subnet.prefix);
    }
    u->subnet.addr = cidr_net(&u->subnet) + 1;
  }
  if (gw && *gw) {
    uint32_t g;
    if (ip_parse(gw, &g) < 0 || !cidr_contains(&u->subnet, g))
      return berr(err, EINVAL, "no matching subnet for gateway %s", gw);
    u->subnet.addr = g;
  }
  u->range = u->subnet;
  if (range && *range) {
    if ((r = cidr_parse(range, &u->range, err)) < 0) return berr_prefix(err, "invalid ip-range");
    if (!cidr_contains(&u->subnet, cidr_net(&u->range)) || u->range.prefix < u->subnet.prefix)
      return berr(err, EINVAL, "no matching subnet for range %s", range);
    u->has_range = true;
  }
  return ipam_init(&u->ipam, &u->subnet, &u->range, u->subnet.addr, err);
}

static int parse_options(struct network *n, struct unet *u, const json_t *opts, struct berth_error **err) {
  u->options = json_is_object(opts) ? json_deep_copy(opts) : json_object();
  const char *br = json_string_value(json_object_get(opts, OPT_BRIDGE));
  if (br && *br) {
    if (strlen(br) >= 16 || strpbrk(br, "/ \t\n\"\\:")) return berr(err, EINVAL, "invalid bridge name \"%s\"", br);
    if (strcmp(br, n->bridge) == 0) return berr(err, EEXIST, "bridge name %s already in use", br);
    for (struct unet *o = n->unets; o; o = o->next)
      if (strcmp(o->bridge, br) == 0) return berr(err, EEXIST, "bridge name %s already in use", br);
    u->bridge = xstrdup(br);
  } else {
    u->bridge = xasprintf("br-%.12s", u->id);
  }
  u->mtu = n->mtu;
  const char *mtu = json_string_value(json_object_get(opts, OPT_MTU));
  if (mtu && *mtu) {
    char *end = NULL;
    long v = strtol(mtu, &end, 10);
    if (*end || v < 68 || v > 65535) return berr(err, EINVAL, "invalid MTU number: %s", mtu);
    u->mtu = (int)v;
  }
  return 0;
}

static int check_create(struct network *n, const struct net_create *c, struct berth_error **err) {
  if (!c->name || !*c->name) return berr(err, EINVAL, "network name must be specified");
  if (!name_is_valid(c->name))
    return berr(err, EINVAL, "invalid network name \"%s\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", c->name);
  const char *drv = c->driver && *c->driver ? c->driver : "bridge";
  if (strcmp(drv, "host") == 0 || strcmp(drv, "null") == 0)
    return berr(err, EPERM, "only one instance of \"%s\" network is allowed", drv);
  if (strcmp(drv, "bridge") != 0) return berr(err, ENOTSUP, "plugin \"%s\" not found: only the bridge driver is supported", drv);
  if (c->enable_ipv6) return berr(err, ENOTSUP, "IPv6 networks are not supported yet");
  static const char *const predefined[] = {"bridge", "host", "none", "default"};
  for (size_t i = 0; i < ARRAY_SIZE(predefined); i++)
    if (strcmp(c->name, predefined[i]) == 0)
      return berr(err, EPERM, "%s is a pre-defined network and cannot be created", c->name);
  (void)n;
  return 0;
}

/* publish: insert the network once its bridge exists; a name taken meanwhile loses */
static int publish(struct network *n, struct unet *u, struct berth_error **err) {
  pthread_mutex_lock(&n->mu);
  int r = 0;
  for (struct unet *o = n->unets; o && r == 0; o = o->next)
    if (strcmp(o->name, u->name) == 0) r = berr(err, EEXIST, "network with name %s already exists", u->name);
  if (r == 0 && subnet_taken(n, &u->subnet, NULL))
    r = berr(err, EPERM, "Pool overlaps with other one on this address space");
  if (r == 0) {
    u->next = n->unets;
    n->unets = u;
  }
  pthread_mutex_unlock(&n->mu);
  return r;
}

static int create_locked(struct network *n, const struct net_create *c, struct unet *u, struct berth_error **err) {
  pthread_mutex_lock(&n->mu);
  bool dup = false;
  for (struct unet *o = n->unets; o; o = o->next) dup = dup || strcmp(o->name, c->name) == 0;
  pthread_mutex_unlock(&n->mu);
  if (dup) return berr(err, EEXIST, "network with name %s already exists", c->name);
  int r = parse_options(n, u, c->options, err);
  if (r == 0) r = parse_ipam(n, u, c->ipam, err);
  if (r < 0) return r;
  pthread_mutex_lock(&n->mu);
  bool taken = subnet_taken(n, &u->subnet, NULL);
  pthread_mutex_unlock(&n->mu);
  if (taken) return berr(err, EPERM, "Pool overlaps with other one on this address space");
  _cleanup_nl_ struct nl nl = {0};
  bool busy = false;
  if ((r = nl_open(&nl, err)) < 0 || (r = nl_route_overlap(&nl, &u->subnet, 0, &busy, err)) < 0) return r;
  if (busy) return berr(err, EPERM, "Pool overlaps with other one on this address space");
  if ((r = bridge_up(n, u, err)) < 0) return r;
  if ((r = publish(n, u, err)) < 0) {
    bridge_down(u->bridge);
    return r;
  }
  if ((r = unet_save(n, u, err)) == 0) r = net_nft_rebuild(n, err);
  if (r < 0) {
    pthread_mutex_lock(&n->mu);
    for (struct unet **pp = &n->unets; *pp; pp = &(*pp)->next)
      if (*pp == u) {
        *pp = u->next;
        break;
      }
    pthread_mutex_unlock(&n->mu);
    _cleanup_free_ char *path = unet_path(n, u->id);
    unlink(path);
    bridge_down(u->bridge);
    return r; /* u is the caller's again */
  }
  return 0;
}

int net_create(struct network *n, const struct net_create *c, json_t **out, struct berth_error **err) {
  int r = check_create(n, c, err);
  if (r < 0) return r;
  struct unet *u = xcalloc(1, sizeof(*u));
  id_random(u->id);
  u->name = xstrdup(c->name);
  u->internal = c->internal;
  u->attachable = c->attachable;
  u->labels = json_is_object(c->labels) ? json_deep_copy(c->labels) : json_object();
  time_now_rfc3339nano(u->created, sizeof(u->created));
  pthread_mutex_lock(&n->unet_mu);
  r = create_locked(n, c, u, err);
  pthread_mutex_unlock(&n->unet_mu);
  if (r < 0) {
    unet_free(u);
    return r;
  }
  log_info("Network %s (%.12s) on bridge \"%s\"", u->name, u->id, u->bridge);
  *out = json_pack("{s:s, s:s}", "Id", u->id, "Warning", "");
  return 0;
}

/* ---------- remove ---------- */

int net_remove(struct network *n, const char *ref, char **name, char id[65], struct berth_error **err) {
  static const char *const predefined[] = {"bridge", "host", "none"};
  _cleanup_json_ json_t *pj = NULL;
  pthread_mutex_lock(&n->unet_mu);
  pthread_mutex_lock(&n->mu);
  struct unet *u = unet_find(n, ref);
  int r = 0;
  if (!u) {
    r = -ENOENT;
  } else if (u->eps) {
    r = berr(err, EPERM, "error while removing network: network %s id %s has active endpoints", u->name, u->id);
  } else {
    for (struct unet **pp = &n->unets; *pp; pp = &(*pp)->next)
      if (*pp == u) {
        *pp = u->next;
        break;
      }
  }
  pthread_mutex_unlock(&n->mu);
  if (r == -ENOENT) {
    pthread_mutex_unlock(&n->unet_mu);
    if (net_network_inspect(n, ref, &pj, err) < 0) return -ENOENT;
    for (size_t i = 0; i < ARRAY_SIZE(predefined); i++)
      if (strcmp(json_string_value(json_object_get(pj, "Name")), predefined[i]) == 0)
        return berr(err, EPERM, "%s is a pre-defined network and cannot be removed", predefined[i]);
    return berr(err, ENOENT, "network %s not found", ref);
  }
  if (r < 0) {
    pthread_mutex_unlock(&n->unet_mu);
    return r;
  }
  /* the state file first: a crash after it leaves only a bridge that startup repair removes */
  _cleanup_free_ char *path = unet_path(n, u->id);
  if (unlink(path) < 0 && errno != ENOENT) log_warn("remove \"%s\": %s", path, strerror(errno));
  _cleanup_berr_ struct berth_error *e = NULL;
  if (net_nft_rebuild(n, &e) < 0) log_warn("Network %s: %s", u->name, berr_msg(e));
  bridge_down(u->bridge);
  pthread_mutex_unlock(&n->unet_mu);
  if (name) *name = xstrdup(u->name);
  if (id) memcpy(id, u->id, 65);
  unet_free(u);
  return 0;
}

/* ---------- load at start ---------- */

static void load_ep(struct unet *u, const json_t *v) {
  struct uep *e = xcalloc(1, sizeof(*e));
  struct {
    const char *key;
    char *dst;
    size_t size;
  } f[] = {{"Container", e->ctr, sizeof(e->ctr)}, {"Name", e->name, sizeof(e->name)},
           {"EndpointID", e->epid, sizeof(e->epid)}, {"Veth", e->veth, sizeof(e->veth)},
           {"IfName", e->ifname, sizeof(e->ifname)}, {"Mac", e->mac, sizeof(e->mac)}};
  for (size_t i = 0; i < ARRAY_SIZE(f); i++)
    snprintf(f[i].dst, f[i].size, "%s", json_string_value(json_object_get(v, f[i].key)) ?: "");
  e->static_ip = json_is_true(json_object_get(v, "StaticIP"));
  e->aliases = json_strv(json_object_get(v, "Aliases"));
  e->links = json_strv(json_object_get(v, "Links"));
  const json_t *ports = json_object_get(v, "Ports");
  e->ports = xcalloc(json_array_size(ports) + 1, sizeof(*e->ports));
  size_t i;
  json_t *p;
  json_array_foreach(ports, i, p) {
    const char *proto = json_string_value(json_array_get(p, 0)) ?: "tcp";
    struct port_map *m = &e->ports[e->nports++];
    m->proto = strcmp(proto, "udp") == 0 ? PROTO_UDP : strcmp(proto, "sctp") == 0 ? PROTO_SCTP : PROTO_TCP;
    ip_parse(json_string_value(json_array_get(p, 1)), &m->host_ip);
    m->host_port = m->host_lo = m->host_hi = (uint16_t)json_integer_value(json_array_get(p, 2));
    m->ctr_port = (uint16_t)json_integer_value(json_array_get(p, 3));
  }
  e->done = true;
  bool parsed = ip_parse(json_string_value(json_object_get(v, "IP")), &e->ip) == 0;
  if (parsed && !cidr_contains(&u->range, e->ip) && cidr_contains(&u->subnet, e->ip)) {
    /* a static address outside --ip-range: not in the bitmap */
  } else if (!parsed || ipam_alloc(&u->ipam, e->ip, &e->ip, NULL) < 0)
    log_warn("Network %s: the address of %.12s is not in its range any more", u->name, e->ctr);
  e->next = u->eps;
  u->eps = e;
}

static int load_one(struct network *n, const char *path, struct berth_error **err) {
  _cleanup_free_ char *text = NULL;
  int r = read_file(path, &text, NULL, err);
  if (r < 0) return r;
  _cleanup_json_ json_t *j = json_loads(text, 0, NULL);
  const char *id = json_string_value(json_object_get(j, "Id"));
  const char *name = json_string_value(json_object_get(j, "Name"));
  const char *br = json_string_value(json_object_get(j, "Bridge"));
  if (!id || !id_is_hex(id, BERTH_ID_LEN) || !name || !br) return berr(err, EINVAL, "\"%s\": not a network", path);
  struct unet *u = xcalloc(1, sizeof(*u));
  snprintf(u->id, sizeof(u->id), "%s", id);
  u->name = xstrdup(name);
  u->bridge = xstrdup(br);
  snprintf(u->created, sizeof(u->created), "%s", json_string_value(json_object_get(j, "Created")) ?: "");
  u->internal = json_is_true(json_object_get(j, "Internal"));
  u->attachable = json_is_true(json_object_get(j, "Attachable"));
  u->auto_subnet = json_is_true(json_object_get(j, "AutoSubnet"));
  u->mtu = (int)json_integer_value(json_object_get(j, "MTU"));
  if (!u->mtu) u->mtu = n->mtu;
  json_t *o = json_object_get(j, "Options"), *l = json_object_get(j, "Labels");
  u->options = json_is_object(o) ? json_incref(o) : json_object();
  u->labels = json_is_object(l) ? json_incref(l) : json_object();
  const json_t *cfg = json_array_get(json_object_get(json_object_get(j, "IPAM"), "Config"), 0);
  const char *sub = json_string_value(json_object_get(cfg, "Subnet"));
  const char *gw = json_string_value(json_object_get(cfg, "Gateway"));
  const char *range = json_string_value(json_object_get(cfg, "IPRange"));
  r = sub && gw ? cidr_parse(sub, &u->subnet, err) : berr(err, EINVAL, "\"%s\": no subnet", path);
  if (r == 0 && ip_parse(gw, &u->subnet.addr) < 0) r = berr(err, EINVAL, "\"%s\": bad gateway", path);
  u->range = u->subnet;
  if (r == 0 && range && (r = cidr_parse(range, &u->range, err)) == 0) u->has_range = true;
  if (r == 0) r = ipam_init(&u->ipam, &u->subnet, &u->range, u->subnet.addr, err);
  if (r == 0) r = bridge_up(n, u, err);
  if (r < 0) {
    unet_free(u);
    return r;
  }
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(j, "Endpoints"), i, v) load_ep(u, v);
  u->next = n->unets;
  n->unets = u;
  for (struct uep *e = u->eps; e; e = e->next) ports_index_add(n, e->ports, e->nports);
  return 0;
}

/* sweep_bridges: bridges marked ours whose network is gone (removed while a crash intervened) */
static void sweep_bridges(struct network *n) {
  _cleanup_nl_ struct nl nl = {0};
  _cleanup_strv_ char **names = NULL;
  _cleanup_berr_ struct berth_error *e = NULL;
  _cleanup_free_ char *prefix = owner_alias(n, NULL);
  if (nl_open(&nl, &e) < 0 || nl_links_alias_prefix(&nl, prefix, &names, &e) < 0) {
    log_warn("Repair: %s", berr_msg(e));
    return;
  }
  for (char **p = names; p && *p; p++) {
    bool known = false;
    for (struct unet *u = n->unets; u && !known; u = u->next) known = strcmp(u->bridge, *p) == 0;
    if (known) continue;
    log_info("Repair: removing the bridge \"%s\" of a removed network", *p);
    berr_clear(&e);
    if (nl_link_del(&nl, *p, &e) < 0) log_warn("Repair: %s", berr_msg(e));
  }
}

int unet_load_all(struct network *n, struct berth_error **err) {
  _cleanup_free_ char *dir = path_join(n->data_dir, "networks");
  int r = mkdir_p(dir, 0700, err);
  if (r < 0) return r;
  _cleanup_closedir_ DIR *d = opendir(dir);
  struct dirent *de;
  while (d && (de = readdir(d))) {
    size_t len = strlen(de->d_name);
    if (len < 6 || strcmp(de->d_name + len - 5, ".json") != 0) continue;
    _cleanup_free_ char *p = path_join(dir, de->d_name);
    _cleanup_berr_ struct berth_error *e = NULL;
    if (load_one(n, p, &e) < 0) log_warn("Network state %s: %s", de->d_name, berr_msg(e));
  }
  sweep_bridges(n);
  return 0;
}

void unet_drop_unused_bridges(struct network *n) {
  for (struct unet *u = n->unets; u; u = u->next)
    if (!u->eps) bridge_down(u->bridge);
}
