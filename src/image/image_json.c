/* image_json.c - GET /images/json (ImageSummary) and GET /images/{name}/json (ImageInspect) in the
 * shape of Engine API v1.41 */
#include "image/image_int.h"
#include "common/strv.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include <errno.h>
#include <string.h>

static json_t *str_array(char *const *v) {
  json_t *a = json_array();
  for (size_t i = 0; v && v[i]; i++) json_array_append_new(a, json_string(v[i]));
  return a;
}

static json_t *get_or(json_t *o, const char *key, json_t *dflt) {
  json_t *v = json_object_get(o, key);
  if (v) {
    json_decref(dflt);
    return json_incref(v);
  }
  return dflt;
}

json_t *image_summary_json(struct store_image *si, json_t *labels) {
  bool untagged = !si->tags || !si->tags[0];
  /* API < 1.43 (Docker 20.10-23): an untagged image is listed as <none>:<none> / <none>@<none> */
  json_t *tags = untagged ? json_pack("[s]", "<none>:<none>") : str_array(si->tags);
  bool undigested = !si->digests || !si->digests[0];
  json_t *digests = !undigested ? str_array(si->digests) : untagged ? json_pack("[s]", "<none>@<none>") : json_array();
  return json_pack("{s:i, s:I, s:s, s:O, s:s, s:o, s:o, s:i, s:I, s:I}", "Containers", -1, "Created",
                   (json_int_t)(si->created_ns / 1000000000), "Id", si->id, "Labels",
                   labels ? labels : json_null(), "ParentId", si->parent ? si->parent : "", "RepoDigests",
                   digests, "RepoTags", tags, "SharedSize", -1, "Size", (json_int_t)si->size, "VirtualSize",
                   (json_int_t)si->size);
}

int image_list_json(struct image_store *is, int all, json_t **out, struct berth_error **err) {
  return image_list_json_filtered(is, all, NULL, out, err);
}

static const char *str_or(json_t *o, const char *key, const char *dflt) {
  const char *s = json_string_value(json_object_get(o, key));
  return s ? s : dflt;
}

static json_t *diff_ids(json_t *config) {
  json_t *ids = json_object_get(json_object_get(config, "rootfs"), "diff_ids");
  return json_is_array(ids) ? json_incref(ids) : json_array();
}

static json_t *inspect(struct image_store *is, struct store_image *si, json_t *config) {
  char tag_time[64] = TIME_ZERO_RFC3339;
  if (si->last_tag_ns > 0) {
    struct timespec ts = {.tv_sec = si->last_tag_ns / 1000000000, .tv_nsec = si->last_tag_ns % 1000000000};
    time_format_rfc3339nano(&ts, tag_time, sizeof(tag_time));
  }
  json_t *j = json_object();
  json_object_set_new(j, "Id", json_string(si->id));
  json_object_set_new(j, "RepoTags", str_array(si->tags));
  json_object_set_new(j, "RepoDigests", str_array(si->digests));
  json_object_set_new(j, "Parent", json_string(si->parent ? si->parent : str_or(config, "parent", "")));
  json_object_set_new(j, "Comment", json_string(str_or(config, "comment", "")));
  json_object_set_new(j, "Created", json_string(str_or(config, "created", TIME_ZERO_RFC3339)));
  json_object_set_new(j, "Container", json_string(str_or(config, "container", "")));
  json_object_set_new(j, "ContainerConfig", get_or(config, "container_config", image_default_config()));
  json_object_set_new(j, "DockerVersion", json_string(str_or(config, "docker_version", "")));
  json_object_set_new(j, "Author", json_string(str_or(config, "author", "")));
  json_object_set_new(j, "Config", get_or(config, "config", json_null()));
  json_object_set_new(j, "Architecture", json_string(str_or(config, "architecture", "")));
  if (json_object_get(config, "variant")) json_object_set_new(j, "Variant", json_string(str_or(config, "variant", "")));
  json_object_set_new(j, "Os", json_string(str_or(config, "os", "linux")));
  if (json_object_get(config, "os.version"))
    json_object_set_new(j, "OsVersion", json_string(str_or(config, "os.version", "")));
  json_object_set_new(j, "Size", json_integer(si->size));
  json_object_set_new(j, "VirtualSize", json_integer(si->size));
  json_object_set_new(j, "GraphDriver", storage_graph_driver_json(is->drv, NULL, si->chain_ids));
  json_object_set_new(j, "RootFS", json_pack("{s:s, s:o}", "Type", "layers", "Layers", diff_ids(config)));
  json_object_set_new(j, "Metadata", json_pack("{s:s}", "LastTagTime", tag_time));
  return j;
}

int image_inspect_json(struct image_store *is, const char *name, json_t **out, struct berth_error **err) {
  struct store_image *si = NULL;
  json_auto_t *config = NULL;
  int r = image_load_record(is, name, &si, &config, err);
  if (r < 0) return r;
  *out = inspect(is, si, config);
  store_image_free(si);
  return 0;
}

/* history_items: one item per history entry, newest first, sizes from the layers they made */
static int history_items(struct image_store *is, struct store_image *si, json_t *config, json_t *arr,
                         struct berth_error **err) {
  size_t layer = 0, i;
  json_t *h;
  json_array_foreach(json_object_get(config, "history"), i, h) {
    int64_t size = 0;
    if (!json_is_true(json_object_get(h, "empty_layer"))) {
      if (!si->chain_ids[layer]) return berr(err, EIO, "image %s: more history entries than layers", si->id);
      int r = store_layer_get(is->st, si->chain_ids[layer++], &size, err);
      if (r < 0) return r;
    }
    struct timespec ts = {0};
    time_parse_rfc3339(str_or(h, "created", TIME_ZERO_RFC3339), &ts);
    json_array_insert_new(arr, 0,
                          json_pack("{s:s, s:I, s:s, s:n, s:I, s:s}", "Id", "<missing>", "Created", (json_int_t)ts.tv_sec,
                                    "CreatedBy", str_or(h, "created_by", ""), "Tags", "Size", (json_int_t)size,
                                    "Comment", str_or(h, "comment", "")));
  }
  return 0;
}

int image_history_json(struct image_store *is, const char *name, json_t **out, struct berth_error **err) {
  struct store_image *si = NULL;
  json_auto_t *config = NULL;
  int r = image_load_record(is, name, &si, &config, err);
  if (r < 0) return r;
  json_t *arr = json_array();
  r = history_items(is, si, config, arr, err);
  /* the newest entries belong to this image and its ancestors: those get ids and tags */
  for (size_t i = 0; r == 0 && si && i < json_array_size(arr); i++) {
    json_t *item = json_array_get(arr, i);
    json_object_set_new(item, "Id", json_string(si->id));
    if (si->tags && si->tags[0]) json_object_set_new(item, "Tags", str_array(si->tags));
    _cleanup_free_ char *parent = si->parent ? xstrdup(si->parent) : NULL;
    store_image_free(si);
    si = NULL;
    _cleanup_berr_ struct berth_error *ignored = NULL;
    if (parent) store_image_get(is->st, parent, &si, &ignored);
  }
  store_image_free(si);
  if (r < 0) {
    json_decref(arr);
    return r;
  }
  *out = arr;
  return 0;
}
