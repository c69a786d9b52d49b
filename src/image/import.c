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
#include <openssl/evp.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void archive_freep(struct archive **a) {
  if (*a) archive_read_free(*a);
}
#define _cleanup_archive_ __attribute__((cleanup(archive_freep)))

static void md_freep(EVP_MD_CTX **c) { EVP_MD_CTX_free(*c); }

/* A file under tmp/ that is unlinked unless handed on. */
struct tmpfile {
  char *path;
  int fd;
};
static void tmpfile_drop(struct tmpfile *t) {
  if (t->fd >= 0) close(t->fd);
  if (t->path) unlink(t->path);
  free(t->path);
}

static int tmpfile_make(struct image_store *is, const char *prefix, struct tmpfile *t, struct berth_error **err) {
  t->path = xasprintf("%s/%s-XXXXXX", is->tmp, prefix);
  t->fd = mkostemp(t->path, O_CLOEXEC);
  if (t->fd < 0) {
    int e = errno;
    free(t->path);
    t->path = NULL;
    return berr_sys(err, e, "create temporary file in \"%s\"", is->tmp);
  }
  return 0;
}

static void hex_of(const unsigned char *md, unsigned n, char *out) {
  for (unsigned i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", md[i]);
}

/* decompress: fd (any compression libarchive knows) -> t, sha256 of the plain bytes -> hex */
static int decompress(int fd, struct tmpfile *t, char hex[65], struct berth_error **err) {
  _cleanup_archive_ struct archive *a = archive_read_new();
  archive_read_support_filter_all(a);
  archive_read_support_format_raw(a);
  if (archive_read_open_fd(a, fd, 65536) != ARCHIVE_OK)
    return berr(err, EINVAL, "read image tarball: %s", archive_error_string(a));
  struct archive_entry *e;
  int rc = archive_read_next_header(a, &e);
  if (rc == ARCHIVE_EOF) return berr(err, EINVAL, "the image tarball is empty");
  if (rc != ARCHIVE_OK) return berr(err, EINVAL, "read image tarball: %s", archive_error_string(a));
  __attribute__((cleanup(md_freep))) EVP_MD_CTX *md = EVP_MD_CTX_new();
  if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) return berr(err, EIO, "sha256 init failed");
  char buf[65536];
  off_t total = 0;
  for (;;) {
    la_ssize_t n = archive_read_data(a, buf, sizeof(buf));
    if (n < 0) return berr(err, EINVAL, "read image tarball: %s", archive_error_string(a));
    if (n == 0) break;
    EVP_DigestUpdate(md, buf, (size_t)n);
    int r = write_all(t->fd, buf, (size_t)n);
    if (r < 0) return berr_sys(err, -r, "write \"%s\"", t->path);
    total += n;
  }
  if (total == 0) return berr(err, EINVAL, "the image tarball is empty");
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned dn = 0;
  EVP_DigestFinal_ex(md, digest, &dn);
  hex_of(digest, dn, hex);
  if (fsync(t->fd) < 0) return berr_sys(err, errno, "fsync \"%s\"", t->path);
  return 0;
}

/* extract_layer: the plain tar in tar_path becomes the committed storage layer chain_id */
static int extract_layer(struct image_store *is, const char *tar_path, const char *chain_id, int64_t *size,
                         struct berth_error **err) {
  _cleanup_archive_ struct archive *a = archive_read_new();
  archive_read_support_filter_none(a);
  archive_read_support_format_tar(a);
  if (archive_read_open_filename(a, tar_path, 65536) != ARCHIVE_OK)
    return berr(err, EINVAL, "open layer tar: %s", archive_error_string(a));
  _cleanup_free_ char *tmp_dir = NULL;
  int r = storage_layer_begin(is->drv, NULL, &tmp_dir, err);
  if (r < 0) return r;
  int dfd = open(tmp_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) r = berr_sys(err, errno, "open \"%s\"", tmp_dir);
  enum layer_whiteout wh =
      strcmp(storage_driver_name(is->drv), "overlay") == 0 ? LAYER_WHITEOUT_OVERLAY : LAYER_WHITEOUT_DELETE;
  if (r == 0) r = layer_apply_tar(dfd, a, wh, size, err);
  if (dfd >= 0) close(dfd);
  if (r == 0) r = storage_layer_commit(is->drv, tmp_dir, chain_id, err);
  if (r < 0) {
    storage_layer_abort(is->drv, tmp_dir);
    return berr_prefix(err, "extract layer");
  }
  return 0;
}

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

