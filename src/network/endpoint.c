/* endpoint.c - a container's network: modes, address and port allocation, netns + veth +
 * addresses + routes + published ports (undone on failure), NetworkSettings, teardown, repair */
#define LOG_TAG "network"
#include "common/buf.h"
#include "common/fs.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "network/net_int.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

/* ---------- modes ---------- */

bool net_mode_is(const char *mode, const char *what) {
  if (!mode || !*mode || strcmp(mode, "default") == 0) mode = "bridge";
  if (strcmp(what, "container") == 0) return strncmp(mode, "container:", 10) == 0;
  return strcmp(mode, what) == 0;
}

const char *net_mode_container(const char *mode) {
  return mode && strncmp(mode, "container:", 10) == 0 ? mode + 10 : NULL;
}

int net_mode_check(const char *mode, struct berth_error **err) {
  static const char *const known[] = {"bridge", "none", "host"};
  for (size_t i = 0; i < ARRAY_SIZE(known); i++)
    if (net_mode_is(mode, known[i])) return 0;
  const char *c = net_mode_container(mode);
  if (c) return *c ? 0 : berr(err, EINVAL, "invalid container format container:<name|id>");
  /* a user-defined network: whether it exists is known when the container starts */
  if (!name_is_valid(mode)) return berr(err, ENOENT, "network %s not found", mode);
  return 0;
}

char *net_netns_path(struct network *n, const char *id) { return path_join(n->netns_dir, id); }

static int port_cmp(const void *a, const void *b) {
  const struct port_map *x = a, *y = b;
  if (x->proto != y->proto) return x->proto - y->proto;
  if (x->host_ip != y->host_ip) return x->host_ip < y->host_ip ? -1 : 1;
  return (int)x->ctr_port - (int)y->ctr_port;
}

/* ---------- setup ---------- */

static struct ctr_net *unlink_ctr(struct network *n, const char *id) {
  for (struct ctr_net **pp = &n->ctrs; *pp; pp = &(*pp)->next) {
    if (strcmp((*pp)->id, id) != 0) continue;
    struct ctr_net *c = *pp;
    *pp = c->next;
    return c;
  }
  return NULL;
}

/* reserve: address and ports, under the lock only for the allocation itself */
static int reserve(struct network *n, const char *id, const struct net_request *req, struct ctr_net *c,
                   struct berth_error **err) {
  snprintf(c->id, sizeof(c->id), "%s", id);
  snprintf(c->name, sizeof(c->name), "%s", req->name ? req->name : "");
  id_random(c->epid);
  int r = ports_parse(req->port_bindings, req->exposed_ports, req->publish_all, &c->ports, &c->nports, err);
  if (r < 0) return r;
  for (size_t i = 0; i < c->nports && !n->iptables; i++)
    if (!c->ports[i].exposed_only)
      return berr(err, ENOTSUP, "publishing ports needs the daemon's --iptables (berth has no userland proxy)");
  if (c->nports > 1) qsort(c->ports, c->nports, sizeof(*c->ports), port_cmp);
  uint8_t rnd[4];
  getrandom(rnd, sizeof(rnd), 0);
  snprintf(c->veth, sizeof(c->veth), "veth%02x%02x%02x%01x", rnd[0], rnd[1], rnd[2], rnd[3] & 0xf);
  pthread_mutex_lock(&n->mu);
  bool dup = false;
  for (struct ctr_net *o = n->ctrs; o && !dup; o = o->next) dup = strcmp(o->id, id) == 0;
  /* one endpoint per container: a second setup without a teardown is refused */
  r = dup ? berr(err, EEXIST, "container %.12s already has a network endpoint", id) : 0;
  if (r == 0) r = ipam_alloc(&n->ipam, 0, &c->ip, err);
  if (r == 0) {
    r = ports_alloc(n, req->name ? req->name : id, c->epid, c->ports, c->nports, err);
    if (r < 0) ipam_release(&n->ipam, c->ip);
  }
  if (r == 0) {
    c->next = n->ctrs;
    n->ctrs = c;
    ports_index_add(n, c->ports, c->nports);
  }
  pthread_mutex_unlock(&n->mu);
  return r;
}

