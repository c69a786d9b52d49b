/* etcfiles.c - the container's /etc/hosts, /etc/resolv.conf and /etc/hostname as Docker writes
 * them, and the environment of legacy links */
#include "common/buf.h"
#include "common/fs.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "network/net_int.h"
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char hosts_defaults[] = "127.0.0.1\tlocalhost\n"
                                     "::1\tlocalhost ip6-localhost ip6-loopback\n"
                                     "fe00::0\tip6-localnet\n"
                                     "ff00::0\tip6-mcastprefix\n"
                                     "ff02::1\tip6-allnodes\n"
                                     "ff02::2\tip6-allrouters\n";

/* link_names: Docker's "ALIAS HOSTNAME NAME" (the name only when it differs from the alias) */
static char *link_names(const struct net_link *l) {
  struct buf b = {0};
  const char *alias = l->alias ? l->alias : l->name;
  buf_puts(&b, alias);
  if (l->hostname && *l->hostname && strcmp(l->hostname, alias) != 0) buf_printf(&b, " %s", l->hostname);
  if (strcmp(alias, l->name) != 0) buf_printf(&b, " %s", l->name);
  return buf_steal(&b);
}

char *hosts_text(const struct etc_info *e) {
  struct buf b = {0};
  buf_puts(&b, hosts_defaults);
  size_t i;
  json_t *v;
  /* --add-host "name:ip" (the address may hold colons: split at the first one) */
  json_array_foreach((json_t *)e->extra_hosts, i, v) {
    const char *s = json_string_value(v);
    const char *c = s ? strchr(s, ':') : NULL;
    if (!c) continue;
    buf_printf(&b, "%s\t%.*s\n", c + 1, (int)(c - s), s);
  }
  for (size_t k = 0; k < e->nlinks; k++) {
    const struct net_link *l = &e->links[k];
    if (!l->ip || !*l->ip) continue;
    _cleanup_free_ char *names = link_names(l);
    buf_printf(&b, "%s\t%s\n", l->ip, names);
  }
  if (e->ip && *e->ip && e->hostname && *e->hostname) {
    if (e->domainname && *e->domainname)
      buf_printf(&b, "%s\t%s.%s %s\n", e->ip, e->hostname, e->domainname, e->hostname);
    else
      buf_printf(&b, "%s\t%s\n", e->ip, e->hostname);
  }
  return buf_steal(&b);
}

/* names_of: the names our own lines carry for a link (k < nlinks) or the container (k == nlinks) */
static char *names_of(const struct etc_info *e, size_t k) {
  if (k < e->nlinks) return link_names(&e->links[k]);
  if (e->domainname && *e->domainname) return xasprintf("%s.%s %s", e->hostname, e->domainname, e->hostname);
  return xstrdup(e->hostname);
}

char *hosts_refresh(const char *old, const struct etc_info *e) {
  size_t nown = e->nlinks + 1;
  _cleanup_free_ bool *seen = xcalloc(nown, sizeof(bool));
  struct buf b = {0};
  _cleanup_free_ char *copy = xstrdup(old);
  for (char *save = NULL, *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    const char *names = l + strcspn(l, " \t");
    names += strspn(names, " \t");
    const char *ip = NULL;
    for (size_t k = 0; k < nown && !ip && *names; k++) {
      _cleanup_free_ char *want = names_of(e, k);
      const char *kip = k < e->nlinks ? e->links[k].ip : e->ip;
      if (strcmp(names, want) == 0 && kip && *kip) ip = kip, seen[k] = true;
    }
    if (ip)
      buf_printf(&b, "%s\t%s\n", ip, names);
    else
      buf_printf(&b, "%s\n", l);
  }
  for (size_t k = 0; k < nown; k++) {
    const char *kip = k < e->nlinks ? e->links[k].ip : e->ip;
    if (seen[k] || !kip || !*kip || (k == e->nlinks && (!e->hostname || !*e->hostname))) continue;
    _cleanup_free_ char *names = names_of(e, k);
    buf_printf(&b, "%s\t%s\n", kip, names);
  }
  return buf_steal(&b);
}

static bool loopback_ns(const char *a) { return strncmp(a, "127.", 4) == 0 || strcmp(a, "::1") == 0; }

/* join: the strings of a JSON array separated by spaces */
static void join(struct buf *b, const json_t *a) {
  size_t i;
  json_t *v;
  json_array_foreach((json_t *)a, i, v) {
    if (i) buf_putc(b, ' ');
    buf_puts(b, json_string_value(v) ? json_string_value(v) : "");
  }
}

/* resolv_rebuild: --dns/--dns-search/--dns-option given: Docker writes search, nameservers and
 * options afresh, taking from the host's file what was not given */
