/* save_load.c - `docker save` and `docker load`: images as a tar of manifest.json, configs and
 * layer tars (Docker's format; load also takes the OCI-layout archives newer Docker writes,
 * whose manifest.json names blobs/sha256/... paths) */
#define LOG_TAG "image"
#include "image/image_int.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/strv.h"
#include "common/syscalls.h"
#include "common/xalloc.h"
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CONFIG_MAX (16u << 20)

/* ---------- save ---------- */

static la_ssize_t fd_write(struct archive *a, void *cls, const void *buf, size_t n) {
  int r = write_all(*(int *)cls, buf, n);
  if (r < 0) {
    archive_set_error(a, -r, "write: %s", strerror(-r));
    return -1;
  }
  return (la_ssize_t)n;
}

static int put_member(struct archive *w, const char *name, const void *data, size_t n, int src_fd,
                      struct berth_error **err) {
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, name);
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  archive_entry_set_size(e, (la_int64_t)n);
  archive_entry_set_mtime(e, 0, 0);
  int r = archive_write_header(w, e) < ARCHIVE_WARN ? berr(err, EIO, "save: %s", archive_error_string(w)) : 0;
  archive_entry_free(e);
  if (r < 0) return r;
  if (data) return archive_write_data(w, data, n) == (la_ssize_t)n ? 0 : berr(err, EIO, "save: %s", archive_error_string(w));
  char buf[65536];
  for (;;) {
    ssize_t got = read(src_fd, buf, sizeof(buf));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return berr_sys(err, errno, "save: read layer");
    if (got == 0) return 0;
    if (archive_write_data(w, buf, (size_t)got) != got) return berr(err, EIO, "save: %s", archive_error_string(w));
  }
}

static int put_dir(struct archive *w, const char *name, struct berth_error **err) {
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, name);
  archive_entry_set_filetype(e, AE_IFDIR);
  archive_entry_set_perm(e, 0755);
  archive_entry_set_mtime(e, 0, 0);
  int r = archive_write_header(w, e) < ARCHIVE_WARN ? berr(err, EIO, "save: %s", archive_error_string(w)) : 0;
  archive_entry_free(e);
  return r;
}

