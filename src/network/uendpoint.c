/* uendpoint.c - containers on user-defined networks: endpoints (a veth ethN in the container's
 * namespace, an address from the network's IPAM, published ports), connect and disconnect of
 * running containers, teardown and repair, and the embedded DNS's view of names */
#define LOG_TAG "network"
#include "common/buf.h"
#include "common/fs.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "network/dns.h"
#include "network/net_int.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

bool net_mode_user(const char *mode) {
  static const char *const fixed[] = {"bridge", "none", "host", "container"};
  for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
    if (net_mode_is(mode, fixed[i])) return false;
  return true;
}

/* attach: what one endpoint needs */
struct attach {
  const char *id, *ctr_name, *netns;
  struct nl *inner;      /* a netlink socket inside the namespace */
  const char *ifname;
  const json_t *epcfg;   /* Aliases, IPAMConfig.IPv4Address */
  const struct net_link *links;
  size_t nlinks;
  bool primary;          /* eth0: default route, published ports */
  struct port_map *ports; /* taken over (primary only) */
  size_t nports;
};

static void random_veth(char out[16]) {
  uint8_t rnd[4];
  getrandom(rnd, sizeof(rnd), 0);
  snprintf(out, 16, "veth%02x%02x%02x%01x", rnd[0], rnd[1], rnd[2], rnd[3] & 0xf);
}

static struct uep *find_ep(struct unet *u, const char *id) {
  for (struct uep *e = u->eps; e; e = e->next)
    if (strcmp(e->ctr, id) == 0) return e;
  return NULL;
}

static void unlink_ep(struct unet *u, struct uep *e) {
  for (struct uep **pp = &u->eps; *pp; pp = &(*pp)->next)
    if (*pp == e) {
      *pp = e->next;
      return;
    }
}

/* reserve_ep: the address (asked for or the next free one) and the ports, under n->mu */
static int reserve_ep(struct network *n, struct unet *u, struct attach *a, struct uep *e, struct berth_error **err) {
  const char *want = json_string_value(json_object_get(json_object_get(a->epcfg, "IPAMConfig"), "IPv4Address"));
  uint32_t ip = 0;
  if (want && *want && ip_parse(want, &ip) < 0) return berr(err, EINVAL, "invalid IPv4 address: %s", want);
  if (want && *want && u->auto_subnet)
    return berr(err, EINVAL,
                "user specified IP address is supported only when connecting to networks with user configured subnets");
  if (want && *want && !u->has_range && !cidr_contains(&u->subnet, ip))
    return berr(err, EINVAL, "no configured subnet or ip-range contain the IP address %s", want);
  if (find_ep(u, a->id))
    return berr(err, EEXIST, "endpoint with name %s already exists in network %s", a->ctr_name, u->name);
  int r = 0;
  uint32_t bcast = cidr_net(&u->subnet) | ~cidr_mask(u->subnet.prefix);
  if (ip && (ip == cidr_net(&u->subnet) || ip == bcast || ip == u->subnet.addr))
    return berr(err, EEXIST, "Address already in use");
  if (ip && !cidr_contains(&u->range, ip) && cidr_contains(&u->subnet, ip)) {
    /* Docker takes a static address anywhere in the subnet; the bitmap covers the range only */
    bool taken = false;
    for (struct uep *o = u->eps; o && !taken; o = o->next) taken = o->ip == ip;
    if (taken) return berr(err, EEXIST, "Address already in use");
    e->ip = ip;
  } else if ((r = ipam_alloc(&u->ipam, ip, &e->ip, err)) < 0) {
    return r;
  }
  if (a->nports && (r = ports_alloc(n, a->ctr_name, e->epid, a->ports, a->nports, err)) < 0) {
    ipam_release(&u->ipam, e->ip);
    return r;
  }
  e->static_ip = ip != 0;
  e->ports = a->ports;
  e->nports = a->nports;
  a->ports = NULL;
  ports_index_add(n, e->ports, e->nports);
  e->next = u->eps;
  u->eps = e;
  return 0;
}

