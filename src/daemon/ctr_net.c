/* ctr_net.c - a container's network on the start and stop paths: the request for the network
 * module from Config/HostConfig (links and container: resolved through the store), the OCI
 * spec's network namespace, link variables and host name, and NetworkSettings in the store */
#define LOG_TAG "berthd"
#include "common/log.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "daemon/daemon.h"
#include "network/network.h"
#include <errno.h>
#include <string.h>
#include <unistd.h>

static int save_network(struct daemon *d, const char *id, const json_t *settings, struct berth_error **err) {
  _cleanup_free_ char *text = json_dumps(settings, JSON_COMPACT);
  _cleanup_store_conn_ struct store_conn cn = {0};
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  int r = store_conn_get(d->store, &cn, err);
  if (r == 0) r = store_prep(cn.db, "UPDATE containers SET network = ? WHERE id = ?", &st, err, 2, text, id);
  if (r < 0) return r;
  int rc = sqlite3_step(st);
  return rc == SQLITE_DONE ? 0 : store_sqlite_err(cn.db, rc, "store: save NetworkSettings", err);
}

/* The linked containers of one start, owned here: net_link points into them */
struct links {
  struct store_container **ctrs;
  json_t **cfgs;
  json_t **nets;
  char **aliases;
  struct net_link *v;
  size_t n;
};

static void links_clear(struct links *l) {
  for (size_t i = 0; i < l->n; i++) {
    store_container_free(l->ctrs[i]);
    json_decref(l->cfgs[i]);
    json_decref(l->nets[i]);
    free(l->aliases[i]);
  }
  free(l->ctrs);
  free(l->cfgs);
  free(l->nets);
  free(l->aliases);
  free(l->v);
}

/* add_link: "name:alias" (the CLI's form) or "/name:/self/alias" (Docker's stored form) */
static int add_link(struct daemon *d, const char *spec, struct links *l, struct berth_error **err) {
  _cleanup_free_ char *s = xstrdup(spec);
  char *colon = strchr(s, ':');
  char *alias = colon ? colon + 1 : s;
  if (colon) *colon = '\0';
  if (strrchr(alias, '/')) alias = strrchr(alias, '/') + 1;
  struct store_container *c = NULL;
  int r = store_container_find(d->store, s[0] == '/' ? s + 1 : s, &c, err);
  if (r < 0) return berr_prefix(err, "could not get container for %s", s);
  if (strcmp(c->status, "running") != 0) {
    r = berr(err, EINVAL, "Cannot link to a non running container: /%s AS /%s", c->name, alias);
    store_container_free(c);
    return r;
  }
  size_t k = l->n++;
  l->ctrs = xrealloc(l->ctrs, l->n * sizeof(*l->ctrs));
  l->cfgs = xrealloc(l->cfgs, l->n * sizeof(*l->cfgs));
  l->nets = xrealloc(l->nets, l->n * sizeof(*l->nets));
  l->aliases = xrealloc(l->aliases, l->n * sizeof(*l->aliases));
  l->ctrs[k] = c;
  l->cfgs[k] = json_loads(c->config_json, 0, NULL);
  l->nets[k] = json_loads(c->network_json, 0, NULL);
  l->aliases[k] = xstrdup(alias);
  return 0;
}

/* link_ip: the default bridge's address, else the first network's (a container on user networks) */
static const char *link_ip(const json_t *net) {
  const char *ip = json_string_value(json_object_get(net, "IPAddress"));
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)json_object_get(net, "Networks"), k, v) {
    if (ip && *ip) break;
    ip = json_string_value(json_object_get(v, "IPAddress"));
  }
  return ip && *ip ? ip : NULL;
}

static int resolve_links(struct daemon *d, const json_t *hc, struct links *l, struct berth_error **err) {
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(hc, "Links"), i, v) {
    int r = add_link(d, json_string_value(v) ? json_string_value(v) : "", l, err);
    if (r < 0) return r;
  }
  l->v = xcalloc(l->n + 1, sizeof(*l->v));
  for (size_t k = 0; k < l->n; k++)
    l->v[k] = (struct net_link){.name = l->ctrs[k]->name,
                                .alias = l->aliases[k],
                                .ip = link_ip(l->nets[k]),
                                .hostname = json_string_value(json_object_get(l->cfgs[k], "Hostname")),
                                .exposed_ports = json_object_get(l->cfgs[k], "ExposedPorts"),
                                .env = json_object_get(l->cfgs[k], "Env")};
  return 0;
}