/* write_blob: data under blobs/sha256/<hex> (temporary name in tmp/, fsync, rename) */
static int write_blob(struct image_store *is, const char *hex, const char *data, size_t n, struct berth_error **err) {
  struct tmpfile t = {.fd = -1};
  int r = tmpfile_make(is, "blob", &t, err);
  if (r < 0) return r;
  r = write_all(t.fd, data, n);
  if (r == 0 && fsync(t.fd) < 0) r = -errno;
  _cleanup_free_ char *dst = path_join(is->blobs, hex);
  if (r == 0 && rename(t.path, dst) < 0) r = -errno;
  if (r < 0) {
    tmpfile_drop(&t);
    return berr_sys(err, -r, "write blob %s", hex);
  }
  close(t.fd);
  free(t.path);
  return 0;
}

/* layer_from_stream: decompress, digest, extract (unless the layer is known), keep the blob */
static int layer_from_stream(struct image_store *is, int fd, char diff_id[72], int64_t *size, struct berth_error **err) {
  __attribute__((cleanup(tmpfile_drop))) struct tmpfile t = {.fd = -1};
  int r = tmpfile_make(is, "import", &t, err);
  if (r < 0) return r;
  char hex[65];
  r = decompress(fd, &t, hex, err);
  if (r < 0) return r;
  snprintf(diff_id, 72, "sha256:%s", hex);
  _cleanup_berr_ struct berth_error *ignored = NULL;
  if (!(storage_layer_exists(is->drv, diff_id) && store_layer_get(is->st, diff_id, size, &ignored) == 0)) {
    r = extract_layer(is, t.path, diff_id, size, err); /* a base layer: chain id = diff id */
    if (r < 0) return r;
  }
  _cleanup_free_ char *blob = path_join(is->blobs, hex);
  if (rename(t.path, blob) < 0) return berr_sys(err, errno, "store layer blob %s", hex);
  free(t.path);
  t.path = NULL;
  return 0;
}

int image_import(struct image_store *is, int fd, const char *repo_tag, const char *message, char *const *changes,
                 char **out_id, struct berth_error **err) {
  _cleanup_free_ char *tag = NULL;
  if (repo_tag && *repo_tag) {
    int r = reference_normalize(repo_tag, &tag, err);
    if (r < 0) return r;
  }
  json_auto_t *cfg = image_default_config();
  int r = image_apply_changes(cfg, changes, err);
  if (r < 0) return r;
  char diff_id[72];
  int64_t size = 0;
  r = layer_from_stream(is, fd, diff_id, &size, err);
  if (r < 0) return r;
  const char *msg = message && *message ? message : "Imported from -";
  json_auto_t *config = build_config(cfg, msg, diff_id);
  _cleanup_free_ char *text = json_dumps(config, JSON_COMPACT);
  char hex[65];
  image_sha256_hex(text, strlen(text), hex);
  r = write_blob(is, hex, text, strlen(text), err);
  if (r < 0) return r;
  _cleanup_free_ char *id = xasprintf("sha256:%s", hex);
  struct timespec ts;
  time_parse_rfc3339(json_string_value(json_object_get(config, "created")), &ts);
  struct store_layer_rec layer = {.chain_id = diff_id, .diff_id = diff_id, .size = size};
  struct store_image_new img = {.id = id, .config = text, .created_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec,
                                .size = size, .layers = &layer, .n_layers = 1, .tag = tag};
  r = store_image_register(is->st, &img, err);
  if (r < 0) return berr_prefix(err, "register image");
  log_info("Imported image %s%s%s", id, tag ? " as " : "", tag ? tag : "");
  *out_id = take_ptr(&id);
  return 0;
}
