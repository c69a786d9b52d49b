/* h_volumes.c - volume endpoints: list, create, inspect, remove, prune */
#include "common/xalloc.h"
#include "daemon/daemon.h"
#include "daemon/volumes.h"
#include <errno.h>
#include <string.h>

/* vol_match: one volume against one filter key (any of its values matches) */
static int vol_match(struct daemon *d, const json_t *vol, const char *key, json_t *vals, bool *ok,
                     struct berth_error **err) {
  _cleanup_json_ json_t *list = filter_values(vals);
  const char *name = json_string_value(json_object_get(vol, "Name"));
  size_t i;
  json_t *jv;
  *ok = false;
  json_array_foreach(list, i, jv) {
    const char *v = json_string_value(jv) ?: "";
    if (strcmp(key, "name") == 0) *ok |= strstr(name, v) != NULL;
    else if (strcmp(key, "driver") == 0) *ok |= strcmp(v, "local") == 0;
    else if (strcmp(key, "label") == 0) *ok |= filter_label_match(json_object_get(vol, "Labels"), v);
    else if (strcmp(key, "dangling") == 0) {
      bool want = strcmp(v, "true") == 0 || strcmp(v, "1") == 0;
      if (!want && strcmp(v, "false") != 0 && strcmp(v, "0") != 0)
        return berr(err, EINVAL, "invalid filter 'dangling=%s'", v);
      int n = vol_users(d, name, err);
      if (n < 0) return n;
      *ok |= (n == 0) == want;
    } else return berr(err, EINVAL, "invalid filter '%s'", key);
  }
  return 0;
}

/* list: filters dangling, name, driver, label (as docker volume ls -f) */
int h_volumes_list(struct req *r, struct reply *out, struct berth_error **err) {
  const char *filters = req_query(r, "filters");
  _cleanup_json_ json_t *f = filters && *filters ? json_loads(filters, 0, NULL) : json_object();
  if (!json_is_object(f)) return berr(err, EINVAL, "invalid filter: %s", filters);
  _cleanup_json_ json_t *list = NULL;
  int rc = vol_list(r->d, &list, err);
  if (rc < 0) return rc;
  json_t *keep = json_array();
  size_t i;
  json_t *vol;
  json_array_foreach(list, i, vol) {
    bool ok = true;
    const char *k;
    json_t *vals;
    json_object_foreach(f, k, vals) {
      if (ok && (rc = vol_match(r->d, vol, k, vals, &ok, err)) < 0) {
        json_decref(keep);
        return rc;
      }
    }
    if (ok) json_array_append(keep, vol);
  }
  out->json = json_pack("{s:o, s:[]}", "Volumes", keep, "Warnings");
  return 0;
}

int h_volumes_create(struct req *r, struct reply *out, struct berth_error **err) {
  _cleanup_json_ json_t *body = NULL;
  int rc = req_body_json(r, &body, err);
  if (rc < 0) return rc;
  const char *driver = json_string_value(json_object_get(body, "Driver"));
  if (driver && *driver && strcmp(driver, "local") != 0)
    return berr(err, ENOTSUP, "volume driver \"%s\" is not supported: only \"local\"", driver);
  json_t *v = NULL;
  rc = vol_create(r->d, json_string_value(json_object_get(body, "Name")), json_object_get(body, "Labels"),
                  json_object_get(body, "DriverOpts"), &v, err);
  if (rc < 0) return rc;
  out->status = 201;
  out->json = v;
  return 0;
}

int h_volume_inspect(struct req *r, struct reply *out, struct berth_error **err) {
  return vol_get(r->d, req_param(r, "name"), &out->json, err);
}

int h_volume_remove(struct req *r, struct reply *out, struct berth_error **err) {
  int rc = vol_remove(r->d, req_param(r, "name"), req_query_bool(r, "force", false), err);
  if (rc == 0) out->status = 204;
  return rc;
}

/* prune: anonymous unused volumes; the filter all=true (API 1.42) takes named ones too; label
 * and label! narrow it */
int h_volumes_prune(struct req *r, struct reply *out, struct berth_error **err) {
  const char *filters = req_query(r, "filters");
  bool all = false;
  _cleanup_json_ json_t *with = NULL, *without = NULL;
  if (filters && *filters) {
    _cleanup_json_ json_t *f = json_loads(filters, 0, NULL);
    if (!json_is_object(f)) return berr(err, EINVAL, "invalid filter: %s", filters);
    const char *k;
    json_t *v;
    json_object_foreach(f, k, v) {
      if (strcmp(k, "all") == 0) {
        _cleanup_free_ char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        all = strstr(text, "true") || strstr(text, "1");
      } else if (strcmp(k, "label") == 0) {
        with = filter_values(v);
      } else if (strcmp(k, "label!") == 0) {
        without = filter_values(v);
      } else {
        return berr(err, EINVAL, "invalid filter '%s'", k);
      }
    }
  }
  return vol_prune(r->d, all, with, without, &out->json, err);
}