/* netns_of: the namespace to run in: ours, another container's (container:X), none (host) */
static int netns_of(struct daemon *d, const char *id, const char *mode, const json_t *settings, char **path,
                    struct berth_error **err) {
  *path = NULL;
  const char *other = net_mode_container(mode);
  if (!other) {
    const char *key = json_string_value(json_object_get(settings, "SandboxKey"));
    if (key && *key) *path = xstrdup(key);
    return 0;
  }
  _cleanup_store_container_ struct store_container *o = NULL;
  int r = store_container_find(d->store, other, &o, err);
  if (r < 0) return r;
  if (strcmp(o->id, id) == 0) return berr(err, EINVAL, "cannot join own network");
  if (strcmp(o->status, "running") != 0)
    return berr(err, EINVAL, "cannot join network of a non running container: %s", o->id);
  _cleanup_json_ json_t *on = json_loads(o->network_json, 0, NULL);
  const char *key = json_string_value(json_object_get(on, "SandboxKey"));
  if (key && *key) *path = xstrdup(key);
  return 0;
}

/* adjust_spec: the network namespace entry (a path, or none for the host's), link variables,
 * and the host's name for --net host */
static void adjust_spec(json_t *spec, const char *netns, bool host_ns, const char *name, const struct links *l) {
  json_t *nss = json_object_get(json_object_get(spec, "linux"), "namespaces");
  for (size_t i = 0; i < json_array_size(nss); i++) {
    json_t *ns = json_array_get(nss, i);
    if (strcmp(json_string_value(json_object_get(ns, "type")) ?: "", "network") != 0) continue;
    if (host_ns) json_array_remove(nss, i);
    else if (netns) json_object_set_new(ns, "path", json_string(netns));
    break;
  }
  json_t *env = json_object_get(json_object_get(spec, "process"), "env");
  for (size_t k = 0; k < l->n; k++) {
    _cleanup_strv_ char **v = NULL;
    net_link_env(&l->v[k], name, &v);
    for (char **p = v; p && *p; p++) json_array_append_new(env, json_string(*p));
  }
}

/* endpoints_of: the user networks a start attaches: the stored Networks (connected while
 * stopped, or an earlier run), else create's NetworkingConfig.EndpointsConfig (kept in
 * HostConfig._EndpointsConfig) */
static json_t *endpoints_of(const struct store_container *c, const json_t *hc) {
  _cleanup_json_ json_t *stored = json_loads(c->network_json ? c->network_json : "{}", 0, NULL);
  json_t *nets = json_object_get(stored, "Networks");
  json_t *want = json_object();
  const char *k;
  json_t *v;
  if (!json_object_size(nets)) {
    json_object_update(want, json_object_get(hc, "_EndpointsConfig"));
    return want;
  }
  json_object_foreach(nets, k, v) {
    json_t *aliases = json_array();
    size_t i;
    json_t *a;
    /* the short id is added back by the network module */
    json_array_foreach(json_object_get(v, "Aliases"), i, a) if (json_is_string(a) &&
                                                                 strncmp(json_string_value(a), c->id, 12) != 0)
        json_array_append(aliases, a);
    json_t *e = json_pack("{s:o}", "Aliases", aliases);
    json_t *ipam = json_object_get(v, "IPAMConfig");
    if (json_is_object(ipam)) json_object_set(e, "IPAMConfig", ipam);
    json_object_set_new(want, k, e);
  }
  return want;
}

/* share_etc: container:X uses X's hostname, hosts and resolv.conf (Docker points HostsPath and
 * the others at X's files); _EtcDir tells inspect */
static void share_etc(struct daemon *d, const char *mode, const char *dir, json_t *spec, json_t *settings) {
  const char *other = net_mode_container(mode);
  _cleanup_store_container_ struct store_container *o = NULL;
  if (!other || store_container_find(d->store, other, &o, NULL) < 0) return;
  _cleanup_free_ char *odir = ctr_dir(d, o->id);
  json_t *mounts = json_object_get(spec, "mounts");
  size_t i;
  json_t *m;
  json_array_foreach(mounts, i, m) {
    const char *src = json_string_value(json_object_get(m, "source"));
    size_t dl = strlen(dir);
    if (!src || strncmp(src, dir, dl) != 0 || src[dl] != '/') continue;
    static const char *const files[] = {"hostname", "hosts", "resolv.conf"};
    for (size_t k = 0; k < ARRAY_SIZE(files); k++) {
      if (strcmp(src + dl + 1, files[k]) != 0) continue;
      json_object_set_new(m, "source", json_sprintf("%s/%s", odir, files[k])); /* src is freed */
      break;
    }
  }
  json_object_set_new(settings, "_EtcDir", json_string(odir));
}

/* Docker's network connect/disconnect events of a container's start and stop, one per
 * network in its NetworkSettings (none is type "null", host "host", the others "bridge") */
