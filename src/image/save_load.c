/* save_load.c - `docker save`: images as a tar of manifest.json, configs and layer tars in
 * Docker 25's layout (blobs/sha256/..., also an OCI image layout with index.json); load.c reads
 * them back */
#define LOG_TAG "image"
#include "image/image_int.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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
  enum { CHUNK = 1 << 20 };
  _cleanup_free_ char *buf = xmalloc(CHUNK);
  for (;;) {
    ssize_t got = read(src_fd, buf, CHUNK);
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

#define OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define OCI_INDEX "application/vnd.oci.image.index.v1+json"

/* the archive being written: Docker 25's layout, one copy of each blob under blobs/sha256/ named
 * by both manifest.json (older Docker reads it) and index.json (the OCI layout) */
struct saver {
  struct image_store *is;
  struct archive *w;
  json_t *manifest, *repos, *index, *written;
};

/* save_layer: blobs/sha256/<diff hex>: the uncompressed tar, whose digest is its diff id (once) */
static int save_layer(struct saver *sv, const char *diff, json_t *descs, struct berth_error **err) {
  _cleanup_free_ char *blob = path_join(sv->is->blobs, diff + 7);
  _cleanup_close_ int fd = open(blob, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return berr_sys(err, errno, "save: layer %s has no tar blob", diff);
  struct stat st;
  if (fstat(fd, &st) < 0) return berr_sys(err, errno, "stat \"%s\"", blob);
  json_array_append_new(descs, json_pack("{s:s, s:s, s:I}", "mediaType", OCI_LAYER, "digest", diff, "size",
                                         (json_int_t)st.st_size));
  if (json_object_get(sv->written, diff)) return 0;
  json_object_set_new(sv->written, diff, json_true());
  _cleanup_free_ char *name = xasprintf("blobs/sha256/%s", diff + 7);
  return put_member(sv->w, name, NULL, (size_t)st.st_size, fd, err);
}

/* save_blob: bytes as blobs/sha256/<their digest> (once); digest gets "sha256:<hex>" */
static int save_blob(struct saver *sv, const char *data, size_t len, char digest[72], struct berth_error **err) {
  char hex[65];
  image_sha256_hex(data, len, hex);
  snprintf(digest, 72, "sha256:%s", hex);
  if (json_object_get(sv->written, digest)) return 0;
  json_object_set_new(sv->written, digest, json_true());
  _cleanup_free_ char *name = xasprintf("blobs/sha256/%s", hex);
  return put_member(sv->w, name, data, len, -1, err);
}

/* full_name: containerd's image name for a familiar ref: busybox:1 -> docker.io/library/busybox:1 */
static char *full_name(const char *ref) {
  const char *slash = strchr(ref, '/');
  size_t first = slash ? (size_t)(slash - ref) : 0;
  bool registry = slash && (memchr(ref, '.', first) || memchr(ref, ':', first) || strncmp(ref, "localhost/", 10) == 0);
  if (registry) return xstrdup(ref);
  return xasprintf("docker.io/%s%s", slash ? "" : "library/", ref);
}

/* save_tag: ref (a normalized name:tag) on entry, in repositories and in index.json */
static void save_tag(struct saver *sv, json_t *entry, const char *ref, const char *top_diff, json_t *desc) {
  json_array_append_new(json_object_get(entry, "RepoTags"), json_string(ref));
  _cleanup_free_ char *repo = xstrdup(ref);
  char *colon = strrchr(repo, ':');
  *colon = '\0';
  json_t *r = json_object_get(sv->repos, repo);
  if (!r) json_object_set_new(sv->repos, repo, r = json_object());
  if (top_diff) json_object_set_new(r, colon + 1, json_string(top_diff + 7));
  json_t *d = json_deep_copy(desc);
  _cleanup_free_ char *full = full_name(ref);
  json_object_set_new(d, "annotations", json_pack("{s:s, s:s}", "io.containerd.image.name", full,
                                                  "org.opencontainers.image.ref.name", colon + 1));
  json_array_append_new(sv->index, d);
}

/* save_manifest: the config and the OCI manifest of img as blobs; desc gets the manifest's descriptor */
static int save_manifest(struct saver *sv, const struct image *img, json_t *layer_descs, json_t **desc,
                         struct berth_error **err) {
  _cleanup_free_ char *blob = path_join(sv->is->blobs, img->id + 7);
  _cleanup_free_ char *text = NULL;
  size_t len = 0;
  int r = read_file(blob, &text, &len, err); /* the exact bytes: their digest is the image id */
  char cdigest[72], mdigest[72];
  if (r == 0) r = save_blob(sv, text, len, cdigest, err);
  if (r < 0) return r;
  json_auto_t *m = json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:O}", "schemaVersion", 2, "mediaType", OCI_MANIFEST,
                             "config", "mediaType", OCI_CONFIG, "digest", cdigest, "size", (json_int_t)len, "layers",
                             layer_descs);
  _cleanup_free_ char *mtext = json_dumps(m, JSON_COMPACT);
  r = save_blob(sv, mtext, strlen(mtext), mdigest, err);
  if (r == 0)
    *desc = json_pack("{s:s, s:s, s:I}", "mediaType", OCI_MANIFEST, "digest", mdigest, "size", (json_int_t)strlen(mtext));
  return r;
}