static struct uep *new_ep(const struct attach *a) {
  struct uep *e = xcalloc(1, sizeof(*e));
  snprintf(e->ctr, sizeof(e->ctr), "%s", a->id);
  snprintf(e->name, sizeof(e->name), "%s", a->ctr_name ? a->ctr_name : "");
  snprintf(e->ifname, sizeof(e->ifname), "%s", a->ifname);
  id_random(e->epid);
  random_veth(e->veth);
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(a->epcfg, "Aliases"), i, v) if (json_is_string(v)) e->aliases =
      strv_push(e->aliases, json_string_value(v));
  for (size_t k = 0; k < a->nlinks; k++) {
    const struct net_link *l = &a->links[k];
    e->links = strv_push_take(e->links, xasprintf("%s=%s", l->alias ? l->alias : l->name, l->name));
  }
  return e;
}

/* wire_ep: veth into the network's bridge, the address, the default route for eth0, ports */
static int wire_ep(struct network *n, struct unet *u, struct attach *a, struct uep *e, struct berth_error **err) {
  _cleanup_nl_ struct nl host = {0};
  _cleanup_close_ int nsfd = open(a->netns, O_RDONLY | O_CLOEXEC);
  if (nsfd < 0) return berr_sys(err, errno, "open \"%s\"", a->netns);
  int r = nl_open(&host, err);
  if (r < 0) return r;
  uint8_t mac[6];
  mac_from_ip(e->ip, mac);
  mac_str(mac, e->mac);
  r = nl_veth_create_peer(&host, e->veth, a->ifname, u->bridge_index, u->mtu, nsfd, mac, NET_IFGROUP(u->bridge_index), err);
  if (r < 0) return r;
  net_veth_hairpin(e->veth);
  int idx = 0;
  if ((r = nl_link_index(a->inner, a->ifname, &idx, err)) < 0) return r;
  struct cidr c = {.addr = e->ip, .prefix = u->subnet.prefix};
  if ((r = nl_addr_add(a->inner, idx, &c, err)) < 0) return r;
  if ((r = nl_link_up(a->inner, idx, err)) < 0) return r;
  /* an internal network has no way out: no default route through it (Docker does the same) */
  if (a->primary && !u->internal && (r = nl_route_default(a->inner, idx, u->subnet.addr, err)) < 0) return r;
  if (!n->iptables || !e->nports) return 0;
  _cleanup_buf_ struct buf b = {0};
  nft_elements(&b, "add", n->table, e->ip, e->ports, e->nports);
  return b.len ? nft_run(n, b.p, err) : 0;
}

static void drop_ep(struct network *n, struct unet *u, struct uep *e) {
  if (n->iptables && e->nports) {
    _cleanup_buf_ struct buf b = {0};
    nft_elements(&b, "delete", n->table, e->ip, e->ports, e->nports);
    _cleanup_berr_ struct berth_error *err = NULL;
    if (b.len && nft_run(n, b.p, &err) < 0) log_warn("%s", berr_msg(err));
  }
  pthread_mutex_lock(&n->mu);
  unlink_ep(u, e);
  ipam_release(&u->ipam, e->ip);
  ports_index_rebuild(n);
  pthread_mutex_unlock(&n->mu);
}

static json_t *ep_json(struct unet *u, const struct uep *e, const char *short_id) {
  char ip[16] = "", gw[16] = "";
  if (e) {
    ip_str(e->ip, ip);
    ip_str(u->subnet.addr, gw);
  }
  json_t *aliases = json_array();
  for (char **p = e ? e->aliases : NULL; p && *p; p++) json_array_append_new(aliases, json_string(*p));
  if (short_id) json_array_append_new(aliases, json_string(short_id));
  json_t *ipam = json_null();
  if (e && e->static_ip) ipam = json_pack("{s:s}", "IPv4Address", ip);
  json_t *links = json_null();
  for (char **p = e ? e->links : NULL; p && *p; p++) {
    if (json_is_null(links)) links = json_array();
    const char *eq = strchr(*p, '=');
    json_array_append_new(links, json_sprintf("%s:%.*s", eq + 1, (int)(eq - *p), *p));
  }
  return json_pack("{s:o, s:o, s:o, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:i, s:s, s:n}", "IPAMConfig", ipam, "Links",
                   links, "Aliases", aliases, "NetworkID", u->id, "EndpointID", e ? e->epid : "", "Gateway", gw,
                   "IPAddress", ip, "IPPrefixLen", e ? u->subnet.prefix : 0, "IPv6Gateway", "", "GlobalIPv6Address",
                   "", "GlobalIPv6PrefixLen", 0, "MacAddress", e ? e->mac : "", "DriverOpts");
}