static char *resolv_rebuild(const char *host, const json_t *dns, const json_t *search, const json_t *options) {
  _cleanup_free_ char *copy = xstrdup(host ? host : "");
  _cleanup_buf_ struct buf hs = {0}, hn = {0}, ho = {0};
  for (char *save = NULL, *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    const char *rest = l + strcspn(l, " \t");
    rest += strspn(rest, " \t");
    if (strncmp(l, "search", 6) == 0 && isspace((unsigned char)l[6])) buf_reset(&hs), buf_puts(&hs, rest);
    if (strncmp(l, "options", 7) == 0 && isspace((unsigned char)l[7])) buf_reset(&ho), buf_puts(&ho, rest);
    if (strncmp(l, "nameserver", 10) == 0 && !loopback_ns(rest)) buf_printf(&hn, "nameserver %s\n", rest);
  }
  struct buf b = {0};
  if (json_array_size(search) > 0) {
    buf_puts(&b, "search ");
    join(&b, search);
    buf_putc(&b, '\n');
  } else if (hs.len) {
    buf_printf(&b, "search %s\n", hs.p);
  }
  size_t i;
  json_t *v;
  if (json_array_size(dns) > 0)
    json_array_foreach((json_t *)dns, i, v) buf_printf(&b, "nameserver %s\n", json_string_value(v));
  else if (hn.len)
    buf_puts(&b, hn.p);
  else
    buf_puts(&b, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
  if (json_array_size(options) > 0) {
    buf_puts(&b, "options ");
    join(&b, options);
    buf_putc(&b, '\n');
  } else if (ho.len) {
    buf_printf(&b, "options %s\n", ho.p);
  }
  return buf_steal(&b);
}

char *resolv_text(const char *host, const json_t *dns, const json_t *search, const json_t *options) {
  if (json_array_size(dns) || json_array_size(search) || json_array_size(options))
    return resolv_rebuild(host, dns, search, options);
  /* the host's file without loopback resolvers: they mean nothing in the container's namespace;
   * Docker's public fallback when none is left */
  _cleanup_free_ char *copy = xstrdup(host ? host : "");
  struct buf b = {0};
  bool have_ns = false;
  for (char *save = NULL, *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    if (strncmp(l, "nameserver", 10) == 0) {
      const char *a = l + 10 + strspn(l + 10, " \t");
      if (loopback_ns(a)) continue;
      have_ns = true;
    }
    buf_puts(&b, l);
    buf_putc(&b, '\n');
  }
  if (!have_ns) buf_puts(&b, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
  return buf_steal(&b);
}

/* resolv_embedded: a container on a user network asks the embedded DNS (Docker's text: the
 * search domains kept, ndots:0 before the options given) */
static char *resolv_embedded(const char *host, const json_t *search, const json_t *options) {
  _cleanup_free_ char *plain = resolv_rebuild(host, NULL, search, NULL);
  struct buf b = {0};
  for (char *save = NULL, *l = strtok_r(plain, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
    if (strncmp(l, "search", 6) == 0) buf_printf(&b, "%s\n", l);
  buf_puts(&b, "nameserver 127.0.0.11\noptions ndots:0");
  size_t i;
  json_t *v;
  json_array_foreach((json_t *)options, i, v) buf_printf(&b, " %s", json_string_value(v) ?: "");
  buf_putc(&b, '\n');
  return buf_steal(&b);
}

/* primary_ip: the default bridge's address, else the first user network's */
static const char *primary_ip(const json_t *settings) {
  const char *ip = json_string_value(json_object_get(settings, "IPAddress"));
  if (ip && *ip) return ip;
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)json_object_get(settings, "Networks"), k, v) {
    ip = json_string_value(json_object_get(v, "IPAddress"));
    if (ip && *ip) return ip;
  }
  return NULL;
}

static int write_if_missing(const char *dir, const char *name, const char *text, struct berth_error **err) {
  _cleanup_free_ char *p = path_join(dir, name);
  if (access(p, F_OK) == 0) return 0;
  return write_file_atomic(p, text, strlen(text), 0644, 0, err);
}

int net_container_files(struct network *n, const char *dir, const struct net_request *req, const json_t *settings,
                        struct berth_error **err) {
  bool host = net_mode_is(req->mode, "host");
  _cleanup_free_ char *host_resolv = NULL, *host_hosts = NULL;
  read_file("/etc/resolv.conf", &host_resolv, NULL, NULL);
  char hn[256] = "";
  if (host) gethostname(hn, sizeof(hn) - 1);
  const char *name = host ? hn : req->hostname ? req->hostname : "";
  _cleanup_free_ char *hostname = xasprintf("%s\n", name);
  int r = write_if_missing(dir, "hostname", hostname, err);
  if (r < 0) return r;
  _cleanup_free_ char *hosts = NULL, *resolv = NULL;
  if (host) {
    /* the host's network: its own names and resolvers (loopback ones work there) */
    if (read_file("/etc/hosts", &host_hosts, NULL, NULL) < 0) host_hosts = xstrdup(hosts_defaults);
    hosts = take_ptr(&host_hosts);
    if (!json_array_size(req->dns) && !json_array_size(req->dns_search) && !json_array_size(req->dns_options))
      resolv = xstrdup(host_resolv ? host_resolv : "");
  } else {
    struct etc_info e = {.ip = primary_ip(settings),
                         .hostname = req->hostname,
                         .domainname = req->domainname,
                         .links = req->links,
                         .nlinks = req->nlinks,
                         .extra_hosts = req->extra_hosts};
    hosts = hosts_text(&e);
  }
  if (!resolv && net_uses_dns(req)) resolv = resolv_embedded(host_resolv, req->dns_search, req->dns_options);
  if (!resolv) resolv = resolv_text(host_resolv, req->dns, req->dns_search, req->dns_options);
  _cleanup_free_ char *hp = path_join(dir, "hosts");
  _cleanup_free_ char *old = NULL;
  if (!host && read_file(hp, &old, NULL, NULL) == 0) {
    /* a restart: edits made inside are kept, our own lines get the new addresses */
    struct etc_info e = {.ip = primary_ip(settings),
                         .hostname = req->hostname,
                         .domainname = req->domainname,
                         .links = req->links,
                         .nlinks = req->nlinks};
    _cleanup_free_ char *fresh = hosts_refresh(old, &e);
    r = strcmp(fresh, old) == 0 ? 0 : write_file_atomic(hp, fresh, strlen(fresh), 0644, 0, err);
  } else {
    r = write_if_missing(dir, "hosts", hosts, err);
  }
  if (r == 0) r = write_if_missing(dir, "resolv.conf", resolv, err);
  return r;
}

/* env_name: Docker's variable prefix for an alias: upper case, '-' as '_' */
static char *env_name(const char *alias) {
  char *s = xstrdup(alias);
  for (char *p = s; *p; p++) *p = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
  return s;
}

struct lport {
  unsigned port;
  const char *proto;
};

static int lport_cmp(const void *a, const void *b) {
  const struct lport *x = a, *y = b;
  if (x->port != y->port) return x->port < y->port ? -1 : 1;
  return strcmp(x->proto, y->proto); /* tcp before udp, like Docker's sort */
}

void net_link_env(const struct net_link *l, const char *self_name, char ***env) {
  _cleanup_free_ char *a = env_name(l->alias ? l->alias : l->name);
  const char *ip = l->ip ? l->ip : "";
  *env = strv_push_take(*env, xasprintf("%s_NAME=/%s/%s", a, self_name, l->alias ? l->alias : l->name));
  size_t cnt = json_object_size(l->exposed_ports), k = 0;
  _cleanup_free_ struct lport *ports = xcalloc(cnt + 1, sizeof(*ports));
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)l->exposed_ports, key, v) {
    const char *slash = strchr(key, '/');
    ports[k].port = (unsigned)strtoul(key, NULL, 10);
    ports[k].proto = slash ? slash + 1 : "tcp";
    if (ports[k].port) k++;
  }
  qsort(ports, k, sizeof(*ports), lport_cmp);
  if (k) *env = strv_push_take(*env, xasprintf("%s_PORT=%s://%s:%u", a, ports[0].proto, ip, ports[0].port));
  for (size_t i = 0; i < k; i++) {
    _cleanup_free_ char *up = env_name(ports[i].proto);
    _cleanup_free_ char *p = xasprintf("%s_PORT_%u_%s", a, ports[i].port, up);
    *env = strv_push_take(*env, xasprintf("%s=%s://%s:%u", p, ports[i].proto, ip, ports[i].port));
    *env = strv_push_take(*env, xasprintf("%s_ADDR=%s", p, ip));
    *env = strv_push_take(*env, xasprintf("%s_PORT=%u", p, ports[i].port));
    *env = strv_push_take(*env, xasprintf("%s_PROTO=%s", p, ports[i].proto));
  }
  size_t i;
  json_array_foreach((json_t *)l->env, i, v) {
    const char *s = json_string_value(v);
    const char *eq = s ? strchr(s, '=') : NULL;
    if (!eq) continue;
    /* Docker leaves out what every image sets */
    if ((eq - s == 4 && strncmp(s, "HOME", 4) == 0) || (eq - s == 4 && strncmp(s, "PATH", 4) == 0)) continue;
    *env = strv_push_take(*env, xasprintf("%s_ENV_%s", a, s));
  }
}
