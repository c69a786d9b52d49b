/* networks.c - the predefined networks (bridge, host, none) as GET /networks shows them */
#include "common/xalloc.h"
#include "network/net_int.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>

static json_t *bridge_containers(struct network *n) {
  json_t *o = json_object();
  pthread_mutex_lock(&n->mu);
  for (struct ctr_net *c = n->ctrs; c; c = c->next) {
    if (!c->done) continue;
    char ip[16], addr[24];
    ip_str(c->ip, ip);
    snprintf(addr, sizeof(addr), "%s/%d", ip, n->subnet.prefix);
    json_object_set_new(o, c->id, json_pack("{s:s, s:s, s:s, s:s, s:s}", "Name", c->name, "EndpointID", c->epid,
                                            "MacAddress", c->mac, "IPv4Address", addr, "IPv6Address", ""));
  }
  pthread_mutex_unlock(&n->mu);
  return o;
}

static json_t *bridge_options(struct network *n) {
  char mtu[16];
  snprintf(mtu, sizeof(mtu), "%d", n->mtu);
  return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "com.docker.network.bridge.default_bridge", "true",
                   "com.docker.network.bridge.enable_icc", n->icc ? "true" : "false",
                   "com.docker.network.bridge.enable_ip_masquerade", n->iptables ? "true" : "false",
                   "com.docker.network.bridge.host_binding_ipv4", "0.0.0.0", "com.docker.network.bridge.name",
                   n->bridge, "com.docker.network.driver.mtu", mtu);
}

static json_t *network_json(struct network *n, int which) {
  static const char *const names[] = {"bridge", "host", "none"};
  static const char *const drivers[] = {"bridge", "host", "null"};
  const char *ids[] = {n->network_id, n->host_id, n->none_id};
  json_t *config = json_array();
  if (which == 0) {
    char sub[16], gw[16];
    ip_str(cidr_net(&n->subnet), sub);
    ip_str(n->subnet.addr, gw);
    json_t *c = json_pack("{s:o, s:s}", "Subnet", json_sprintf("%s/%d", sub, n->subnet.prefix), "Gateway", gw);
    if (n->range.prefix != n->subnet.prefix || cidr_net(&n->range) != cidr_net(&n->subnet)) {
      char r[16];
      ip_str(cidr_net(&n->range), r);
      json_object_set_new(c, "IPRange", json_sprintf("%s/%d", r, n->range.prefix));
    }
    json_array_append_new(config, c);
  }
  return json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:{s:s, s:n, s:o}, s:b, s:b, s:b, s:{s:s}, s:b, s:o, s:o, s:{}}",
                   "Name", names[which], "Id", ids[which], "Created", n->created, "Scope", "local", "Driver",
                   drivers[which], "EnableIPv6", 0, "IPAM", "Driver", "default", "Options", "Config", config,
                   "Internal", 0, "Attachable", 0, "Ingress", 0, "ConfigFrom", "Network", "", "ConfigOnly", 0,
                   "Containers", which == 0 ? bridge_containers(n) : json_object(), "Options",
                   which == 0 ? bridge_options(n) : json_object(), "Labels");
}

json_t *net_networks_json(struct network *n) {
  json_t *a = json_array();
  for (int i = 0; i < 3; i++) json_array_append_new(a, network_json(n, i));
  pthread_mutex_lock(&n->mu);
  for (struct unet *u = n->unets; u; u = u->next) json_array_append_new(a, unet_json(n, u, true));
  pthread_mutex_unlock(&n->mu);
  return a;
}

int net_network_inspect(struct network *n, const char *ref, json_t **out, struct berth_error **err) {
  static const char *const names[] = {"bridge", "host", "none"};
  const char *ids[] = {n->network_id, n->host_id, n->none_id};
  size_t len = ref ? strlen(ref) : 0;
  int found = -1;
  pthread_mutex_lock(&n->mu);
  struct unet *u = unet_find(n, ref);
  /* a predefined network's name wins over an id prefix */
  for (int i = 0; i < 3 && u; i++)
    if (strcmp(ref, names[i]) == 0) u = NULL;
  if (u) *out = unet_json(n, u, true);
  pthread_mutex_unlock(&n->mu);
  if (u) return 0;
  for (int i = 0; i < 3 && found < 0; i++)
    if (len && (strcmp(ref, names[i]) == 0 || strcmp(ref, ids[i]) == 0)) found = i;
  for (int i = 0; i < 3 && found < 0; i++)
    if (len && strncmp(ids[i], ref, len) == 0) found = i;
  if (found < 0) return berr(err, ENOENT, "network %s not found", ref ? ref : "");
  *out = network_json(n, found);
  return 0;
}

json_t *net_settings_created(struct network *n, const char *mode, const json_t *endpoints, const char *short_id) {
  json_t *nets = json_object();
  const char *k;
  json_t *v;
  if (!net_mode_user(mode) && !net_mode_is(mode, "container")) {
    const char *name = net_mode_is(mode, "bridge") ? "bridge" : net_mode_is(mode, "host") ? "host" : "none";
    const char *id = !n ? "" : name[0] == 'b' ? n->network_id : name[0] == 'h' ? n->host_id : n->none_id;
    json_object_set_new(nets, name,
                        json_pack("{s:n, s:n, s:n, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:i, s:s, s:n}", "IPAMConfig",
                                  "Links", "Aliases", "NetworkID", id, "EndpointID", "", "Gateway", "", "IPAddress", "",
                                  "IPPrefixLen", 0, "IPv6Gateway", "", "GlobalIPv6Address", "", "GlobalIPv6PrefixLen",
                                  0, "MacAddress", "", "DriverOpts"));
  }
  json_t *want = json_is_object(endpoints) ? json_deep_copy(endpoints) : json_object();
  if (net_mode_user(mode) && !json_object_get(want, mode)) json_object_set_new(want, mode, json_object());
  json_object_foreach(want, k, v) {
    if (!net_mode_user(k)) continue;
    char *name = NULL;
    json_t *entry = NULL;
    if (!n) /* no network to look at: the name as given, no id (what Docker shows before a start) */
      json_object_set_new(nets, k,
                          json_pack("{s:O?, s:n, s:O?, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:i, s:s, s:n}",
                                    "IPAMConfig", json_object_get(v, "IPAMConfig"), "Links", "Aliases",
                                    json_object_get(v, "Aliases"), "NetworkID", "", "EndpointID", "", "Gateway", "",
                                    "IPAddress", "", "IPPrefixLen", 0, "IPv6Gateway", "", "GlobalIPv6Address", "",
                                    "GlobalIPv6PrefixLen", 0, "MacAddress", "", "DriverOpts"));
    else if (net_endpoint_stopped(n, k, v, short_id, &name, &entry, NULL) == 0)
      json_object_set_new(nets, name, entry);
    free(name);
  }
  json_decref(want);
  return json_pack("{s:o}", "Networks", nets);
}