static void dns_attach(struct network *n, const char *id, const char *netns) {
  if (!n->dns) return;
  int udp = -1, tcp = -1;
  _cleanup_berr_ struct berth_error *e = NULL;
  if (dns_socket_open2(netns, &udp, &tcp, &e) < 0 || dns_server_add2(n->dns, id, udp, tcp, &e) < 0)
    log_warn("Embedded DNS for %.12s: %s", id, berr_msg(e));
}

/* on_user_net: does the container have an endpoint on some user network (n->mu held) */
static bool on_user_net(struct network *n, const char *id) {
  for (struct unet *u = n->unets; u; u = u->next)
    if (find_ep(u, id)) return true;
  return false;
}

/* attach_ep: one endpoint, wired and saved; *entry is its Networks entry */
static int attach_ep(struct network *n, const char *ref, struct attach *a, json_t **entry, struct berth_error **err) {
  struct uep *e = new_ep(a);
  pthread_mutex_lock(&n->mu);
  struct unet *u = unet_find(n, ref);
  int r = u ? reserve_ep(n, u, a, e, err) : berr(err, ENOENT, "network %s not found", ref);
  pthread_mutex_unlock(&n->mu);
  if (r < 0) {
    uep_free(e);
    return r;
  }
  if ((r = wire_ep(n, u, a, e, err)) < 0) {
    _cleanup_nl_ struct nl nl = {0};
    if (nl_open(&nl, NULL) == 0) nl_link_del(&nl, e->veth, NULL);
    drop_ep(n, u, e);
    uep_free(e);
    return r;
  }
  pthread_mutex_lock(&n->mu);
  e->done = true;
  pthread_mutex_unlock(&n->mu);
  char sid[13];
  snprintf(sid, sizeof(sid), "%.12s", a->id);
  *entry = ep_json(u, e, sid);
  _cleanup_berr_ struct berth_error *se = NULL;
  if (unet_save(n, u, &se) < 0) log_warn("%s", berr_msg(se));
  return 0;
}

/* next_ifname: the first ethN the namespace does not have */
static void next_ifname(struct nl *inner, char out[16]) {
  for (int k = 0; k < 64; k++) {
    snprintf(out, 16, "eth%d", k);
    int idx;
    if (nl_link_index(inner, out, &idx, NULL) == -ENODEV) return;
  }
}

/* ---------- the start path ---------- */

static int extras(struct network *n, const char *id, const struct net_request *req, const char *path,
                  struct nl *inner, json_t *nets, struct berth_error **err) {
  const char *k;
  json_t *cfg;
  json_object_foreach((json_t *)req->endpoints, k, cfg) {
    if (json_object_get(nets, k) || !net_mode_user(k)) continue;
    char ifname[16];
    next_ifname(inner, ifname);
    struct attach a = {.id = id, .ctr_name = req->name, .netns = path, .inner = inner, .ifname = ifname,
                       .epcfg = cfg, .links = req->links, .nlinks = req->nlinks};
    json_t *entry = NULL;
    pthread_mutex_lock(&n->mu);
    struct unet *u = unet_find(n, k);
    const char *name = u ? u->name : k;
    _cleanup_free_ char *key = xstrdup(name);
    pthread_mutex_unlock(&n->mu);
    int r = attach_ep(n, k, &a, &entry, err);
    if (r < 0) return r;
    json_object_set_new(nets, key, entry);
  }
  return 0;
}

int uep_setup_extras(struct network *n, const char *id, const struct net_request *req, json_t *settings,
                     struct berth_error **err) {
  if (!json_object_size(req->endpoints)) return 0;
  const char *path = json_string_value(json_object_get(settings, "SandboxKey"));
  _cleanup_nl_ struct nl inner = {0};
  int r = netns_enter_nl(path, &inner, err);
  if (r == 0) r = extras(n, id, req, path, &inner, json_object_get(settings, "Networks"), err);
  pthread_mutex_lock(&n->mu);
  bool dns = r == 0 && on_user_net(n, id);
  pthread_mutex_unlock(&n->mu);
  if (dns) dns_attach(n, id, path);
  return r;
}

