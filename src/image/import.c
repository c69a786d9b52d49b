/* import.c - `docker import`: a rootfs tarball becomes a one-layer image. The stream is
 * decompressed once into tmp/ while its diff id is computed, extracted into a new storage
 * layer, and only when both are whole are the blobs, layer and image registered */
#define LOG_TAG "image"
#include "image/image_int.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static json_t *history_entry(const char *created, const char *msg) {
  return json_pack("{s:s, s:s}", "created", created, "comment", msg);
}

/* build_config: the image config as Docker's import writes it (image.Image field order) */
static json_t *build_config(json_t *cfg, const char *msg, const char *diff_id) {
  char created[64];
  time_now_rfc3339nano(created, sizeof(created));
  json_t *j = json_object();
  json_object_set_new(j, "comment", json_string(msg));
  json_object_set_new(j, "created", json_string(created));
  json_object_set_new(j, "container_config", image_default_config());
  json_object_set_new(j, "docker_version", json_string("berth-" BERTH_VERSION));
  json_object_set_new(j, "config", json_incref(cfg));
  json_object_set_new(j, "architecture", json_string(image_go_arch()));
  json_object_set_new(j, "os", json_string("linux"));
  json_object_set_new(j, "rootfs", json_pack("{s:s, s:[s]}", "type", "layers", "diff_ids", diff_id));
  json_object_set_new(j, "history", json_pack("[o]", history_entry(created, msg)));
  return j;
}

int image_import(struct image_store *is, int fd, const char *repo_tag, const char *message, char *const *changes,
                 char **out_id, struct berth_error **err) {
  _cleanup_free_ char *tag = NULL;
  if (repo_tag && *repo_tag) {
    int r = image_tag_ref(repo_tag, &tag, err);
    if (r < 0) return r;
  }
  json_auto_t *cfg = image_default_config();
  int r = image_apply_changes(cfg, changes, err);
  if (r < 0) return r;
  _cleanup_image_tmp_ struct image_tmp t = {.fd = -1};
  r = image_tmp_make(is, "import", &t, err);
  if (r < 0) return r;
  char hex[65], diff_id[72];
  r = image_decompress(fd, &t, hex, err);
  if (r < 0) return r;
  snprintf(diff_id, sizeof(diff_id), "sha256:%s", hex);
  int64_t size = 0;
  _cleanup_free_ char *tmp_dir = NULL;
  if (!image_layer_known(is, diff_id, &size)) {
    r = image_extract_layer(is, t.path, NULL, &tmp_dir, &size, err);
    if (r < 0) return r;
  }
  const char *msg = message && *message ? message : "Imported from -";
  json_auto_t *config = build_config(cfg, msg, diff_id);
  _cleanup_free_ char *text = json_dumps(config, JSON_COMPACT);
  /* a base layer: its chain id is its diff id */
  struct store_layer_rec layer = {.chain_id = diff_id, .diff_id = diff_id, .size = size};
  struct image_reg reg = {.tmp_layer_dir = tmp_dir, .new_chain = diff_id, .layer_tar = &t, .new_diff = diff_id,
                          .config_text = text, .layers = &layer, .n_layers = 1, .size = size, .tag = tag};
  return image_register(is, &reg, out_id, err);
}
