/* h_containers.c - container endpoints: create, list, inspect, start, stop, restart, kill, wait, delete */
#include "common/fs.h"
#include "common/ids.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "daemon/daemon.h"
#include "daemon/health.h"
#include "daemon/volumes.h"
#include "image/image.h"
#include "storage/storage.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <regex.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NAME_RETRIES 10

/* insert_row: the row, retrying generated names that collide */
static int insert_row(struct daemon *d, struct store_container *row, const char *asked, struct berth_error **err) {
  char gen[128];
  for (int retry = 0;; retry++) {
    if (!asked) {
      name_random(gen, sizeof(gen), retry);
      free(row->name);
      row->name = xstrdup(gen);
    }
    char owner[65] = "";
    _cleanup_berr_ struct berth_error *e = NULL;
    int r = store_container_insert(d->store, row, owner, &e);
    if (r == 0) return 0;
    if (r != -EEXIST || !owner[0]) return berr(err, e->code, "%s", berr_msg(e));
    if (asked)
      return berr(err, EEXIST,
                  "Conflict. The container name \"/%s\" is already in use by container \"%s\". You have to remove "
                  "(or rename) that container to be able to reuse that name.",
                  asked, owner);
    if (retry == NAME_RETRIES) return berr(err, EEXIST, "could not generate a unique container name");
  }
}

/* check_network: a user-defined network must exist at create (Docker's 404), not only at start */
static int check_network(struct daemon *d, const json_t *hc, struct berth_error **err) {
  const char *mode = json_string_value(json_object_get(hc, "NetworkMode"));
  if (!mode || !net_mode_user(mode)) return 0;
  _cleanup_free_ char *name = NULL;
  char nid[65];
  bool predefined;
  return net_resolve(d->net, mode, &name, nid, &predefined, err);
}

static int make_container(struct daemon *d, const json_t *body, const char *name, const struct image *img,
                          char id[65], struct berth_error **err) {
  struct ctr_create cc;
  char short_id[BERTH_SHORT_ID_LEN + 1];
  id_random(id);
  memcpy(short_id, id, BERTH_SHORT_ID_LEN);
  short_id[BERTH_SHORT_ID_LEN] = '\0';
  int r = ctr_create_parse(body, json_object_get(img->config, "config"), short_id, &cc, err);
  if (r == 0 && (r = ctr_runtime_check(&d->cfg, cc.host_config, err)) < 0) ctr_create_clear(&cc);
  if (r == 0 && (r = check_network(d, cc.host_config, err)) < 0) ctr_create_clear(&cc);
  if (r < 0) return r;
  struct store_container row = {0};
  memcpy(row.id, id, 65);
  row.name = name ? xstrdup(name) : NULL;
  row.image_id = img->id;
  row.image_ref = (char *)json_string_value(json_object_get(body, "Image"));
  row.created_ns = time_now_ns();
  row.path = cc.path;
  row.args_json = json_dumps(cc.args, JSON_COMPACT);
  row.config_json = json_dumps(cc.config, JSON_COMPACT);
  row.host_config_json = json_dumps(cc.host_config, JSON_COMPACT);
  row.network_json = "{}";
  /* disk first, row last: a crash in between leaves a directory without a row, which restore removes */
  _cleanup_free_ char *dir = ctr_dir(d, id);
  r = mkdir_p(dir, 0710, err);
  if (r == 0) r = storage_container_create(d->storage, dir, img->chain_ids, err);
  if (r == 0) r = vol_ctr_setup(d, id, cc.config, cc.host_config, dir, err);
  if (r == 0) r = insert_row(d, &row, name, err);
  if (r < 0) {
    vol_ctr_forget(d, id, true);
    storage_container_remove(d->storage, dir, NULL);
    rm_rf(dir, NULL);
  }
  free(row.name);
  free(row.args_json);
  free(row.config_json);
  free(row.host_config_json);
  ctr_create_clear(&cc);
  return r;
}