/* net_veth_hairpin: a container reaching its own published port comes back out of the bridge
 * port it came in by (Docker sets it too when it runs without the userland proxy); a failure
 * only costs that case, so it is logged */
void net_veth_hairpin(const char *veth) {
  _cleanup_free_ char *hp = xasprintf("/sys/class/net/%s/brport/hairpin_mode", veth);
  _cleanup_berr_ struct berth_error *e = NULL;
  if (net_write_sysctl(hp, "1", &e) < 0) log_warn("Hairpin mode of \"%s\": %s", veth, berr_msg(e));
}

/* wire: netns, veth into the bridge, eth0 address and default route, published ports */
static int wire(struct network *n, struct ctr_net *c, const char *path, const uint8_t mac[6],
                struct berth_error **err) {
  _cleanup_nl_ struct nl inner = {0}, host = {0};
  int r = netns_create(path, &inner, err);
  if (r < 0) return r;
  _cleanup_close_ int nsfd = open(path, O_RDONLY | O_CLOEXEC);
  if (nsfd < 0) return berr_sys(err, errno, "open \"%s\"", path);
  if ((r = nl_open(&host, err)) < 0) return r;
  r = nl_veth_create(&host, c->veth, n->bridge_index, n->mtu, nsfd, mac, NET_IFGROUP(n->bridge_index), err);
  if (r < 0) return r;
  net_veth_hairpin(c->veth);
  int eth0 = 0;
  if ((r = nl_link_index(&inner, "eth0", &eth0, err)) < 0) return r == -ENODEV ? berr(err, ENODEV, "no eth0") : r;
  struct cidr a = {.addr = c->ip, .prefix = n->subnet.prefix};
  if ((r = nl_addr_add(&inner, eth0, &a, err)) < 0) return r;
  if ((r = nl_link_up(&inner, eth0, err)) < 0) return r;
  if ((r = nl_route_default(&inner, eth0, n->subnet.addr, err)) < 0) return r;
  if (!n->iptables) return 0;
  _cleanup_buf_ struct buf b = {0};
  nft_elements(&b, "add", n->table, c->ip, c->ports, c->nports);
  if (!n->icc) nft_link_elements(&b, "add", n->table, c->link_elems);
  if (b.len && (r = nft_run(n, b.p, err)) < 0) return r;
  return 0;
}

/* link_elems: --icc=false lets through exactly the exposed ports of each linked container */
static void link_elems(struct network *n, struct ctr_net *c, const struct net_request *req) {
  char me[16];
  ip_str(c->ip, me);
  for (size_t i = 0; i < req->nlinks && !n->icc; i++) {
    const struct net_link *l = &req->links[i];
    uint32_t peer;
    if (!l->ip || ip_parse(l->ip, &peer) < 0) continue;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)l->exposed_ports, key, v) {
      unsigned port = (unsigned)strtoul(key, NULL, 10);
      const char *slash = strchr(key, '/');
      const char *proto = slash ? slash + 1 : "tcp";
      if (!port || port > 65535 || (strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0)) continue;
      c->link_elems = strv_push_take(c->link_elems, xasprintf("%s . %s . %s . %u", me, l->ip, proto, port));
    }
  }
}

/* veth_del_main: delete the host end of a container's veth (a detached thread: RTM_DELLINK waits
 * for RCU grace periods, ~15 ms, that the stop path should not pay). ENODEV, when the kernel's
 * cleanup of the dead namespace came first, is the normal outcome. */
static void *veth_del_main(void *arg) {
  _cleanup_free_ char *name = arg;
  _cleanup_nl_ struct nl nl = {0};
  if (nl_open(&nl, NULL) == 0) nl_link_del(&nl, name, NULL);
  return NULL;
}