static int save_one(struct saver *sv, const char *name, struct berth_error **err) {
  _cleanup_image_ struct image *img = NULL;
  int r = image_get(sv->is, name, &img, err);
  if (r < 0) return r;
  json_t *diffs = json_object_get(json_object_get(img->config, "rootfs"), "diff_ids");
  _cleanup_free_ char *cfg_name = xasprintf("blobs/sha256/%s", img->id + 7);
  json_t *entry = NULL, *x;
  size_t k, n = strv_len(img->chain_ids);
  json_array_foreach(sv->manifest, k, x) if (strcmp(json_string_value(json_object_get(x, "Config")), cfg_name) == 0) entry = x;
  json_auto_t *descs = json_array();
  for (size_t i = 0; i < n && r == 0; i++) {
    const char *diff = json_string_value(json_array_get(diffs, i));
    if (!diff) return berr(err, EIO, "image %s: config lacks diff id %zu", img->id, i);
    r = save_layer(sv, diff, descs, err);
  }
  json_auto_t *desc = NULL;
  if (r == 0) r = save_manifest(sv, img, descs, &desc, err);
  if (r < 0) return r;
  if (!entry) { /* an image named twice is one entry with both tags */
    json_t *layers = json_array();
    json_array_foreach(descs, k, x) json_array_append_new(layers, json_sprintf("blobs/sha256/%s", json_string_value(json_object_get(x, "digest")) + 7));
    entry = json_pack("{s:s, s:[], s:o}", "Config", cfg_name, "RepoTags", "Layers", layers);
    json_array_append_new(sv->manifest, entry);
  }
  _cleanup_free_ char *ref = NULL;
  _cleanup_berr_ struct berth_error *ignored = NULL;
  bool by_ref = strncmp(name, "sha256:", 7) != 0 && strncmp(img->id + 7, name, strlen(name)) != 0 &&
                reference_normalize(name, &ref, &ignored) == 0 && !strchr(ref, '@');
  /* a name saves that tag; an id or a digest reference saves the image untagged, like Docker */
  if (by_ref) save_tag(sv, entry, ref, n ? json_string_value(json_array_get(diffs, n - 1)) : NULL, desc);
  else json_array_append(sv->index, desc);
  return 0;
}

static int save_layout_files(struct saver *sv, struct berth_error **err) {
  static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
  json_auto_t *idx = json_pack("{s:i, s:s, s:O}", "schemaVersion", 2, "mediaType", OCI_INDEX, "manifests", sv->index);
  _cleanup_free_ char *it = json_dumps(idx, JSON_COMPACT);
  _cleanup_free_ char *m = json_dumps(sv->manifest, JSON_COMPACT);
  int r = put_member(sv->w, "index.json", it, strlen(it), -1, err);
  if (r == 0) r = put_member(sv->w, "manifest.json", m, strlen(m), -1, err);
  if (r == 0) r = put_member(sv->w, "oci-layout", layout, strlen(layout), -1, err);
  _cleanup_free_ char *rp = r == 0 && json_object_size(sv->repos) ? json_dumps(sv->repos, JSON_COMPACT) : NULL;
  if (r == 0 && rp) r = put_member(sv->w, "repositories", rp, strlen(rp), -1, err);
  return r;
}

int image_save(struct image_store *is, char *const *names, int out_fd, struct berth_error **err) {
  if (!names || !names[0]) return berr(err, EINVAL, "no image to save");
  _cleanup_archive_write_ struct archive *w = archive_write_new();
  archive_write_set_format_pax_restricted(w);
  archive_write_add_filter_none(w);
  archive_write_set_bytes_per_block(w, 0); /* straight to out_fd, unpadded */
  if (archive_write_open2(w, &out_fd, NULL, fd_write, NULL, NULL) != ARCHIVE_OK)
    return berr(err, EIO, "save: %s", archive_error_string(w));
  json_auto_t *manifest = json_array(), *repos = json_object(), *index = json_array(), *written = json_object();
  struct saver sv = {is, w, manifest, repos, index, written};
  int r = put_dir(w, "blobs/", err);
  if (r == 0) r = put_dir(w, "blobs/sha256/", err);
  for (size_t i = 0; names[i] && r == 0; i++) r = save_one(&sv, names[i], err);
  if (r == 0) r = save_layout_files(&sv, err);
  if (r == 0 && archive_write_close(w) != ARCHIVE_OK) r = berr(err, EIO, "save: %s", archive_error_string(w));
  return r;
}