int h_ctr_create(struct req *r, struct reply *out, struct berth_error **err) {
  _cleanup_json_ json_t *body = NULL;
  int rc = req_body_json(r, &body, err);
  if (rc < 0) return rc;
  const char *name = req_query(r, "name");
  if (name && !*name) name = NULL;
  if (name && name[0] == '/') name++;
  if (name && !name_is_valid(name))
    return berr(err, EINVAL, "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name);
  const char *image = json_string_value(json_object_get(body, "Image"));
  if (!json_is_object(body)) return berr(err, EINVAL, "invalid JSON: the body must be an object");
  if (!image || !*image) return berr(err, EINVAL, "Config.Image must be given: no image specified");
  _cleanup_image_ struct image *img = NULL;
  rc = image_get(r->d->images, image, &img, err);
  if (rc < 0) return rc;
  char id[65];
  rc = make_container(r->d, body, name, img, id, err);
  if (rc < 0) return rc;
  events_emit(r->d, "container", "create", id, NULL);
  out->status = 201;
  out->json = json_pack("{s:s, s:[]}", "Id", id, "Warnings");
  return 0;
}

/* port_match: a publish/expose value "80", "80/udp" or "8000-8080/tcp" against one of Ports */
static bool port_match(const char *v, const json_t *port, const char *which) {
  long lo, hi;
  char proto[8] = "tcp";
  int n = sscanf(v, "%ld-%ld/%7s", &lo, &hi, proto);
  if (n < 2) {
    n = sscanf(v, "%ld/%7s", &lo, proto);
    hi = lo;
  }
  if (n < 1) return false;
  json_int_t p = json_integer_value(json_object_get(port, which));
  const char *type = json_string_value(json_object_get(port, "Type"));
  return p != 0 && p >= lo && p <= hi && type && strcmp(type, proto) == 0;
}

/* summary_value_match: one value of network (name or id prefix), volume (name, bind source or
 * destination), publish (host port) or expose (container port) against the ps entry, as moby does */
static bool summary_value_match(const char *key, const char *v, const json_t *sj) {
  const char *k;
  json_t *e;
  size_t i;
  if (strcmp(key, "network") == 0) {
    json_object_foreach(json_object_get(json_object_get(sj, "NetworkSettings"), "Networks"), k, e) {
      const char *nid = json_string_value(json_object_get(e, "NetworkID"));
      if (strcmp(k, v) == 0 || (nid && *v && strncmp(nid, v, strlen(v)) == 0)) return true;
    }
    return false;
  }
  if (strcmp(key, "volume") == 0) {
    json_array_foreach(json_object_get(sj, "Mounts"), i, e) {
      static const char *const fields[] = {"Name", "Source", "Destination"};
      for (size_t f = 0; f < ARRAY_SIZE(fields); f++) {
        const char *s = json_string_value(json_object_get(e, fields[f]));
        if (s && strcmp(s, v) == 0) return true;
      }
    }
    return false;
  }
  json_array_foreach(json_object_get(sj, "Ports"), i, e) {
    if (port_match(v, e, strcmp(key, "publish") == 0 ? "PublicPort" : "PrivatePort")) return true;
  }
  return false;
}

static bool summary_key(const char *key) {
  static const char *const keys[] = {"network", "volume", "publish", "expose"};
  for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
    if (strcmp(key, keys[i]) == 0) return true;
  return false;
}

/* summary_match: the filters that look at the finished ps entry; values of a key are ORed */
static bool summary_match(const json_t *filters, const json_t *sj) {
  const char *key;
  json_t *vals, *v;
  size_t i;
  json_object_foreach((json_t *)filters, key, vals) {
    if (!summary_key(key)) continue;
    bool any = false;
    _cleanup_json_ json_t *list = filter_values(vals);
    json_array_foreach(list, i, v) any = any || (json_string_value(v) && summary_value_match(key, json_string_value(v), sj));
    if (!any) return false;
  }
  return true;
}

/* name_match: moby matches the name filter as a regular expression against "/NAME" and "NAME"
 * (so "^web$", "^/web$" and "web" all work); a bad expression matches only itself */
static bool name_match(const char *pattern, const char *name) {
  _cleanup_free_ char *slashed = xasprintf("/%s", name);
  if (strcmp(pattern, name) == 0 || strcmp(pattern, slashed) == 0) return true;
  regex_t re;
  if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0) return false;
  bool m = regexec(&re, slashed, 0, NULL, 0) == 0 || regexec(&re, name, 0, NULL, 0) == 0;
  regfree(&re);
  return m;
}