/* save_layer: <chain hex>/{VERSION,json,layer.tar} from the layer's blob (once per archive) */
static int save_layer(struct image_store *is, struct archive *w, const char *chain, const char *diff,
                      const char *parent_chain, json_t *written, struct berth_error **err) {
  if (json_object_get(written, chain)) return 0;
  json_object_set_new(written, chain, json_true());
  _cleanup_free_ char *blob = path_join(is->blobs, diff + 7);
  _cleanup_close_ int fd = open(blob, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return berr_sys(err, errno, "save: layer %s has no tar blob", diff);
  struct stat st;
  if (fstat(fd, &st) < 0) return berr_sys(err, errno, "stat \"%s\"", blob);
  _cleanup_free_ char *dir = xasprintf("%s/", chain + 7);
  _cleanup_free_ char *ver = xasprintf("%sVERSION", dir);
  _cleanup_free_ char *js = xasprintf("%sjson", dir);
  _cleanup_free_ char *tar = xasprintf("%slayer.tar", dir);
  json_auto_t *v1 = json_pack("{s:s}", "id", chain + 7);
  if (parent_chain) json_object_set_new(v1, "parent", json_string(parent_chain + 7));
  _cleanup_free_ char *v1s = json_dumps(v1, JSON_COMPACT);
  int r = put_dir(w, dir, err);
  if (r == 0) r = put_member(w, ver, "1.0", 3, -1, err);
  if (r == 0) r = put_member(w, js, v1s, strlen(v1s), -1, err);
  if (r == 0) r = put_member(w, tar, NULL, (size_t)st.st_size, fd, err);
  return r;
}

static int save_one(struct image_store *is, struct archive *w, const char *name, json_t *manifest, json_t *repos,
                    json_t *written, struct berth_error **err) {
  _cleanup_image_ struct image *img = NULL;
  int r = image_get(is, name, &img, err);
  if (r < 0) return r;
  json_t *diffs = json_object_get(json_object_get(img->config, "rootfs"), "diff_ids");
  _cleanup_free_ char *cfg_name = xasprintf("%s.json", img->id + 7);
  json_t *entry = NULL, *x;
  size_t k;
  json_array_foreach(manifest, k, x) if (strcmp(json_string_value(json_object_get(x, "Config")), cfg_name) == 0) entry = x;
  json_t *layers = entry ? NULL : json_array(); /* an image named twice is one entry with both tags */
  if (!entry) {
    entry = json_pack("{s:s, s:[], s:o}", "Config", cfg_name, "RepoTags", "Layers", layers);
    json_array_append_new(manifest, entry);
  }
  for (size_t i = 0; layers && img->chain_ids[i] && r == 0; i++) {
    const char *diff = json_string_value(json_array_get(diffs, i));
    if (!diff) return berr(err, EIO, "image %s: config lacks diff id %zu", img->id, i);
    r = save_layer(is, w, img->chain_ids[i], diff, i ? img->chain_ids[i - 1] : NULL, written, err);
    json_array_append_new(layers, json_sprintf("%s/layer.tar", img->chain_ids[i] + 7));
  }
  if (r < 0) return r;
  _cleanup_free_ char *ref = NULL;
  _cleanup_berr_ struct berth_error *ignored = NULL;
  bool by_ref = strncmp(name, "sha256:", 7) != 0 && strncmp(img->id + 7, name, strlen(name)) != 0 &&
                reference_normalize(name, &ref, &ignored) == 0;
  if (by_ref) { /* a name saves that tag; an id saves the image untagged, like Docker */
    json_array_append_new(json_object_get(entry, "RepoTags"), json_string(ref));
    char *colon = strrchr(ref, ':');
    *colon = '\0';
    json_t *repo = json_object_get(repos, ref);
    if (!repo) json_object_set_new(repos, ref, repo = json_object());
    size_t n = strv_len(img->chain_ids);
    if (n) json_object_set_new(repo, colon + 1, json_string(img->chain_ids[n - 1] + 7));
  }
  if (json_object_get(written, cfg_name)) return 0;
  json_object_set_new(written, cfg_name, json_true());
  _cleanup_free_ char *blob = path_join(is->blobs, img->id + 7);
  _cleanup_free_ char *text = NULL;
  size_t len = 0;
  r = read_file(blob, &text, &len, err); /* the exact bytes: their digest is the image id */
  return r < 0 ? r : put_member(w, cfg_name, text, len, -1, err);
}

int image_save(struct image_store *is, char *const *names, int out_fd, struct berth_error **err) {
  if (!names || !names[0]) return berr(err, EINVAL, "no image to save");
  _cleanup_archive_write_ struct archive *w = archive_write_new();
  archive_write_set_format_pax_restricted(w);
  archive_write_add_filter_none(w);
  archive_write_set_bytes_in_last_block(w, 1);
  if (archive_write_open2(w, &out_fd, NULL, fd_write, NULL, NULL) != ARCHIVE_OK)
    return berr(err, EIO, "save: %s", archive_error_string(w));
  json_auto_t *manifest = json_array();
  json_auto_t *repos = json_object();
  json_auto_t *written = json_object();
  int r = 0;
  for (size_t i = 0; names[i] && r == 0; i++) r = save_one(is, w, names[i], manifest, repos, written, err);
  _cleanup_free_ char *m = r == 0 ? json_dumps(manifest, JSON_COMPACT) : NULL;
  if (r == 0) r = put_member(w, "manifest.json", m, strlen(m), -1, err);
  _cleanup_free_ char *rp = r == 0 && json_object_size(repos) ? json_dumps(repos, JSON_COMPACT) : NULL;
  if (r == 0 && rp) r = put_member(w, "repositories", rp, strlen(rp), -1, err);
  if (r == 0 && archive_write_close(w) != ARCHIVE_OK) r = berr(err, EIO, "save: %s", archive_error_string(w));
  return r;
}

/* ---------- load ---------- */

/* open_member: a file of the unpacked archive, never outside it */
static int open_member(int dirfd, const char *path, struct berth_error **err) {
  struct open_how how = {.flags = O_RDONLY | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
  int fd = sys_openat2(dirfd, path, &how);
  if (fd < 0) return berr_sys(err, errno, "load: archive member \"%s\"", path);
  return fd;
}

static int unpack(struct image_store *is, int in_fd, char **dir, int *dirfd, struct berth_error **err) {
  *dir = xasprintf("%s/load-XXXXXX", is->tmp);
  if (!mkdtemp(*dir)) return berr_sys(err, errno, "mkdtemp \"%s\"", *dir);
  *dirfd = open(*dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (*dirfd < 0) return berr_sys(err, errno, "open \"%s\"", *dir);
  _cleanup_archive_read_ struct archive *a = archive_read_new();
  archive_read_support_filter_all(a);
  archive_read_support_format_tar(a);
  if (archive_read_open_fd(a, in_fd, 65536) != ARCHIVE_OK)
    return berr(err, EINVAL, "load: %s", archive_error_string(a));
  /* the same contained extraction as for layers: an archive cannot write outside tmp/load-* */
  int r = layer_apply_tar(*dirfd, a, LAYER_WHITEOUT_DELETE, NULL, err);
  return r < 0 ? berr_prefix(err, "load") : 0;
}

/* load_layer: member path as layer number i over parent; its diff id must be the config's */
static int load_layer(struct image_store *is, int dirfd, const char *path, const char *want_diff, const char *parent,
                      char chain[72], int64_t *size, struct berth_error **err) {
  _cleanup_close_ int fd = open_member(dirfd, path, err);
  if (fd < 0) return fd;
  _cleanup_image_tmp_ struct image_tmp t = {.fd = -1};
  int r = image_tmp_make(is, "layer", &t, err);
  char hex[65];
  if (r == 0) r = image_decompress(fd, &t, hex, err);
  if (r < 0) return r;
  if (strncmp(want_diff, "sha256:", 7) != 0 || strcmp(want_diff + 7, hex) != 0)
    return berr(err, EINVAL, "load: layer \"%s\" has diff id sha256:%s, the config says %s", path, hex, want_diff);
  image_chain_id(parent, want_diff, chain);
  if (image_layer_known(is, chain, size)) return 0;
  _cleanup_free_ char *tmp_dir = NULL;
  r = image_extract_layer(is, t.path, parent, &tmp_dir, size, err);
  if (r < 0) return r;
  return image_keep_layer(is, tmp_dir, chain, &t, want_diff, err);
}

static int load_tags(json_t *entry, char ***tags, struct berth_error **err) {
  *tags = xcalloc(1, sizeof(char *));
  size_t i;
  json_t *x;
  json_array_foreach(json_object_get(entry, "RepoTags"), i, x) {
    char *ref = NULL;
    int r = reference_normalize(json_string_value(x) ? json_string_value(x) : "", &ref, err);
    if (r < 0) return r;
    *tags = strv_push_take(*tags, ref);
  }
  return 0;
}

static int load_one(struct image_store *is, int dirfd, json_t *entry, json_t *out, struct berth_error **err) {
  const char *cfg_path = json_string_value(json_object_get(entry, "Config"));
  json_t *layers = json_object_get(entry, "Layers");
  if (!cfg_path || !json_is_array(layers)) return berr(err, EINVAL, "load: manifest.json entry lacks Config or Layers");
  _cleanup_close_ int cfd = open_member(dirfd, cfg_path, err);
  if (cfd < 0) return cfd;
  _cleanup_free_ char *text = NULL;
  size_t len = 0;
  int r = read_all(cfd, &text, &len, CONFIG_MAX);
  if (r < 0) return berr_sys(err, -r, "load: read \"%s\"", cfg_path);
  json_auto_t *config = json_loadb(text, len, 0, NULL);
  json_t *diffs = json_object_get(json_object_get(config, "rootfs"), "diff_ids");
  if (!json_is_array(diffs) || json_array_size(diffs) != json_array_size(layers))
    return berr(err, EINVAL, "load: config \"%s\" and manifest disagree on the layers", cfg_path);
  _cleanup_strv_ char **tags = NULL;
  r = load_tags(entry, &tags, err);
  if (r < 0) return r;
  size_t n = json_array_size(layers);
  struct store_layer_rec *recs = xcalloc(n + 1, sizeof(*recs));
  char (*chains)[72] = xcalloc(n + 1, 72);
  int64_t total = 0;
  for (size_t i = 0; i < n && r == 0; i++) {
    const char *lp = json_string_value(json_array_get(layers, i));
    const char *diff = json_string_value(json_array_get(diffs, i));
    if (!lp || !diff) r = berr(err, EINVAL, "load: bad layer entry %zu", i);
    if (r == 0) r = load_layer(is, dirfd, lp, diff, i ? chains[i - 1] : NULL, chains[i], &recs[i].size, err);
    recs[i] = (struct store_layer_rec){chains[i], diff, i ? chains[i - 1] : NULL, recs[i].size};
    total += recs[i].size;
  }
  char *id = NULL;
  struct image_reg reg = {.config_text = text, .layers = recs, .n_layers = n, .size = total,
                          .tag = tags[0], .extra_tags = tags[0] ? tags + 1 : NULL};
  if (r == 0) r = image_register(is, &reg, &id, err);
  for (size_t i = 0; r == 0 && tags[i]; i++) json_array_append_new(out, json_sprintf("Loaded image: %s", tags[i]));
  if (r == 0 && !tags[0]) json_array_append_new(out, json_sprintf("Loaded image ID: %s", id));
  free(id);
  free(recs);
  free(chains);
  return r;
}

int image_load(struct image_store *is, int in_fd, json_t **out, struct berth_error **err) {
  _cleanup_free_ char *dir = NULL;
  _cleanup_close_ int dirfd = -1;
  int r = unpack(is, in_fd, &dir, &dirfd, err);
  _cleanup_close_ int mfd = r == 0 ? open_member(dirfd, "manifest.json", NULL) : -1;
  if (r == 0 && mfd < 0) r = berr(err, EINVAL, "load: the archive has no manifest.json (not a docker save archive)");
  _cleanup_free_ char *mtext = NULL;
  if (r == 0 && read_all(mfd, &mtext, NULL, CONFIG_MAX) < 0) r = berr(err, EINVAL, "load: cannot read manifest.json");
  json_auto_t *manifest = r == 0 ? json_loads(mtext, 0, NULL) : NULL;
  if (r == 0 && !json_is_array(manifest)) r = berr(err, EINVAL, "load: manifest.json is not a JSON array");
  json_t *lines = json_array();
  size_t i;
  json_t *entry;
  if (r == 0) json_array_foreach(manifest, i, entry) {
      r = load_one(is, dirfd, entry, lines, err);
      if (r < 0) break;
    }
  if (dir) rm_rf(dir, NULL);
  if (r < 0) {
    json_decref(lines);
    return r;
  }
  *out = lines;
  return 0;
}