static void emit_net_events(struct daemon *d, const char *id, const json_t *settings, const char *action) {
  const char *k;
  json_t *v;
  json_object_foreach(json_object_get(settings, "Networks"), k, v) {
    const char *nid = json_string_value(json_object_get(v, "NetworkID"));
    if (!nid || !*nid) continue;
    const char *type = strcmp(k, "none") == 0 ? "null" : strcmp(k, "host") == 0 ? "host" : "bridge";
    events_emit(d, "network", action, nid, json_pack("{s:s, s:s, s:s}", "container", id, "name", k, "type", type));
  }
}

/* did these settings come from a setup (not a stop)? a stopped container's have no SandboxKey */
static bool settings_live(const json_t *settings, bool on_exit) {
  const char *key = json_string_value(json_object_get(settings, "SandboxKey"));
  if (key && *key) return true;
  /* host mode has no namespace of its own: only the exit path knows it was running */
  return on_exit && json_object_get(json_object_get(settings, "Networks"), "host");
}

int ctr_net_setup(struct daemon *d, const struct store_container *c, const json_t *cfg, const json_t *hc,
                  const char *dir, json_t *spec, struct berth_error **err) {
  const char *mode = json_string_value(json_object_get(hc, "NetworkMode"));
  _cleanup_json_ json_t *endpoints = endpoints_of(c, hc);
  struct links l = {0};
  int r = resolve_links(d, hc, &l, err);
  struct net_request req = {
      .name = c->name,
      .mode = mode,
      .hostname = json_string_value(json_object_get(cfg, "Hostname")),
      .domainname = json_string_value(json_object_get(cfg, "Domainname")),
      .dns = json_object_get(hc, "Dns"),
      .dns_search = json_object_get(hc, "DnsSearch"),
      .dns_options = json_object_get(hc, "DnsOptions"),
      .extra_hosts = json_object_get(hc, "ExtraHosts"),
      .links = l.v,
      .nlinks = l.n,
      .port_bindings = json_object_get(hc, "PortBindings"),
      .publish_all = json_is_true(json_object_get(hc, "PublishAllPorts")),
      .exposed_ports = json_object_get(cfg, "ExposedPorts"),
      .mac_address = json_string_value(json_object_get(cfg, "MacAddress")),
      .endpoints = endpoints,
  };
  _cleanup_json_ json_t *settings = NULL;
  _cleanup_free_ char *netns = NULL;
  if (r == 0) r = net_container_setup(d->net, c->id, &req, &settings, err);
  if (r == 0) r = netns_of(d, c->id, mode, settings, &netns, err);
  if (r == 0) r = net_container_files(d->net, dir, &req, settings, err);
  if (r == 0) share_etc(d, mode, dir, spec, settings);
  if (r == 0) r = save_network(d, c->id, settings, err);
  if (r == 0) {
    bool host_ns = net_mode_is(mode, "host") || (net_mode_is(mode, "container") && !netns);
    adjust_spec(spec, netns, host_ns, c->name, &l);
    char hn[256] = "";
    if (net_mode_is(mode, "host") && gethostname(hn, sizeof(hn) - 1) == 0)
      json_object_set_new(spec, "hostname", json_string(hn));
  }
  if (r < 0 && settings) net_container_teardown(d->net, c->id, settings, NULL);
  if (r == 0) emit_net_events(d, c->id, settings, "connect");
  links_clear(&l);
  return r;
}

void ctr_net_teardown(struct daemon *d, const char *id, bool keep_row) {
  _cleanup_store_container_ struct store_container *c = NULL;
  _cleanup_berr_ struct berth_error *err = NULL;
  _cleanup_json_ json_t *settings = NULL;
  if (store_container_get(d->store, id, &c, NULL) == 0) settings = json_loads(c->network_json, 0, NULL);
  if (net_container_teardown(d->net, id, settings, &err) < 0) log_warn("Network of %.12s: %s", id, berr_msg(err));
  if (c && settings_live(settings, keep_row)) emit_net_events(d, id, settings, "disconnect");
  if (!keep_row || !c) return;
  _cleanup_json_ json_t *stopped = net_settings_stopped(settings);
  berr_clear(&err);
  if (save_network(d, id, stopped, &err) < 0) log_warn("Network of %.12s: %s", id, berr_msg(err));
}

/* ---------- network connect / disconnect ---------- */

static int check_connectable(const struct store_container *c, struct berth_error **err) {
  _cleanup_json_ json_t *hc = json_loads(c->host_config_json, 0, NULL);
  const char *mode = json_string_value(json_object_get(hc, "NetworkMode"));
  if (net_mode_is(mode, "host") || net_mode_is(mode, "none") || net_mode_is(mode, "container"))
    return berr(err, EPERM,
                "container sharing network namespace with another container or host cannot be connected to any "
                "other network");
  return 0;
}