/* filter_match: ps filters (status, name, id, label) */
static bool filter_match(const json_t *filters, const struct store_container *c) {
  const char *key;
  json_t *vals;
  json_object_foreach((json_t *)filters, key, vals) {
    bool any = false, every = true;
    const char *v;
    size_t i;
    json_t *jv;
    /* values come as {"running": true} (current) or ["running"] (old clients) */
    json_t *list = json_is_object(vals) ? json_array() : json_incref(vals);
    if (json_is_object(vals)) {
      const char *k;
      json_object_foreach(vals, k, jv) json_array_append_new(list, json_string(k));
    }
    json_array_foreach(list, i, jv) {
      v = json_string_value(jv);
      if (!v) continue;
      if (strcmp(key, "status") == 0) any = any || strcmp(c->status, v) == 0;
      else if (strcmp(key, "name") == 0) any = any || name_match(v, c->name);
      else if (strcmp(key, "id") == 0) any = any || strncmp(c->id, v, strlen(v)) == 0;
      else if (strcmp(key, "health") == 0) any = true; /* health_match: the state is the daemon's */
      else if (strcmp(key, "since") == 0 || strcmp(key, "before") == 0) any = true; /* order_bounds */
      else if (strcmp(key, "ancestor") == 0) any = true;                           /* ancestor_ids */
      else if (summary_key(key)) any = true;                                        /* summary_match */
      else if (strcmp(key, "exited") == 0)
        any = any || (strcmp(c->status, "exited") == 0 && c->exit_code == atoi(v));
      else if (strcmp(key, "label") == 0) {
        json_t *cfg = json_loads(c->config_json, 0, NULL);
        json_t *labels = json_object_get(cfg, "Labels");
        _cleanup_free_ char *k = xstrdup(v);
        char *eq = strchr(k, '=');
        if (eq) *eq++ = '\0';
        const char *have = json_string_value(json_object_get(labels, k));
        bool m = have && (!eq || strcmp(have, eq) == 0);
        any = any || m;
        every = every && m;
        json_decref(cfg);
      }
    }
    json_decref(list);
    /* Docker ORs the values of a key but ANDs labels (compose asks for project AND oneoff=False) */
    if (!any || (strcmp(key, "label") == 0 && !every)) return false;
  }
  return true;
}

/* health_match: the health filter (starting, healthy, unhealthy, none); "(healthy)" in Status */
static bool health_match(struct daemon *d, const json_t *filters, const struct store_container *c) {
  json_t *vals = json_object_get(filters, "health");
  if (!vals) return true;
  const char *have = health_status_name(health_status_of(d, c->id));
  _cleanup_json_ json_t *list = filter_values(vals);
  size_t i;
  json_t *v;
  json_array_foreach(list, i, v) if (json_string_value(v) && strcmp(json_string_value(v), have) == 0) return true;
  return false;
}

/* health_status_suffix: ps shows a running container's health after "Up 5 minutes" (moby State.String) */
static void health_status_suffix(struct daemon *d, const struct store_container *c, json_t *sj) {
  if (strcmp(c->status, "running") != 0) return;
  enum health_status h = health_status_of(d, c->id);
  if (h == HEALTH_NONE) return;
  const char *st = json_string_value(json_object_get(sj, "Status"));
  json_object_set_new(sj, "Status", json_sprintf("%s (%s%s)", st ? st : "", h == HEALTH_STARTING ? "health: " : "",
                                                 health_status_name(h)));
}

