/* h_networks.c - /networks: list (with filters), inspect, create, remove, connect, disconnect and
 * prune of the predefined and user-defined bridge networks; network events */
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "daemon/daemon.h"
#include "network/network.h"
#include <errno.h>
#include <string.h>

static bool is_predefined(const json_t *n) {
  static const char *const names[] = {"bridge", "host", "none"};
  const char *name = json_string_value(json_object_get(n, "Name")) ?: "";
  for (size_t i = 0; i < ARRAY_SIZE(names); i++)
    if (strcmp(name, names[i]) == 0) return true;
  return false;
}

static int bool_value(const char *key, const char *v, bool *out, struct berth_error **err) {
  if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0) return *out = true, 0;
  if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0) return *out = false, 0;
  return berr(err, EINVAL, "Invalid filter '%s=%s'", key, v);
}

/* one_match: does network n pass the value v of filter key */
static int one_match(const json_t *n, const char *key, const char *v, bool *ok, struct berth_error **err) {
  const char *name = json_string_value(json_object_get(n, "Name")) ?: "";
  const char *id = json_string_value(json_object_get(n, "Id")) ?: "";
  bool b = false;
  int r = 0;
  if (strcmp(key, "name") == 0) *ok = strstr(name, v) != NULL;
  else if (strcmp(key, "id") == 0) *ok = strncmp(id, v, strlen(v)) == 0;
  else if (strcmp(key, "driver") == 0) *ok = strcmp(json_string_value(json_object_get(n, "Driver")) ?: "", v) == 0;
  else if (strcmp(key, "label") == 0) *ok = filter_label_match(json_object_get(n, "Labels"), v);
  else if (strcmp(key, "scope") == 0) *ok = strcmp(v, "local") == 0;
  else if (strcmp(key, "type") == 0) {
    if (strcmp(v, "custom") != 0 && strcmp(v, "builtin") != 0)
      return berr(err, EINVAL, "invalid filter: 'type'='%s'", v);
    *ok = is_predefined(n) == (strcmp(v, "builtin") == 0);
  } else if (strcmp(key, "dangling") == 0) {
    if ((r = bool_value(key, v, &b, err)) < 0) return r;
    bool dangling = !is_predefined(n) && json_object_size(json_object_get(n, "Containers")) == 0;
    *ok = dangling == b;
  } else return berr(err, EINVAL, "Invalid filter '%s'", key);
  return 0;
}

static int match_filters(const json_t *f, const json_t *n, bool *ok, struct berth_error **err) {
  const char *key;
  json_t *vals;
  *ok = true;
  json_object_foreach((json_t *)f, key, vals) {
    _cleanup_json_ json_t *list = filter_values(vals);
    bool any = json_array_size(list) == 0;
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) {
      bool one = false;
      int r = one_match(n, key, json_string_value(v) ?: "", &one, err);
      if (r < 0) return r;
      any |= one;
    }
    if (!any) *ok = false;
  }
  return 0;
}

static int parse_filters(struct req *r, json_t **out, struct berth_error **err) {
  const char *text = req_query(r, "filters");
  *out = text && *text ? json_loads(text, 0, NULL) : json_object();
  if (!json_is_object(*out)) {
    json_decref(*out);
    *out = NULL;
    return berr(err, EINVAL, "invalid filter: %s", text);
  }
  return 0;
}

int h_networks_list(struct req *r, struct reply *out, struct berth_error **err) {
  _cleanup_json_ json_t *f = NULL;
  int rc = parse_filters(r, &f, err);
  if (rc < 0) return rc;
  _cleanup_json_ json_t *all = net_networks_json(r->d->net);
  json_t *keep = json_array();
  size_t i;
  json_t *n;
  json_array_foreach(all, i, n) {
    bool ok = false;
    if ((rc = match_filters(f, n, &ok, err)) < 0) {
      json_decref(keep);
      return rc;
    }
    /* the list leaves the containers out (API 1.28 and later) */
    if (ok) json_array_append(keep, n);
    if (ok) json_object_set_new(n, "Containers", json_object());
  }
  out->json = keep;
  return 0;
}

int h_network_inspect(struct req *r, struct reply *out, struct berth_error **err) {
  return net_network_inspect(r->d->net, req_param(r, "id"), &out->json, err);
}

int h_network_remove(struct req *r, struct reply *out, struct berth_error **err) {
  const char *ref = req_param(r, "id");
  _cleanup_free_ char *name = NULL;
  char id[65];
  int rc = net_remove(r->d->net, ref, &name, id, err);
  if (rc == -ENOENT && !*err) return berr(err, ENOENT, "network %s not found", ref);
  if (rc < 0) return rc;
  events_emit(r->d, "network", "destroy", id, json_pack("{s:s, s:s}", "name", name, "type", "bridge"));
  out->status = 204;
  return 0;
}

