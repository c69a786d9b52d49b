/* h_prune.c - disk usage and cleanup: GET /system/df and POST /containers/prune (filters until=,
 * label=, label!=) */
#include "common/fs.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "daemon/daemon.h"
#include "image/image.h"
#include "common/strv.h"
#include "store/store_image.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int64_t ctr_size_rw(struct daemon *d, const char *id) {
  _cleanup_free_ char *dir = ctr_dir(d, id);
  static const char *const names[] = {"upper", "diff"}; /* overlay: upper; vfs: its whole copy */
  for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
    _cleanup_free_ char *p = path_join(dir, names[i]);
    if (access(p, F_OK) == 0) return fs_tree_size(p);
  }
  return 0;
}

static bool ctr_stopped(const struct store_container *c) {
  static const char *const states[] = {"created", "exited", "dead"};
  for (size_t i = 0; i < ARRAY_SIZE(states); i++)
    if (strcmp(c->status, states[i]) == 0) return true;
  return false;
}

/* ctr_passes: the container's creation time and Config.Labels pass the prune filter */
static bool ctr_passes(const struct image_prune_filter *pf, const struct store_container *c) {
  json_auto_t *cfg = json_loads(c->config_json, 0, NULL);
  return image_prune_filter_match(pf, c->created_ns, json_object_get(cfg, "Labels"));
}

int h_ctrs_prune(struct req *r, struct reply *out, struct berth_error **err) {
  const char *f = req_query(r, "filters");
  _cleanup_json_ json_t *filters = f && *f ? json_loads(f, 0, NULL) : json_object();
  if (!json_is_object(filters)) return berr(err, EINVAL, "invalid filter: %s", f);
  struct image_prune_filter pf;
  int rc = image_prune_filter_parse(filters, false, &pf, err);
  struct store_container **list = NULL;
  if (rc == 0) rc = store_container_list(r->d->store, &list, err);
  if (rc < 0) {
    image_prune_filter_clear(&pf);
    return rc;
  }
  json_t *deleted = json_array();
  int64_t reclaimed = 0;
  for (size_t i = 0; list[i]; i++) {
    if (!ctr_stopped(list[i]) || !ctr_passes(&pf, list[i])) continue;
    int64_t size = ctr_size_rw(r->d, list[i]->id);
    _cleanup_berr_ struct berth_error *e = NULL;
    if (ctr_remove(r->d, list[i]->id, false, &e) < 0) continue; /* started meanwhile: kept */
    json_array_append_new(deleted, json_string(list[i]->id));
    reclaimed += size;
  }
  store_container_list_free(list);
  image_prune_filter_clear(&pf);
  /* Docker's "container prune" event: no actor id, the bytes reclaimed as an attribute */
  char rec[32];
  snprintf(rec, sizeof(rec), "%lld", (long long)reclaimed);
  events_emit(r->d, "container", "prune", "", json_pack("{s:s}", "reclaimed", rec));
  out->json = json_pack("{s:o, s:I}", "ContainersDeleted",
                        json_array_size(deleted) ? deleted : (json_decref(deleted), json_null()), "SpaceReclaimed",
                        (json_int_t)reclaimed);
  return 0;
}

/* df_containers: GET /containers/json?all=1&size=1 entries; counts each image's users in uses */
static json_t *df_containers(struct daemon *d, json_t *uses, struct berth_error **err) {
  struct store_container **list = NULL;
  if (store_container_list(d->store, &list, err) < 0) return NULL;
  json_t *arr = json_array();
  int64_t now = time_now_ns();
  for (size_t i = 0; list[i]; i++) {
    json_t *sj = ctr_summary_json(list[i], now);
    json_object_set_new(sj, "SizeRw", json_integer(ctr_size_rw(d, list[i]->id)));
    json_object_set_new(sj, "SizeRootFs", json_integer(0));
    json_object_set_new(sj, "Mounts", json_array());
    json_array_append_new(arr, sj);
    json_t *n = json_object_get(uses, list[i]->image_id);
    json_object_set_new(uses, list[i]->image_id, json_integer(n ? json_integer_value(n) + 1 : 1));
  }
  store_container_list_free(list);
  return arr;
}

/* layers_size: every layer once, however many images share it */
static int64_t layers_size(struct daemon *d) {
  _cleanup_strv_ char **ids = NULL;
  if (store_layer_ids(d->store, &ids, NULL) < 0) return 0;
  int64_t total = 0;
  for (size_t i = 0; ids && ids[i]; i++) {
    int64_t size = 0;
    if (store_layer_get(d->store, ids[i], &size, NULL) == 0) total += size;
  }
  return total;
}

/* shared_sizes: {image id: bytes of its layers that other images use too} (Docker's SharedSize) */
static json_t *shared_sizes(struct daemon *d) {
  json_t *out = json_object();
  struct store_image **v = NULL;
  if (store_image_list(d->store, &v, NULL) < 0) return out;
  json_auto_t *users = json_object();
  for (size_t i = 0; v[i]; i++)
    for (size_t k = 0; v[i]->chain_ids && v[i]->chain_ids[k]; k++) {
      json_t *n = json_object_get(users, v[i]->chain_ids[k]);
      json_object_set_new(users, v[i]->chain_ids[k], json_integer(n ? json_integer_value(n) + 1 : 1));
    }
  for (size_t i = 0; v[i]; i++) {
    int64_t shared = 0;
    for (size_t k = 0; v[i]->chain_ids && v[i]->chain_ids[k]; k++) {
      int64_t size = 0;
      if (json_integer_value(json_object_get(users, v[i]->chain_ids[k])) > 1 &&
          store_layer_get(d->store, v[i]->chain_ids[k], &size, NULL) == 0)
        shared += size;
    }
    json_object_set_new(out, v[i]->id, json_integer(shared));
  }
  store_image_list_free(v);
  return out;
}

int h_system_df(struct req *r, struct reply *out, struct berth_error **err) {
  _cleanup_json_ json_t *uses = json_object();
  json_t *ctrs = df_containers(r->d, uses, err);
  if (!ctrs) return -EIO;
  json_t *imgs = NULL;
  int rc = image_list_json(r->d->images, 0, &imgs, err);
  if (rc < 0) {
    json_decref(ctrs);
    return rc;
  }
  size_t i;
  json_t *img;
  json_auto_t *shared = shared_sizes(r->d);
  json_array_foreach(imgs, i, img) {
    const char *id = json_string_value(json_object_get(img, "Id"));
    json_t *n = json_object_get(uses, id);
    json_object_set_new(img, "Containers", json_integer(n ? json_integer_value(n) : 0));
    json_object_set_new(img, "SharedSize", json_integer(json_integer_value(json_object_get(shared, id))));
  }
  int64_t layers = layers_size(r->d);
  json_array_foreach(ctrs, i, img) {
    json_t *sz = json_object_get(img, "SizeRw");
    json_object_set_new(img, "SizeRootFs", json_integer(json_integer_value(sz)));
  }
  out->json = json_pack("{s:I, s:o, s:o, s:[], s:[]}", "LayersSize", (json_int_t)layers, "Images", imgs,
                        "Containers", ctrs, "Volumes", "BuildCache");
  return 0;
}

int h_build_prune(struct req *r, struct reply *out, struct berth_error **err) {
  out->json = json_pack("{s:[], s:i}", "CachesDeleted", "SpaceReclaimed", 0);
  return 0;
}
