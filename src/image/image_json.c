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

static json_t *summary(struct store_image *si, json_t *config) {
  json_t *labels = json_object_get(json_object_get(config, "config"), "Labels");
  bool untagged = !si->tags || !si->tags[0];
  /* API < 1.43 (Docker 20.10-23): an untagged image is listed as <none>:<none> / <none>@<none> */
  json_t *tags = untagged ? json_pack("[s]", "<none>:<none>") : str_array(si->tags);
  json_t *digests = untagged ? json_pack("[s]", "<none>@<none>") : json_array();
  return json_pack("{s:i, s:I, s:s, s:O, s:s, s:o, s:o, s:i, s:I, s:I}", "Containers", -1, "Created",
                   (json_int_t)(si->created_ns / 1000000000), "Id", si->id, "Labels",
                   labels ? labels : json_null(), "ParentId", si->parent ? si->parent : "", "RepoDigests",
                   digests, "RepoTags", tags, "SharedSize", -1, "Size", (json_int_t)si->size, "VirtualSize",
                   (json_int_t)si->size);
}

int image_list_json(struct image_store *is, int all, json_t **out, struct berth_error **err) {
  struct store_image **v = NULL;
  int r = store_image_list(is->st, &v, err);
  if (r < 0) return r;
  json_t *arr = json_array();
  for (size_t i = 0; v[i] && r == 0; i++) {
    if (!all && (!v[i]->tags || !v[i]->tags[0])) {
      /* untagged images that are parents of others are intermediate layers: hidden without all */
      int64_t children = 0;
      r = store_image_children(is->st, v[i]->id, &children, err);
      if (r < 0 || children > 0) continue;
    }
    json_auto_t *config = json_loads(v[i]->config, 0, NULL);
    json_array_append_new(arr, summary(v[i], config));
  }
  store_image_list_free(v);
  if (r < 0) {
    json_decref(arr);
    return r;
  }
  *out = arr;
  return 0;
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
  json_object_set_new(j, "RepoDigests", json_array());
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
  _cleanup_free_ char *id = NULL;
  int r = image_resolve(is, name, &id, err);
  if (r < 0) return r;
  struct store_image *si = NULL;
  r = store_image_get(is->st, id, &si, err);
  if (r < 0) return r;
  json_error_t jerr;
  json_auto_t *config = json_loads(si->config, 0, &jerr);
  if (!config) {
    store_image_free(si);
    return berr(err, EIO, "image %s: stored config is not JSON: %s", id, jerr.text);
  }
  *out = inspect(is, si, config);
  store_image_free(si);
  return 0;
}
