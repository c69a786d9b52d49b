/* commit.c - a container's changes become a new image (docker commit, and each build step):
 * the changes are written as a tar (digested on the way: the diff id), applied as a new layer
 * over the parent's chain, and registered with the child config; also `docker export` */
#define LOG_TAG "image"
#include "image/image_int.h"
#include "common/buf.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/strv.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include <errno.h>
#include <fcntl.h>
#include <nettle/sha2.h>
#include <string.h>
#include <unistd.h>

struct sink {
  int fd;
  struct sha256_ctx *md; /* or NULL */
  int err;
};

static la_ssize_t sink_write(struct archive *a, void *cls, const void *buf, size_t n) {
  struct sink *s = cls;
  int r = write_all(s->fd, buf, n);
  if (r < 0) {
    s->err = -r;
    archive_set_error(a, -r, "write: %s", strerror(-r));
    return -1;
  }
  if (s->md) sha256_update(s->md, n, buf);
  return (la_ssize_t)n;
}

static struct archive *tar_writer(struct sink *s) {
  struct archive *w = archive_write_new();
  archive_write_set_format_pax_restricted(w);
  archive_write_add_filter_none(w);
  /* no blocking: data goes straight to the sink (no copy into 10 kB blocks, no padding beyond the
   * two end blocks; the same bytes as blocked output with a last block of 1) */
  archive_write_set_bytes_per_block(w, 0);
  if (archive_write_open2(w, s, NULL, sink_write, NULL, NULL) != ARCHIVE_OK) {
    archive_write_free(w);
    return NULL;
  }
  return w;
}

int image_export_dir(const char *dir, int out_fd, struct berth_error **err) {
  _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return berr_sys(err, errno, "open \"%s\"", dir);
  struct sink s = {.fd = out_fd};
  _cleanup_archive_write_ struct archive *w = tar_writer(&s);
  if (!w) return berr(err, EIO, "start tar stream");
  int r = tar_write_tree(w, dfd, err);
  if (r == 0 && archive_write_close(w) != ARCHIVE_OK)
    r = berr(err, s.err ? s.err : EIO, "finish tar stream: %s", archive_error_string(w));
  return r;
}

/* changes_tar: the container's changes as a tar in t; its sha256 in diff_id */
static int changes_tar(struct image_store *is, const struct image_commit_opts *o, char *const *chain_ids,
                       struct image_tmp *t, char diff_id[72], struct berth_error **err) {
  struct layer_change *ch = NULL;
  size_t n = 0;
  _cleanup_free_ char *root = NULL;
  int r = layer_changes(is, o->ctr_dir, chain_ids, &ch, &n, &root, err);
  if (r < 0) return r;
  _cleanup_close_ int rfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  struct sha256_ctx md;
  sha256_init(&md);
  struct sink s = {.fd = t->fd, .md = &md};
  struct archive *w = rfd >= 0 ? tar_writer(&s) : NULL;
  if (rfd < 0) r = berr_sys(err, errno, "open \"%s\"", root);
  else if (!w) r = berr(err, EIO, "start tar stream");
  if (r == 0) r = tar_write_changes(w, rfd, ch, n, err);
  if (r == 0 && archive_write_close(w) != ARCHIVE_OK)
    r = berr(err, s.err ? s.err : EIO, "write layer tar: %s", archive_error_string(w));
  if (w) archive_write_free(w);
  layer_changes_free(ch, n);
  if (r < 0) return r;
  uint8_t d[SHA256_DIGEST_SIZE];
  sha256_digest(&md, sizeof(d), d);
  strcpy(diff_id, "sha256:");
  image_hex(d, sizeof(d), diff_id + 7);
  return 0;
}

static char *joined_cmd(json_t *config) {
  json_t *cmd = json_object_get(config, "Cmd");
  size_t i;
  json_t *x;
  struct buf b = {0};
  json_array_foreach(cmd, i, x) {
    if (i) buf_putc(&b, ' ');
    buf_puts(&b, json_string_value(x) ? json_string_value(x) : "");
  }
  return b.p ? buf_steal(&b) : xstrdup("");
}