/* check_values: the values of the health= and status= filters must be ones Docker knows; its
 * error words differ per filter */
static int check_values(const char *key, const json_t *vals, struct berth_error **err) {
  static const struct {
    const char *key, *names[8];
  } t[] = {
      {"health", {"starting", "healthy", "unhealthy", "none"}},
      {"status", {"created", "restarting", "running", "removing", "paused", "exited", "dead"}},
  };
  size_t i, ti;
  json_t *v;
  for (ti = 0; ti < ARRAY_SIZE(t) && strcmp(t[ti].key, key) != 0; ti++) {}
  if (ti == ARRAY_SIZE(t)) return 0;
  _cleanup_json_ json_t *list = filter_values((json_t *)vals);
  json_array_foreach(list, i, v) {
    const char *s = json_string_value(v);
    bool ok = false;
    for (size_t n = 0; s && n < ARRAY_SIZE(t[ti].names) && t[ti].names[n]; n++)
      ok = ok || strcmp(s, t[ti].names[n]) == 0;
    if (ok) continue;
    if (strcmp(key, "health") == 0) return berr(err, EINVAL, "Unrecognised filter value for health: %s", s ? s : "");
    return berr(err, EINVAL, "Invalid filter '%s=%s'", key, s ? s : "");
  }
  return 0;
}

static int parse_filters(struct req *r, json_t **out, struct berth_error **err) {
  const char *f = req_query(r, "filters");
  *out = NULL;
  if (!f || !*f) return 0;
  json_t *j = json_loads(f, 0, NULL);
  if (!json_is_object(j)) {
    json_decref(j);
    return berr(err, EINVAL, "invalid filter: %s", f);
  }
  static const char *const known[] = {"status", "name", "id", "label", "exited", "health", "before", "since",
                                      "ancestor", "network", "volume", "publish", "expose"};
  static const char *const later[] = {"is-task", "isolation"};
  const char *key;
  json_t *v;
  json_object_foreach(j, key, v) {
    bool ok = false;
    for (size_t i = 0; i < ARRAY_SIZE(later); i++) {
      if (strcmp(key, later[i]) == 0) {
        int rc = berr(err, ENOTSUP, "the '%s' filter is not supported yet", key);
        json_decref(j);
        return rc;
      }
    }
    for (size_t i = 0; i < ARRAY_SIZE(known); i++) ok = ok || strcmp(key, known[i]) == 0;
    if (ok && check_values(key, v, err) < 0) {
      json_decref(j);
      return -EINVAL;
    }
    if (!ok) {
      int rc = berr(err, EINVAL, "invalid filter '%s'", key);
      json_decref(j);
      return rc;
    }
  }
  *out = j;
  return 0;
}

/* filter_last: the last value of a filter (object or list form); moby keeps the last one */
static const char *filter_last(const json_t *vals) {
  const char *k, *last = NULL;
  json_t *v;
  size_t i;
  if (json_is_object(vals)) json_object_foreach((json_t *)vals, k, v) last = k;
  else json_array_foreach(vals, i, v) if (json_string_value(v)) last = json_string_value(v);
  return last;
}

/* order_bounds: since=/before= name a container; ps keeps those created after/before it
 * (0: no bound). An unknown container is Docker's 404 */
static int order_bounds(struct daemon *d, const json_t *filters, int64_t *after_ns, int64_t *before_ns,
                        struct berth_error **err) {
  static const char *const keys[] = {"since", "before"};
  int64_t *outs[] = {after_ns, before_ns};
  for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
    *outs[i] = 0;
    const char *v = filter_last(json_object_get(filters, keys[i]));
    if (!v) continue;
    _cleanup_store_container_ struct store_container *c = NULL;
    int rc = store_container_find(d->store, v, &c, err);
    if (rc < 0) return rc;
    *outs[i] = c->created_ns;
  }
  return 0;
}

/* ancestor_ids: the ids of the ancestor= images and of all their descendants, as moby matches
 * them (an unknown image matches nothing); NULL without the filter */