static void veth_del_async(const char *name) {
  if (!name[0]) return;
  pthread_attr_t at;
  pthread_t th;
  pthread_attr_init(&at);
  pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&at, 64 * 1024);
  char *arg = xstrdup(name);
  if (pthread_create(&th, &at, veth_del_main, arg) != 0) free(arg);
  pthread_attr_destroy(&at);
}

static void unwire(struct network *n, struct ctr_net *c, const char *path) {
  if (n->iptables && c) {
    _cleanup_buf_ struct buf b = {0};
    nft_elements(&b, "delete", n->table, c->ip, c->ports, c->nports);
    if (!n->icc) nft_link_elements(&b, "delete", n->table, c->link_elems);
    _cleanup_berr_ struct berth_error *e = NULL;
    /* one transaction; if some element is missing (a half-made setup) the batch fails as a
     * whole, then element by element so the others still go */
    if (b.len && nft_run(n, b.p, &e) < 0) {
      for (char *save = NULL, *l = strtok_r(b.p, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        berr_clear(&e);
        nft_run(n, l, &e);
      }
    }
  }
  /* Once the bind mount is gone and the container's processes have exited the namespace dies
   * and the kernel deletes both ends of the veth, but its batched cleanup can lag many seconds
   * on a busy host: the host end is also deleted by name, off this thread; startup repair
   * sweeps whatever a crash left. */
  _cleanup_berr_ struct berth_error *e = NULL;
  if (netns_remove(path, &e) < 0) log_warn("%s", berr_msg(e));
  if (c) veth_del_async(c->veth);
}

static json_t *endpoint_json(struct network *n, const char *netname, const char *ip, int prefix, const char *gw,
                             const char *mac, const char *epid, json_t *links) {
  const char *nid = strcmp(netname, "bridge") == 0 ? n->network_id
                    : strcmp(netname, "host") == 0 ? n->host_id
                                                   : n->none_id;
  return json_pack("{s:n, s:o, s:n, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:i, s:s, s:n}", "IPAMConfig", "Links", links,
                   "Aliases", "NetworkID", nid, "EndpointID", epid, "Gateway", gw,
                   "IPAddress", ip, "IPPrefixLen", prefix, "IPv6Gateway", "", "GlobalIPv6Address", "",
                   "GlobalIPv6PrefixLen", 0, "MacAddress", mac, "DriverOpts");
}

/* settings_json: NetworkSettings as Docker's inspect shows it */
json_t *net_settings_json(struct network *n, const char *id, const struct net_request *req, const char *net,
                          const struct ctr_net *c, const char *mac, const char *sandbox_key) {
  char ip[16] = "", gw[16] = "", sid[BERTH_ID_LEN + 1], epid[BERTH_ID_LEN + 1] = "";
  int prefix = 0;
  id_random(sid);
  if (c) {
    ip_str(c->ip, ip);
    ip_str(n->subnet.addr, gw);
    prefix = n->subnet.prefix;
    snprintf(epid, sizeof(epid), "%s", c->epid);
  } else if (net) {
    id_random(epid);
  }
  json_t *links = json_null();
  for (size_t i = 0; i < req->nlinks; i++) {
    if (json_is_null(links)) links = json_array();
    const struct net_link *l = &req->links[i];
    json_array_append_new(links, json_sprintf("/%s:/%s/%s", l->name, req->name ? req->name : id,
                                              l->alias ? l->alias : l->name));
  }
  json_t *nets = json_object();
  if (net) json_object_set_new(nets, net, endpoint_json(n, net, ip, prefix, gw, mac, epid, links));
  else json_decref(links);
  return json_pack("{s:s, s:s, s:b, s:s, s:i, s:o, s:s, s:n, s:n, s:s, s:s, s:s, s:i, s:s, s:i, s:s, s:s, s:o}",
                   "Bridge", "", "SandboxID", sandbox_key ? sid : "", "HairpinMode", 0, "LinkLocalIPv6Address", "",
                   "LinkLocalIPv6PrefixLen", 0, "Ports", c ? ports_json(c->ports, c->nports) : json_object(),
                   "SandboxKey", sandbox_key ? sandbox_key : "", "SecondaryIPAddresses", "SecondaryIPv6Addresses",
                   "EndpointID", epid, "Gateway", gw, "GlobalIPv6Address", "", "GlobalIPv6PrefixLen", 0, "IPAddress",
                   ip, "IPPrefixLen", prefix, "IPv6Gateway", "", "MacAddress", mac, "Networks", nets);
}

static int setup_bridge_mode(struct network *n, const char *id, const struct net_request *req, json_t **settings,
                             struct berth_error **err) {
  if (req->ip && *req->ip)
    return berr(err, EINVAL, "user specified IP address is supported on user defined networks only");
  uint8_t mac[6];
  if (req->mac_address && *req->mac_address && mac_parse(req->mac_address, mac) < 0)
    return berr(err, EINVAL, "invalid MAC address: %s", req->mac_address);
  struct ctr_net *c = xcalloc(1, sizeof(*c));
  int r = reserve(n, id, req, c, err);
  if (r < 0) {
    free(c->ports);
    strv_free(c->link_elems);
    free(c);
    return r;
  }
  if (!req->mac_address || !*req->mac_address) mac_from_ip(c->ip, mac);
  link_elems(n, c, req);
  mac_str(mac, c->mac);
  _cleanup_free_ char *path = net_netns_path(n, id);
  r = wire(n, c, path, mac, err);
  pthread_mutex_lock(&n->mu);
  if (r == 0) {
    c->done = true;
  } else {
    unlink_ctr(n, id);
    ports_index_rebuild(n);
  }
  pthread_mutex_unlock(&n->mu);
  if (r < 0) {
    unwire(n, c, path);
    pthread_mutex_lock(&n->mu);
    ipam_release(&n->ipam, c->ip);
    pthread_mutex_unlock(&n->mu);
    free(c->ports);
    strv_free(c->link_elems);
    free(c);
    return r;
  }
  char macs[18];
  mac_str(mac, macs);
  *settings = net_settings_json(n, id, req, "bridge", c, macs, path);
  _cleanup_berr_ struct berth_error *e = NULL;
  if (net_state_save(n, &e) < 0) log_warn("%s", berr_msg(e));
  return 0;
}

int net_container_setup(struct network *n, const char *id, const struct net_request *req, json_t **settings,
                        struct berth_error **err) {
  int r = net_mode_check(req->mode, err);
  if (r < 0) return r;
  if (net_mode_is(req->mode, "bridge")) {
    if ((r = setup_bridge_mode(n, id, req, settings, err)) < 0) return r;
    if ((r = uep_setup_extras(n, id, req, *settings, err)) < 0) {
      net_container_teardown(n, id, *settings, NULL);
      json_decref(*settings);
      *settings = NULL;
    }
    return r;
  }
  if (net_mode_user(req->mode)) return uep_setup_user(n, id, req, settings, err);
  if (net_mode_is(req->mode, "none")) {
    /* a namespace of its own with only lo */
    _cleanup_free_ char *path = net_netns_path(n, id);
    _cleanup_nl_ struct nl inner = {0};
    if ((r = netns_create(path, &inner, err)) < 0) return r;
    *settings = net_settings_json(n, id, req, "none", NULL, "", path);
    return 0;
  }
  /* host: the host's stack; container:X: X's (the daemon passes X's SandboxKey to the runtime) */
  *settings = net_settings_json(n, id, req, net_mode_is(req->mode, "host") ? "host" : NULL, NULL, "", NULL);
  return 0;
}

int net_container_teardown(struct network *n, const char *id, const json_t *settings, struct berth_error **err) {
  (void)settings;
  uep_teardown(n, id);
  pthread_mutex_lock(&n->mu);
  struct ctr_net *c = unlink_ctr(n, id);
  if (c) ports_index_rebuild(n);
  pthread_mutex_unlock(&n->mu);
  _cleanup_free_ char *path = net_netns_path(n, id);
  unwire(n, c, path);
  if (!c) return 0;
  pthread_mutex_lock(&n->mu);
  ipam_release(&n->ipam, c->ip);
  pthread_mutex_unlock(&n->mu);
  free(c->ports);
  strv_free(c->link_elems);
  free(c);
  return net_state_save(n, err);
}

static void clear_fields(json_t *o) {
  static const char *const strs[] = {"EndpointID", "Gateway", "IPAddress", "MacAddress", "SandboxID", "SandboxKey"};
  for (size_t i = 0; i < ARRAY_SIZE(strs); i++)
    if (json_object_get(o, strs[i])) json_object_set_new(o, strs[i], json_string(""));
  if (json_object_get(o, "IPPrefixLen")) json_object_set_new(o, "IPPrefixLen", json_integer(0));
}

json_t *net_settings_stopped(const json_t *settings) {
  json_t *s = json_deep_copy(settings);
  if (!json_is_object(s)) {
    json_decref(s);
    return json_object();
  }
  clear_fields(s);
  json_object_set_new(s, "Ports", json_object());
  const char *k;
  json_t *v;
  json_object_foreach(json_object_get(s, "Networks"), k, v) clear_fields(v);
  return s;
}

/* ---------- repair at startup ---------- */

static bool in_strv(char *const *v, const char *s) {
  for (; v && *v; v++)
    if (strcmp(*v, s) == 0) return true;
  return false;
}

static void repair_links(struct network *n) {
  _cleanup_nl_ struct nl nl = {0};
  _cleanup_strv_ char **ports = NULL;
  _cleanup_berr_ struct berth_error *e = NULL;
  if (nl_open(&nl, &e) < 0 || nl_bridge_ports(&nl, n->bridge_index, &ports, &e) < 0) {
    log_warn("Repair: %s", berr_msg(e));
    return;
  }
  for (char **p = ports; p && *p; p++) {
    if (strncmp(*p, "veth", 4) != 0) continue;
    bool ours = false;
    pthread_mutex_lock(&n->mu);
    for (struct ctr_net *c = n->ctrs; c && !ours; c = c->next) ours = strcmp(c->veth, *p) == 0;
    pthread_mutex_unlock(&n->mu);
    if (ours) continue;
    log_info("Repair: removing the stale veth \"%s\"", *p);
    berr_clear(&e);
    if (nl_link_del(&nl, *p, &e) < 0) log_warn("Repair: %s", berr_msg(e));
  }
}

static void repair_netns(struct network *n, char *const *live) {
  _cleanup_closedir_ DIR *d = opendir(n->netns_dir);
  struct dirent *de;
  while (d && (de = readdir(d))) {
    if (de->d_name[0] == '.' || in_strv(live, de->d_name)) continue;
    _cleanup_free_ char *p = path_join(n->netns_dir, de->d_name);
    _cleanup_berr_ struct berth_error *e = NULL;
    log_info("Repair: removing the stale network namespace %.12s", de->d_name);
    if (netns_remove(p, &e) < 0) log_warn("Repair: %s", berr_msg(e));
  }
}

int net_repair(struct network *n, char *const *live_ids, struct berth_error **err) {
  struct ctr_net *dead = NULL;
  pthread_mutex_lock(&n->mu);
  for (struct ctr_net **pp = &n->ctrs; *pp;) {
    struct ctr_net *c = *pp;
    if (in_strv(live_ids, c->id)) {
      pp = &c->next;
      continue;
    }
    *pp = c->next;
    ipam_release(&n->ipam, c->ip);
    c->next = dead;
    dead = c;
  }
  ports_index_rebuild(n);
  pthread_mutex_unlock(&n->mu);
  for (struct ctr_net *c = dead, *next; c; c = next) {
    next = c->next;
    log_info("Repair: releasing the network of %.12s", c->id);
    free(c->ports);
    strv_free(c->link_elems);
    free(c);
  }
  uep_repair(n, live_ids);
  repair_links(n);
  repair_netns(n, live_ids);
  int r = net_nft_rebuild(n, err);
  if (r == 0) r = net_state_save(n, err);
  return r;
}