/* connect_stopped: the network joins the stored NetworkSettings; the next start attaches it */
static int connect_stopped(struct daemon *d, const struct store_container *c, const char *ref, const json_t *epcfg,
                           struct berth_error **err) {
  _cleanup_json_ json_t *settings = json_loads(c->network_json ? c->network_json : "{}", 0, NULL);
  if (!json_object_size(json_object_get(settings, "Networks"))) {
    _cleanup_json_ json_t *hc = json_loads(c->host_config_json, 0, NULL);
    json_t *created = net_settings_created(d->net, json_string_value(json_object_get(hc, "NetworkMode")),
                                           json_object_get(hc, "_EndpointsConfig"), NULL);
    json_object_set(settings, "Networks", json_object_get(created, "Networks"));
    json_decref(created);
  }
  char sid[13];
  snprintf(sid, sizeof(sid), "%.12s", c->id);
  _cleanup_free_ char *name = NULL;
  _cleanup_json_ json_t *entry = NULL;
  int r = net_endpoint_stopped(d->net, ref, epcfg, sid, &name, &entry, err);
  if (r < 0) return r;
  json_t *nets = json_object_get(settings, "Networks");
  if (json_object_get(nets, name))
    return berr(err, EPERM, "endpoint with name %s already exists in network %s", c->name, name);
  json_object_set(nets, name, entry);
  return save_network(d, c->id, settings, err);
}

static int connect_locked(struct daemon *d, struct ctr_state *st, const char *ref, const json_t *epcfg, bool connect,
                          bool force, struct berth_error **err) {
  _cleanup_store_container_ struct store_container *c = NULL;
  int r = store_container_get(d->store, st->id, &c, err);
  if (r < 0) return r;
  if (connect && (r = check_connectable(c, err)) < 0) return r;
  pthread_mutex_lock(&st->mu);
  bool running = st->running;
  pthread_mutex_unlock(&st->mu);
  _cleanup_json_ json_t *settings = json_loads(c->network_json ? c->network_json : "{}", 0, NULL);
  if (!json_is_object(settings)) {
    json_decref(settings); /* a stored non-object is replaced, not leaked */
    settings = json_object();
  }
  if (!connect) {
    _cleanup_free_ char *name = NULL;
    if ((r = net_resolve(d->net, ref, &name, NULL, NULL, err)) < 0) return r;
    if (!running && json_object_del(json_object_get(settings, "Networks"), name) < 0 && !force)
      return berr(err, EINVAL, "container %s is not connected to network %s", c->id, name);
    if (running && (r = net_container_disconnect(d->net, c->id, ref, settings, err)) < 0) return r;
    return save_network(d, c->id, settings, err);
  }
  if (!running) return connect_stopped(d, c, ref, epcfg, err);
  _cleanup_json_ json_t *hc = json_loads(c->host_config_json, 0, NULL);
  struct links l = {0};
  /* links only add DNS aliases here: one whose container is gone does not stop the connect */
  if (resolve_links(d, hc, &l, NULL) < 0) {
    links_clear(&l);
    l = (struct links){0};
  }
  r = net_container_connect(d->net, c->id, c->name, ref, epcfg, l.v, l.n, settings, err);
  links_clear(&l);
  if (r == 0) r = save_network(d, c->id, settings, err);
  return r;
}

int ctr_net_connect(struct daemon *d, const char *ref, const char *ctr_ref, const json_t *epcfg, bool connect,
                    bool force, struct berth_error **err) {
  _cleanup_free_ char *name = NULL;
  char nid[65];
  bool predefined = false;
  int r = net_resolve(d->net, ref, &name, nid, &predefined, err);
  if (r < 0) return r;
  if (predefined)
    return berr(err, ENOTSUP, "%s the predefined network %s is not supported yet",
                connect ? "connecting to" : "disconnecting from", name);
  _cleanup_store_container_ struct store_container *c = NULL;
  if ((r = store_container_find(d->store, ctr_ref ? ctr_ref : "", &c, err)) < 0) return r;
  struct ctr_state *st = ctr_state_get(d->ctrs, c->id);
  ctr_lifecycle_begin(st);
  r = connect_locked(d, st, nid, epcfg, connect, force, err);
  ctr_lifecycle_end(st);
  ctr_state_put(d->ctrs, st);
  if (r == 0)
    events_emit(d, "network", connect ? "connect" : "disconnect", nid,
                json_pack("{s:s, s:s, s:s}", "container", c->id, "name", name, "type", "bridge"));
  return r;
}