static int ancestor_ids(struct daemon *d, const json_t *filters, json_t **out, struct berth_error **err) {
  json_t *vals = json_object_get(filters, "ancestor");
  *out = NULL;
  if (!vals) return 0;
  _cleanup_json_ json_t *ids = json_object(), *names = filter_values(vals), *imgs = NULL;
  json_t *v;
  size_t i;
  json_array_foreach(names, i, v) {
    _cleanup_image_ struct image *img = NULL;
    if (json_string_value(v) && image_get(d->images, json_string_value(v), &img, NULL) == 0)
      json_object_set_new(ids, img->id, json_true());
  }
  int rc = image_list_json(d->images, 1, &imgs, err);
  if (rc < 0) return rc;
  /* children until nothing new: parents come before their children in no particular order */
  for (bool grew = json_object_size(ids) > 0; grew;) {
    grew = false;
    json_array_foreach(imgs, i, v) {
      const char *id = json_string_value(json_object_get(v, "Id"));
      const char *parent = json_string_value(json_object_get(v, "ParentId"));
      if (!id || !parent || !*parent || json_object_get(ids, id) || !json_object_get(ids, parent)) continue;
      json_object_set_new(ids, id, json_true());
      grew = true;
    }
  }
  *out = take_ptr(&ids);
  return 0;
}

/* add_sizes: ps -s: SizeRw (the writable layer: overlay's upper, vfs's copy) and SizeRootFs
 * (that plus the image's layers), as Docker's size=1 */
static void add_sizes(struct daemon *d, const struct store_container *c, json_t *sj) {
  int64_t rw = ctr_size_rw(d, c->id), layers = 0;
  _cleanup_image_ struct image *img = NULL;
  if (image_get(d->images, c->image_id, &img, NULL) == 0)
    for (size_t i = 0; img->chain_ids && img->chain_ids[i]; i++) {
      int64_t n = 0;
      if (store_layer_get(d->store, img->chain_ids[i], &n, NULL) == 0) layers += n;
    }
  json_object_set_new(sj, "SizeRw", json_integer(rw));
  json_object_set_new(sj, "SizeRootFs", json_integer(rw + layers));
}

int h_ctr_list(struct req *r, struct reply *out, struct berth_error **err) {
  bool sizes = req_query_bool(r, "size", false);
  _cleanup_json_ json_t *filters = NULL;
  int rc = parse_filters(r, &filters, err);
  if (rc < 0) return rc;
  int64_t after_ns = 0, before_ns = 0;
  if (filters && (rc = order_bounds(r->d, filters, &after_ns, &before_ns, err)) < 0) return rc;
  _cleanup_json_ json_t *ancestors = NULL;
  if (filters && (rc = ancestor_ids(r->d, filters, &ancestors, err)) < 0) return rc;
  bool all = req_query_bool(r, "all", false);
  const char *lim = req_query(r, "limit");
  long limit = lim ? strtol(lim, NULL, 10) : -1;
  if (limit > 0) all = true; /* Docker: -n implies -a */
  struct store_container **list = NULL;
  rc = store_container_list(r->d->store, &list, err);
  if (rc < 0) return rc;
  out->json = json_array();
  int64_t now = time_now_ns();
  for (size_t i = 0; list[i] && (limit <= 0 || (long)json_array_size(out->json) < limit); i++) {
    const char *st = list[i]->status;
    bool up = strcmp(st, "running") == 0 || strcmp(st, "paused") == 0 || strcmp(st, "restarting") == 0;
    if (!all && !up && !(filters && json_object_get(filters, "status"))) continue;
    if ((after_ns && list[i]->created_ns <= after_ns) || (before_ns && list[i]->created_ns >= before_ns)) continue;
    if (ancestors && !json_object_get(ancestors, list[i]->image_id)) continue;
    if (filters && (!filter_match(filters, list[i]) || !health_match(r->d, filters, list[i]))) continue;
    json_t *sj = ctr_summary_json(list[i], now);
    health_status_suffix(r->d, list[i], sj);
    _cleanup_free_ char *cdir = ctr_dir(r->d, list[i]->id);
    json_object_set_new(sj, "Mounts", vol_mounts_json(cdir));
    if (filters && !summary_match(filters, sj)) {
      json_decref(sj);
      continue;
    }
    if (sizes) add_sizes(r->d, list[i], sj);
    json_array_append_new(out->json, sj);
  }
  store_container_list_free(list);
  return 0;
}

