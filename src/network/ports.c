/* ports.c - HostConfig.PortBindings / ExposedPorts into a list of port maps, and back into
 * NetworkSettings.Ports as Docker shows it */
#include "common/xalloc.h"
#include "network/net_int.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>

static const char *const proto_names[] = {[PROTO_TCP] = "tcp", [PROTO_UDP] = "udp", [PROTO_SCTP] = "sctp"};

const char *proto_name(int proto) { return proto_names[proto]; }

/* parse_range: "80" or "8000-8010" (1..65535); 0 or -EINVAL */
static int parse_range(const char *s, uint16_t *lo, uint16_t *hi) {
  char *end;
  long a = strtol(s, &end, 10), b = a;
  if (end == s) return -EINVAL;
  if (*end == '-') {
    const char *t = end + 1;
    b = strtol(t, &end, 10);
    if (end == t) return -EINVAL;
  }
  if (*end || a < 1 || a > 65535 || b < a || b > 65535) return -EINVAL;
  *lo = (uint16_t)a;
  *hi = (uint16_t)b;
  return 0;
}

/* parse_key: "80", "80/tcp", "53/udp", "8000-8010/tcp" */
static int parse_key(const char *key, uint16_t *lo, uint16_t *hi, int *proto, struct berth_error **err) {
  _cleanup_free_ char *k = xstrdup(key);
  char *slash = strchr(k, '/');
  *proto = PROTO_TCP;
  if (slash) {
    *slash++ = '\0';
    int found = -1;
    for (size_t i = 0; i < ARRAY_SIZE(proto_names); i++)
      if (strcasecmp(slash, proto_names[i]) == 0) found = (int)i;
    if (found < 0) return berr(err, EINVAL, "invalid proto: %s", slash);
    *proto = found;
  }
  if (parse_range(k, lo, hi) < 0) return berr(err, EINVAL, "invalid containerPort: %s", k);
  return 0;
}

static struct port_map *push(struct port_map **v, size_t *n) {
  *v = xrealloc(*v, (*n + 1) * sizeof(**v));
  struct port_map *p = &(*v)[(*n)++];
  memset(p, 0, sizeof(*p));
  return p;
}

/* add_binding: one {"HostIp","HostPort"} for container ports lo..hi */
static int add_binding(const json_t *b, uint16_t lo, uint16_t hi, int proto, struct port_map **v, size_t *n,
                       struct berth_error **err) {
  const char *hip = json_string_value(json_object_get(b, "HostIp"));
  const char *hport = json_string_value(json_object_get(b, "HostPort"));
  uint32_t ip = 0;
  if (hip && *hip && ip_parse(hip, &ip) < 0) {
    if (strchr(hip, ':')) return berr(err, ENOTSUP, "publishing on the IPv6 address %s is not supported yet", hip);
    return berr(err, EINVAL, "invalid IP address: %s", hip);
  }
  uint16_t hlo = 0, hhi = 0;
  if (hport && *hport && parse_range(hport, &hlo, &hhi) < 0) return berr(err, EINVAL, "invalid hostPort: %s", hport);
  /* "8000-8010:80-90" maps one to one; "8000-8010:80" picks one host port of the range */
  if (hlo && hi > lo && hhi - hlo != hi - lo)
    return berr(err, EINVAL, "invalid ranges specified for container and host Ports: %u-%u and %u-%u", lo, hi, hlo,
                hhi);
  for (uint32_t c = lo; c <= hi; c++) {
    struct port_map *p = push(v, n);
    p->proto = proto;
    p->host_ip = ip;
    p->ctr_port = (uint16_t)c;
    p->host_lo = hlo && hi > lo ? (uint16_t)(hlo + (c - lo)) : hlo;
    p->host_hi = hlo && hi > lo ? p->host_lo : hhi;
  }
  return 0;
}

static bool has_key(const struct port_map *v, size_t n, int proto, uint16_t port) {
  for (size_t i = 0; i < n; i++)
    if (v[i].proto == proto && v[i].ctr_port == port) return true;
  return false;
}