int uep_setup_user(struct network *n, const char *id, const struct net_request *req, json_t **settings,
                   struct berth_error **err) {
  _cleanup_free_ char *path = net_netns_path(n, id);
  _cleanup_nl_ struct nl inner = {0};
  struct port_map *ports = NULL;
  size_t nports = 0;
  int r = ports_parse(req->port_bindings, req->exposed_ports, req->publish_all, &ports, &nports, err);
  for (size_t i = 0; r == 0 && i < nports && !n->iptables; i++)
    if (!ports[i].exposed_only)
      r = berr(err, ENOTSUP, "publishing ports needs the daemon's --iptables (berth has no userland proxy)");
  if (r == 0) r = netns_create(path, &inner, err);
  if (r < 0) {
    free(ports);
    return r;
  }
  struct attach a = {.id = id, .ctr_name = req->name, .netns = path, .inner = &inner, .ifname = "eth0",
                     .epcfg = json_object_get(req->endpoints, req->mode), .links = req->links,
                     .nlinks = req->nlinks, .primary = true, .ports = ports, .nports = nports};
  json_t *entry = NULL;
  _cleanup_json_ json_t *nets = json_object();
  pthread_mutex_lock(&n->mu);
  struct unet *u = unet_find(n, req->mode);
  _cleanup_free_ char *name = xstrdup(u ? u->name : req->mode);
  pthread_mutex_unlock(&n->mu);
  r = attach_ep(n, req->mode, &a, &entry, err);
  free(a.ports);
  if (r == 0) json_object_set_new(nets, name, entry);
  if (r == 0) r = extras(n, id, req, path, &inner, nets, err);
  if (r < 0) {
    net_container_teardown(n, id, NULL, NULL);
    return r;
  }
  json_t *s = net_settings_json(n, id, req, NULL, NULL, "", path);
  pthread_mutex_lock(&n->mu);
  struct uep *e = (u = unet_find(n, req->mode)) ? find_ep(u, id) : NULL;
  json_object_set_new(s, "Ports", e ? ports_json(e->ports, e->nports) : json_object());
  pthread_mutex_unlock(&n->mu);
  json_object_set(s, "Networks", nets);
  dns_attach(n, id, path);
  *settings = s;
  return 0;
}

/* uep_teardown: every endpoint of the container on user networks; the veths go with the netns */
void uep_teardown(struct network *n, const char *id) {
  bool had = false;
  for (;; had = true) {
    pthread_mutex_lock(&n->mu);
    struct unet *u = n->unets;
    struct uep *e = NULL;
    for (; u && !(e = find_ep(u, id)); u = u->next) {
    }
    pthread_mutex_unlock(&n->mu);
    if (!e) break;
    /* with the endpoint gone the network may be removed: drop and save before that can happen */
    pthread_mutex_lock(&n->unet_mu);
    drop_ep(n, u, e);
    uep_free(e);
    _cleanup_berr_ struct berth_error *err = NULL;
    if (unet_save(n, u, &err) < 0) log_warn("%s", berr_msg(err));
    pthread_mutex_unlock(&n->unet_mu);
  }
  /* containers only on the default bridge never had a DNS socket: no wait on its thread */
  if (n->dns && had) dns_server_remove(n->dns, id);
}

/* ---------- connect and disconnect ---------- */

int net_container_connect(struct network *n, const char *id, const char *ctr_name, const char *ref,
                          const json_t *epcfg, const struct net_link *links, size_t nlinks, json_t *settings,
                          struct berth_error **err) {
  const char *path = json_string_value(json_object_get(settings, "SandboxKey"));
  if (!path || !*path) return berr(err, EINVAL, "container %.12s has no network namespace of its own", id);
  pthread_mutex_lock(&n->mu);
  struct unet *u = unet_find(n, ref);
  _cleanup_free_ char *name = u ? xstrdup(u->name) : NULL;
  bool had = on_user_net(n, id);
  pthread_mutex_unlock(&n->mu);
  if (!name) return berr(err, ENOENT, "network %s not found", ref);
  if (json_object_get(json_object_get(settings, "Networks"), name))
    return berr(err, EPERM, "endpoint with name %s already exists in network %s", ctr_name, name);
  _cleanup_nl_ struct nl inner = {0};
  int r = netns_enter_nl(path, &inner, err);
  if (r < 0) return r;
  char ifname[16];
  next_ifname(&inner, ifname);
  struct attach a = {.id = id, .ctr_name = ctr_name, .netns = path, .inner = &inner, .ifname = ifname,
                     .epcfg = epcfg, .links = links, .nlinks = nlinks};
  json_t *entry = NULL;
  if ((r = attach_ep(n, ref, &a, &entry, err)) < 0) return r;
  json_t *nets = json_object_get(settings, "Networks");
  if (!json_is_object(nets)) json_object_set_new(settings, "Networks", nets = json_object());
  json_object_set_new(nets, name, entry);
  if (!had) dns_attach(n, id, path);
  return 0;
}