int h_network_create(struct req *r, struct reply *out, struct berth_error **err) {
  _cleanup_json_ json_t *body = NULL;
  int rc = req_body_json(r, &body, err);
  if (rc < 0) return rc;
  if (!json_is_object(body)) return berr(err, EINVAL, "invalid JSON: the body must be an object");
  struct net_create c = {
      .name = json_string_value(json_object_get(body, "Name")),
      .driver = json_string_value(json_object_get(body, "Driver")),
      .internal = json_is_true(json_object_get(body, "Internal")),
      .attachable = json_is_true(json_object_get(body, "Attachable")),
      .enable_ipv6 = json_is_true(json_object_get(body, "EnableIPv6")),
      .ipam = json_object_get(body, "IPAM"),
      .options = json_object_get(body, "Options"),
      .labels = json_object_get(body, "Labels"),
  };
  if (json_is_true(json_object_get(body, "Ingress")))
    return berr(err, ENOTSUP, "ingress networks are not supported (no swarm mode)");
  if ((rc = net_create(r->d->net, &c, &out->json, err)) < 0) return rc;
  events_emit(r->d, "network", "create", json_string_value(json_object_get(out->json, "Id")),
              json_pack("{s:s, s:s}", "name", c.name, "type", "bridge"));
  out->status = 201;
  return 0;
}

static int connect_like(struct req *r, bool connect, struct berth_error **err) {
  _cleanup_json_ json_t *body = NULL;
  int rc = req_body_json(r, &body, err);
  if (rc < 0) return rc;
  const char *ctr = json_string_value(json_object_get(body, "Container"));
  if (!ctr || !*ctr) return berr(err, EINVAL, "a container name or id is required");
  return ctr_net_connect(r->d, req_param(r, "id"), ctr, json_object_get(body, "EndpointConfig"), connect,
                         json_is_true(json_object_get(body, "Force")), err);
}

int h_network_connect(struct req *r, struct reply *out, struct berth_error **err) {
  (void)out;
  return connect_like(r, true, err);
}

int h_network_disconnect(struct req *r, struct reply *out, struct berth_error **err) {
  (void)out;
  return connect_like(r, false, err);
}

/* prune_match: until (created before) and label / label! filters of prune */
static int prune_match(const json_t *f, const json_t *n, bool *ok, struct berth_error **err) {
  const char *key;
  json_t *vals;
  *ok = true;
  json_object_foreach((json_t *)f, key, vals) {
    _cleanup_json_ json_t *list = filter_values(vals);
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) {
      const char *s = json_string_value(v) ?: "";
      if (strcmp(key, "until") == 0) {
        int64_t until = 0;
        int rc = events_parse_time(s, &until, err);
        if (rc < 0) return rc;
        struct timespec ts;
        if (time_parse_rfc3339(json_string_value(json_object_get(n, "Created")) ?: "", &ts) == 0 &&
            ts.tv_sec * 1000000000LL + ts.tv_nsec >= until)
          *ok = false;
      } else if (strcmp(key, "label") == 0) {
        if (!filter_label_match(json_object_get(n, "Labels"), s)) *ok = false;
      } else if (strcmp(key, "label!") == 0) {
        if (filter_label_match(json_object_get(n, "Labels"), s)) *ok = false;
      } else {
        return berr(err, EINVAL, "Invalid filter '%s'", key);
      }
    }
  }
  return 0;
}

int h_networks_prune(struct req *r, struct reply *out, struct berth_error **err) {
  _cleanup_json_ json_t *f = NULL;
  int rc = parse_filters(r, &f, err);
  if (rc < 0) return rc;
  _cleanup_json_ json_t *all = net_networks_json(r->d->net);
  json_t *deleted = json_array();
  size_t i;
  json_t *n;
  json_array_foreach(all, i, n) {
    bool ok = false;
    if (is_predefined(n) || json_object_size(json_object_get(n, "Containers"))) continue;
    if ((rc = prune_match(f, n, &ok, err)) < 0) {
      json_decref(deleted);
      return rc;
    }
    const char *id = json_string_value(json_object_get(n, "Id"));
    _cleanup_free_ char *name = NULL;
    char full[65];
    /* one that gained an endpoint meanwhile stays */
    if (!ok || net_remove(r->d->net, id, &name, full, NULL) < 0) continue;
    events_emit(r->d, "network", "destroy", full, json_pack("{s:s, s:s}", "name", name, "type", "bridge"));
    json_array_append_new(deleted, json_string(name));
  }
  out->json = json_pack("{s:o}", "NetworksDeleted", deleted);
  return 0;
}
