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
  sqlite3 *db = store_acquire(d->store);
  if (!db) return berr(err, EIO, "store: no connection");
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(db, "UPDATE containers SET network = ? WHERE id = ?", -1, &st, NULL);
  if (rc == SQLITE_OK) {
    sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
  }
  int r = rc == SQLITE_OK ? 0 : store_sqlite_err(db, rc, "store: save NetworkSettings", err);
  sqlite3_finalize(st);
  store_release(d->store, db);
  return r;
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
                                .ip = json_string_value(json_object_get(l->nets[k], "IPAddress")),
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

int ctr_net_setup(struct daemon *d, const struct store_container *c, const json_t *cfg, const json_t *hc,
                  const char *dir, json_t *spec, struct berth_error **err) {
  const char *mode = json_string_value(json_object_get(hc, "NetworkMode"));
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
  };
  _cleanup_json_ json_t *settings = NULL;
  _cleanup_free_ char *netns = NULL;
  if (r == 0) r = net_container_setup(d->net, c->id, &req, &settings, err);
  if (r == 0) r = netns_of(d, c->id, mode, settings, &netns, err);
  if (r == 0) r = net_container_files(d->net, dir, &req, settings, err);
  if (r == 0) r = save_network(d, c->id, settings, err);
  if (r == 0) {
    bool host_ns = net_mode_is(mode, "host") || (net_mode_is(mode, "container") && !netns);
    adjust_spec(spec, netns, host_ns, c->name, &l);
    char hn[256] = "";
    if (net_mode_is(mode, "host") && gethostname(hn, sizeof(hn) - 1) == 0)
      json_object_set_new(spec, "hostname", json_string(hn));
  }
  if (r < 0 && settings) net_container_teardown(d->net, c->id, settings, NULL);
  links_clear(&l);
  return r;
}

void ctr_net_teardown(struct daemon *d, const char *id, bool keep_row) {
  _cleanup_store_container_ struct store_container *c = NULL;
  _cleanup_berr_ struct berth_error *err = NULL;
  _cleanup_json_ json_t *settings = NULL;
  if (store_container_get(d->store, id, &c, NULL) == 0) settings = json_loads(c->network_json, 0, NULL);
  if (net_container_teardown(d->net, id, settings, &err) < 0) log_warn("Network of %.12s: %s", id, berr_msg(err));
  if (!keep_row || !c) return;
  _cleanup_json_ json_t *stopped = net_settings_stopped(settings);
  berr_clear(&err);
  if (save_network(d, id, stopped, &err) < 0) log_warn("Network of %.12s: %s", id, berr_msg(err));
}