int net_container_disconnect(struct network *n, const char *id, const char *ref, json_t *settings,
                             struct berth_error **err) {
  pthread_mutex_lock(&n->mu);
  struct unet *u = unet_find(n, ref);
  struct uep *e = u ? find_ep(u, id) : NULL;
  _cleanup_free_ char *name = u ? xstrdup(u->name) : NULL;
  pthread_mutex_unlock(&n->mu);
  if (!u) return berr(err, ENOENT, "network %s not found", ref);
  if (!e || !e->done) {
    if (json_object_del(json_object_get(settings, "Networks"), name) == 0) return 0;
    return berr(err, EINVAL, "container %.12s is not connected to network %s", id, name);
  }
  _cleanup_nl_ struct nl nl = {0};
  int r = nl_open(&nl, err);
  if (r == 0) r = nl_link_del(&nl, e->veth, err);
  if (r < 0) return r;
  pthread_mutex_lock(&n->unet_mu);
  drop_ep(n, u, e);
  uep_free(e);
  r = unet_save(n, u, err);
  pthread_mutex_unlock(&n->unet_mu);
  json_object_del(json_object_get(settings, "Networks"), name);
  pthread_mutex_lock(&n->mu);
  bool still = on_user_net(n, id);
  pthread_mutex_unlock(&n->mu);
  if (!still && n->dns) dns_server_remove(n->dns, id);
  return r;
}

int net_resolve(struct network *n, const char *ref, char **name, char id[65], bool *predefined,
                struct berth_error **err) {
  pthread_mutex_lock(&n->mu);
  struct unet *u = unet_find(n, ref);
  if (u) {
    if (name) *name = xstrdup(u->name);
    if (id) memcpy(id, u->id, 65);
    if (predefined) *predefined = false;
  }
  pthread_mutex_unlock(&n->mu);
  if (u) return 0;
  _cleanup_json_ json_t *j = NULL;
  int r = net_network_inspect(n, ref, &j, err);
  if (r < 0) return r;
  if (name) *name = xstrdup(json_string_value(json_object_get(j, "Name")));
  if (id) snprintf(id, 65, "%s", json_string_value(json_object_get(j, "Id")));
  if (predefined) *predefined = true;
  return 0;
}

int net_endpoint_stopped(struct network *n, const char *ref, const json_t *epcfg, const char *short_id, char **name,
                         json_t **entry, struct berth_error **err) {
  pthread_mutex_lock(&n->mu);
  struct unet *u = unet_find(n, ref);
  if (u) {
    *name = xstrdup(u->name);
    *entry = ep_json(u, NULL, short_id);
    json_t *a = json_object_get(epcfg, "Aliases");
    if (json_is_array(a)) {
      json_t *all = json_deep_copy(a);
      json_array_append_new(all, json_string(short_id));
      json_object_set_new(*entry, "Aliases", all);
    }
    json_t *ipam = json_object_get(epcfg, "IPAMConfig");
    if (json_is_object(ipam) && json_object_size(ipam)) json_object_set(*entry, "IPAMConfig", ipam);
  }
  pthread_mutex_unlock(&n->mu);
  return u ? 0 : berr(err, ENOENT, "network %s not found", ref);
}

/* ---------- repair and DNS ---------- */

static bool live_has(char *const *v, const char *s) {
  for (; v && *v; v++)
    if (strcmp(*v, s) == 0) return true;
  return false;
}