int h_ctr_inspect(struct req *r, struct reply *out, struct berth_error **err) {
  _cleanup_store_container_ struct store_container *c = NULL;
  int rc = store_container_find(r->d->store, req_param(r, "id"), &c, err);
  if (rc < 0) return rc;
  out->json = ctr_inspect_json(r->d, c);
  return 0;
}

int h_ctr_start(struct req *r, struct reply *out, struct berth_error **err) {
  const char *ck = req_query(r, "checkpoint");
  if (ck && *ck) return berr(err, ENOTSUP, "checkpoints are not supported yet");
  int rc = ctr_start(r->d, req_param(r, "id"), err);
  if (rc == 0) out->status = 204;
  return rc;
}

/* stop_timeout: ?t=, else the container's StopTimeout, else 10 s */
static int stop_timeout(struct req *r) {
  const char *t = req_query(r, "t");
  if (t && *t) return atoi(t);
  _cleanup_store_container_ struct store_container *c = NULL;
  if (store_container_find(r->d->store, req_param(r, "id"), &c, NULL) == 0) {
    json_t *cfg = json_loads(c->config_json, 0, NULL);
    json_t *st = json_object_get(cfg, "StopTimeout");
    int v = json_is_integer(st) ? (int)json_integer_value(st) : 10;
    json_decref(cfg);
    return v;
  }
  return 10;
}

int h_ctr_stop(struct req *r, struct reply *out, struct berth_error **err) {
  int rc = ctr_stop(r->d, req_param(r, "id"), stop_timeout(r), false, err);
  if (rc == 0) out->status = 204;
  return rc;
}

int h_ctr_restart(struct req *r, struct reply *out, struct berth_error **err) {
  int rc = ctr_stop(r->d, req_param(r, "id"), stop_timeout(r), true, err);
  if (rc == 0) events_emit(r->d, "container", "restart", req_param(r, "id"), NULL);
  if (rc == 0) out->status = 204;
  return rc;
}

int h_ctr_kill(struct req *r, struct reply *out, struct berth_error **err) {
  const char *s = req_query(r, "signal");
  int sig = s && *s ? signal_parse(s) : SIGKILL;
  if (sig < 0) return berr(err, EINVAL, "Invalid signal: %s", s);
  int rc = ctr_kill(r->d, req_param(r, "id"), sig, err);
  if (rc == 0) out->status = 204;
  return rc;
}

int h_ctr_delete(struct req *r, struct reply *out, struct berth_error **err) {
  if (req_query_bool(r, "link", false)) return berr(err, ENOTSUP, "removing links is not supported yet");
  _cleanup_store_container_ struct store_container *c = NULL;
  int rc = store_container_find(r->d->store, req_param(r, "id"), &c, err);
  if (rc == 0) rc = ctr_remove(r->d, c->id, req_query_bool(r, "force", false), err);
  if (rc == 0) vol_ctr_forget(r->d, c->id, req_query_bool(r, "v", false)); /* docker rm -v: anonymous ones too */
  if (rc == 0) out->status = 204;
  return rc;
}

enum wait_cond { WAIT_NOT_RUNNING, WAIT_NEXT_EXIT, WAIT_REMOVED };

static int parse_wait_cond(const char *s, enum wait_cond *out, struct berth_error **err) {
  static const struct {
    const char *name;
    enum wait_cond c;
  } t[] = {{"", WAIT_NOT_RUNNING}, {"not-running", WAIT_NOT_RUNNING}, {"next-exit", WAIT_NEXT_EXIT},
           {"removed", WAIT_REMOVED}};
  for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
    if (strcmp(s ? s : "", t[i].name) == 0) {
      *out = t[i].c;
      return 0;
    }
  }
  return berr(err, EINVAL, "invalid condition: \"%s\"", s);
}