int ports_parse(const json_t *bindings, const json_t *exposed, bool publish_all, struct port_map **out,
                size_t *count, struct berth_error **err) {
  struct port_map *v = NULL;
  size_t n = 0;
  const char *key;
  json_t *val;
  int r = 0;
  json_object_foreach((json_t *)bindings, key, val) {
    uint16_t lo, hi;
    int proto;
    if ((r = parse_key(key, &lo, &hi, &proto, err)) < 0) break;
    size_t i;
    json_t *b;
    json_array_foreach(val, i, b) if ((r = add_binding(b, lo, hi, proto, &v, &n, err)) < 0) break;
    if (r < 0) break;
  }
  /* exposed ports: published on an ephemeral port with -P, else listed with no binding */
  json_object_foreach((json_t *)exposed, key, val) {
    uint16_t lo, hi;
    int proto;
    if (r < 0 || (r = parse_key(key, &lo, &hi, &proto, err)) < 0) break;
    for (uint32_t c = lo; c <= hi; c++) {
      if (has_key(v, n, proto, (uint16_t)c)) continue;
      struct port_map *p = push(&v, &n);
      p->proto = proto;
      p->ctr_port = (uint16_t)c;
      p->exposed_only = !publish_all;
    }
  }
  if (r < 0) {
    free(v);
    return r;
  }
  *out = v;
  *count = n;
  return 0;
}

static int key_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* sorted_keys: the object again with its keys in byte order, as Go encodes a map (jansson keeps
 * insertion order) */
static json_t *sorted_keys(json_t *o) {
  size_t n = json_object_size(o), i = 0;
  const char **keys = xcalloc(n + 1, sizeof(*keys));
  const char *k;
  json_t *v;
  json_object_foreach(o, k, v) keys[i++] = k;
  qsort(keys, n, sizeof(*keys), key_cmp);
  json_t *s = json_object();
  for (i = 0; i < n; i++) json_object_set(s, keys[i], json_object_get(o, keys[i]));
  free(keys);
  json_decref(o);
  return s;
}

json_t *ports_json(const struct port_map *v, size_t n) {
  json_t *o = json_object();
  for (size_t i = 0; i < n; i++) {
    char key[32], hp[8], hip[16];
    snprintf(key, sizeof(key), "%u/%s", v[i].ctr_port, proto_name(v[i].proto));
    json_t *list = json_object_get(o, key);
    if (v[i].exposed_only) {
      if (!list) json_object_set_new(o, key, json_null());
      continue;
    }
    if (!json_is_array(list)) {
      list = json_array();
      json_object_set_new(o, key, list);
    }
    snprintf(hp, sizeof(hp), "%u", v[i].host_port);
    ip_str(v[i].host_ip, hip);
    json_array_append_new(list, json_pack("{s:s, s:s}", "HostIp", hip, "HostPort", hp));
  }
  return sorted_keys(o);
}

json_t *net_ports_summary(const json_t *settings) {
  json_t *out = json_array();
  const char *key;
  json_t *list;
  json_object_foreach(json_object_get(settings, "Ports"), key, list) {
    char proto[8] = "tcp";
    unsigned port = 0;
    if (sscanf(key, "%u/%7s", &port, proto) < 1 || !port) continue;
    if (!json_array_size(list)) {
      json_array_append_new(out, json_pack("{s:i, s:s}", "PrivatePort", port, "Type", proto));
      continue;
    }
    size_t i;
    json_t *b;
    json_array_foreach(list, i, b) {
      const char *hp = json_string_value(json_object_get(b, "HostPort"));
      const char *ip = json_string_value(json_object_get(b, "HostIp"));
      json_array_append_new(out, json_pack("{s:s, s:i, s:i, s:s}", "IP", ip ? ip : "", "PrivatePort", port,
                                           "PublicPort", hp ? atoi(hp) : 0, "Type", proto));
    }
  }
  return out;
}