void uep_repair(struct network *n, char *const *live) {
  for (struct unet *u = n->unets; u; u = u->next) {
    bool changed = false;
    pthread_mutex_lock(&n->mu);
    for (struct uep **pp = &u->eps; *pp;) {
      struct uep *e = *pp;
      if (live_has(live, e->ctr)) {
        pp = &e->next;
        continue;
      }
      *pp = e->next;
      ipam_release(&u->ipam, e->ip);
      uep_free(e);
      changed = true;
    }
    pthread_mutex_unlock(&n->mu);
    _cleanup_berr_ struct berth_error *err = NULL;
    if (changed && unet_save(n, u, &err) < 0) log_warn("Repair: %s", berr_msg(err));
  }
  pthread_mutex_lock(&n->mu);
  ports_index_rebuild(n);
  char **ids = NULL;
  for (char *const *p = live; p && *p; p++)
    if (on_user_net(n, *p)) ids = strv_push(ids, *p);
  pthread_mutex_unlock(&n->mu);
  /* live restore: the sockets of running containers are opened again in their namespaces */
  for (char **p = ids; p && *p; p++) {
    _cleanup_free_ char *path = net_netns_path(n, *p);
    dns_attach(n, *p, path);
  }
  strv_free(ids);
}

static bool name_is(const char *a, const char *b) { return strcasecmp(a, b) == 0; }

/* ep_answers: does endpoint e answer to name (its name, an alias, its short id) */
static bool ep_answers(const struct uep *e, const char *name) {
  if (name_is(e->name, name)) return true;
  if (strlen(name) == 12 && strncmp(e->ctr, name, 12) == 0) return true;
  for (char **p = e->aliases; p && *p; p++)
    if (name_is(*p, name)) return true;
  return false;
}

static size_t lookup(void *ud, const char *asker, const char *name, struct in_addr *out, size_t max) {
  struct network *n = ud;
  size_t cnt = 0;
  pthread_mutex_lock(&n->mu);
  for (struct unet *u = n->unets; u && cnt < max; u = u->next) {
    struct uep *me = find_ep(u, asker);
    if (!me) continue;
    const char *target = name;
    /* "NAME.NETWORK" (Docker answers it too) means NAME on that network only */
    char scoped[256] = "";
    size_t nl = strlen(name), ul = strlen(u->name);
    if (nl > ul + 1 && name[nl - ul - 1] == '.' && strcasecmp(name + nl - ul, u->name) == 0 && nl - ul - 1 < sizeof(scoped))
      target = memcpy(scoped, name, nl - ul - 1);
    /* a legacy link on this network: its alias stands for the linked container's name */
    for (char **p = me->links; p && *p; p++) {
      const char *eq = strchr(*p, '=');
      if (eq && strlen(name) == (size_t)(eq - *p) && strncasecmp(*p, name, (size_t)(eq - *p)) == 0) target = eq + 1;
    }
    for (struct uep *e = u->eps; e && cnt < max; e = e->next) {
      if (!e->done || !ep_answers(e, target)) continue;
      bool dup = false;
      for (size_t i = 0; i < cnt; i++) dup = dup || out[i].s_addr == htonl(e->ip);
      if (!dup) out[cnt++].s_addr = htonl(e->ip);
    }
  }
  pthread_mutex_unlock(&n->mu);
  return cnt;
}

/* reverse: PTR answers, "NAME.NETWORK" like Docker, for containers sharing a network with the asker */
static bool reverse(void *ud, const char *asker, struct in_addr addr, char *name, size_t size) {
  struct network *n = ud;
  uint32_t ip = ntohl(addr.s_addr);
  bool found = false;
  pthread_mutex_lock(&n->mu);
  for (struct unet *u = n->unets; u && !found; u = u->next) {
    if (!find_ep(u, asker)) continue;
    for (struct uep *e = u->eps; e && !found; e = e->next)
      if (e->done && e->ip == ip) found = snprintf(name, size, "%s.%s", e->name, u->name) < (int)size;
  }
  pthread_mutex_unlock(&n->mu);
  return found;
}

void unet_dns_start(struct network *n) {
  _cleanup_berr_ struct berth_error *e = NULL;
  if (dns_server_start(lookup, n, "/etc/resolv.conf", &n->dns, &e) < 0) {
    n->dns = NULL;
    log_warn("Embedded DNS: %s (containers on user networks resolve no names)", berr_msg(e));
    return;
  }
  dns_server_set_reverse(n->dns, reverse);
}

bool net_uses_dns(const struct net_request *req) {
  if (net_mode_user(req->mode)) return true;
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)req->endpoints, k, v) if (net_mode_user(k)) return true;
  return false;
}