struct waiter {
  struct daemon *d;
  struct ctr_state *st;
  enum wait_cond cond;
  uint64_t seq;
  int code;
  bool sent;
};

/* wait_read: the body is written once the condition holds; the headers went out at once, as
 * Docker does (clients block on them before they start the container) */
static ssize_t wait_read(void *cls, uint64_t pos, char *buf, size_t max) {
  struct waiter *w = cls;
  if (w->sent) return MHD_CONTENT_READER_END_OF_STREAM;
  struct ctr_state *st = w->st;
  pthread_mutex_lock(&st->mu);
  bool done = w->cond == WAIT_NOT_RUNNING && !st->running;
  while (!done && !w->d->stopping) {
    if (w->cond == WAIT_REMOVED) done = st->removed;
    else done = st->exits != w->seq || st->removed;
    if (!done) pthread_cond_wait(&st->cond, &st->mu);
  }
  if (st->exits != w->seq) w->code = st->exit_code;
  pthread_mutex_unlock(&st->mu);
  w->sent = true;
  if (!done) return snprintf(buf, max, "{\"StatusCode\":-1,\"Error\":{\"Message\":\"the daemon is shutting down\"}}\n");
  return snprintf(buf, max, "{\"StatusCode\":%d,\"Error\":null}\n", w->code);
}

static void wait_free(void *cls) {
  struct waiter *w = cls;
  ctr_state_put(w->d->ctrs, w->st);
  free(w);
}

int h_ctr_wait(struct req *r, struct reply *out, struct berth_error **err) {
  enum wait_cond cond = WAIT_NOT_RUNNING;
  int rc = parse_wait_cond(req_query(r, "condition"), &cond, err);
  if (rc < 0) return rc;
  _cleanup_store_container_ struct store_container *c = NULL;
  rc = store_container_find(r->d->store, req_param(r, "id"), &c, err);
  if (rc < 0) return rc;
  struct waiter *w = xcalloc(1, sizeof(*w));
  w->d = r->d;
  w->cond = cond;
  w->code = c->exit_code;
  w->st = ctr_state_get(r->d->ctrs, c->id);
  pthread_mutex_lock(&w->st->mu);
  w->seq = w->st->exits;
  pthread_mutex_unlock(&w->st->mu);
  out->resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 256, wait_read, w, wait_free);
  MHD_add_response_header(out->resp, "Content-Type", "application/json");
  return 0;
}

int h_ctr_rename(struct req *r, struct reply *out, struct berth_error **err) {
  const char *name = req_query(r, "name");
  if (name && name[0] == '/') name++;
  if (!name || !*name) return berr(err, EINVAL, "Neither old nor new names may be empty");
  _cleanup_store_container_ struct store_container *c = NULL;
  int rc = store_container_find(r->d->store, req_param(r, "id"), &c, err); /* first, as moby does */
  if (rc < 0) return rc;
  if (!name_is_valid(name))
    return berr(err, EINVAL, "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name);
  if (strcmp(c->name, name) == 0)
    return berr(err, EINVAL, "Renaming a container with the same name as its current name");
  char owner[65] = "";
  _cleanup_berr_ struct berth_error *e = NULL;
  rc = store_container_rename(r->d->store, c->id, name, owner, &e);
  if (rc == -EEXIST && owner[0])
    return berr(err, EEXIST,
                "Conflict. The container name \"/%s\" is already in use by container \"%s\". You have to remove "
                "(or rename) that container to be able to reuse that name.",
                name, owner);
  if (rc < 0) return berr(err, e->code, "%s", berr_msg(e));
  events_emit(r->d, "container", "rename", c->id, json_pack("{s:s+}", "oldName", "/", c->name));
  out->status = 204;
  return 0;
}