/* child_config: Docker's image.NewChildImage: the parent's rootfs and history plus this step */
static json_t *child_config(const struct image_commit_opts *o, json_t *parent, json_t *cfg, json_t *ctr_cfg,
                            const char *diff_id) {
  char created[64];
  time_now_rfc3339nano(created, sizeof(created));
  json_t *j = json_object();
  if (o->comment && *o->comment) json_object_set_new(j, "comment", json_string(o->comment));
  json_object_set_new(j, "created", json_string(created));
  if (o->container_id) json_object_set_new(j, "container", json_string(o->container_id));
  json_object_set_new(j, "container_config", json_incref(ctr_cfg));
  json_object_set_new(j, "docker_version", json_string("berth-" BERTH_VERSION));
  if (o->author && *o->author) json_object_set_new(j, "author", json_string(o->author));
  json_object_set_new(j, "config", json_incref(cfg));
  json_t *arch = json_object_get(parent, "architecture");
  json_object_set_new(j, "architecture", arch ? json_incref(arch) : json_string(image_go_arch()));
  json_object_set_new(j, "os", json_string("linux"));
  json_t *diffs = json_object_get(json_object_get(parent, "rootfs"), "diff_ids");
  diffs = json_is_array(diffs) ? json_copy(diffs) : json_array();
  if (diff_id) json_array_append_new(diffs, json_string(diff_id));
  json_object_set_new(j, "rootfs", json_pack("{s:s, s:o}", "type", "layers", "diff_ids", diffs));
  json_t *hist = json_object_get(parent, "history");
  hist = json_is_array(hist) ? json_copy(hist) : json_array();
  json_t *h = json_pack("{s:s}", "created", created);
  if (o->author && *o->author) json_object_set_new(h, "author", json_string(o->author));
  _cleanup_free_ char *by = o->created_by ? xstrdup(o->created_by) : joined_cmd(ctr_cfg);
  if (*by) json_object_set_new(h, "created_by", json_string(by));
  if (o->comment && *o->comment) json_object_set_new(h, "comment", json_string(o->comment));
  if (!diff_id) json_object_set_new(h, "empty_layer", json_true());
  json_array_append_new(hist, h);
  json_object_set_new(j, "history", hist);
  return j;
}

/* layer_recs: rows for the parent's layers plus the new one */
static int layer_recs(struct image_store *is, char *const *chains, json_t *diffs, struct store_layer_rec *recs,
                      int64_t *total, struct berth_error **err) {
  size_t n = strv_len(chains);
  for (size_t i = 0; i < n; i++) {
    int64_t size = 0;
    int r = store_layer_get(is->st, chains[i], &size, err);
    if (r < 0) return r;
    recs[i] = (struct store_layer_rec){chains[i], json_string_value(json_array_get(diffs, i)), i ? chains[i - 1] : NULL,
                                       size};
    if (!recs[i].diff_id) return berr(err, EIO, "parent image config lacks diff id %zu", i);
    *total += size;
  }
  return 0;
}

static int commit_with(struct image_store *is, const struct image_commit_opts *o, struct image *parent,
                       const char *tag, char **out_id, struct berth_error **err) {
  char *const *chains = parent ? parent->chain_ids : (char *const[]){NULL};
  size_t n = strv_len(chains);
  json_t *pcfg = parent ? parent->config : NULL;
  json_t *base = o->config ? o->config : json_object_get(pcfg, "config");
  json_auto_t *ctr_cfg = base ? json_deep_copy(base) : image_default_config();
  json_auto_t *cfg = json_deep_copy(ctr_cfg);
  int r = image_apply_changes(cfg, o->changes, err);
  if (r < 0) return r;
  _cleanup_image_tmp_ struct image_tmp t = {.fd = -1};
  char diff_id[72] = "", chain[72] = "";
  int64_t size = 0;
  _cleanup_free_ char *tmp_dir = NULL;
  if (o->ctr_dir) {
    r = image_tmp_make(is, "commit", &t, err);
    if (r == 0) r = changes_tar(is, o, chains, &t, diff_id, err);
    if (r < 0) return berr_prefix(err, "commit");
    image_chain_id(n ? chains[n - 1] : NULL, diff_id, chain);
    if (!image_layer_known(is, chain, &size)) {
      r = image_extract_layer(is, t.path, n ? chains[n - 1] : NULL, &tmp_dir, &size, err);
      if (r < 0) return r;
    }
  }
  json_auto_t *config = child_config(o, pcfg, cfg, ctr_cfg, o->ctr_dir ? diff_id : NULL);
  _cleanup_free_ char *text = json_dumps(config, JSON_COMPACT);
  struct store_layer_rec *recs = xcalloc(n + 1, sizeof(*recs));
  int64_t total = 0;
  json_t *diffs = json_object_get(json_object_get(config, "rootfs"), "diff_ids");
  r = layer_recs(is, chains, diffs, recs, &total, err);
  if (r == 0 && o->ctr_dir) {
    recs[n] = (struct store_layer_rec){chain, diff_id, n ? chains[n - 1] : NULL, size};
    total += size;
  }
  struct image_reg reg = {.tmp_layer_dir = tmp_dir, .new_chain = chain, .layer_tar = o->ctr_dir ? &t : NULL,
                          .new_diff = diff_id, .config_text = text, .layers = recs,
                          .n_layers = n + (o->ctr_dir ? 1 : 0), .size = total,
                          .parent = parent ? parent->id : NULL, .tag = tag};
  if (r == 0) r = image_register(is, &reg, out_id, err);
  else if (tmp_dir) storage_layer_abort(is->drv, tmp_dir);
  free(recs);
  return r;
}

int image_commit(struct image_store *is, const struct image_commit_opts *o, char **out_id, struct berth_error **err) {
  _cleanup_free_ char *tag = NULL;
  if (o->repo_tag && *o->repo_tag) {
    int r = image_tag_ref(o->repo_tag, &tag, err);
    if (r < 0) return r;
  }
  _cleanup_image_ struct image *parent = NULL;
  if (o->parent_id) {
    int r = image_get(is, o->parent_id, &parent, err);
    if (r < 0) return r;
  }
  return commit_with(is, o, parent, tag, out_id, err);
}
