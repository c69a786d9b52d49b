/* blob.c - what import, commit and load share: temporary files, layer extraction into storage,
 * and the one place an image becomes registered (layer commit, blobs, store transaction) */
#define LOG_TAG "image"
#include "image/image_int.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include <errno.h>
#include <fcntl.h>
#include <archive_entry.h>
#include <nettle/sha2.h>
#include <string.h>
#include <unistd.h>

int image_tmp_make(struct image_store *is, const char *prefix, struct image_tmp *t, struct berth_error **err) {
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

void image_tmp_drop(struct image_tmp *t) {
  if (t->fd >= 0) close(t->fd);
  t->fd = -1;
  if (t->path) unlink(t->path);
  free(t->path);
  t->path = NULL;
}

void image_archive_read_freep(struct archive **a) {
  if (*a) archive_read_free(*a);
}
void image_archive_write_freep(struct archive **a) {
  if (*a) archive_write_free(*a);
}

bool image_layer_known(struct image_store *is, const char *chain_id, int64_t *size) {
  _cleanup_berr_ struct berth_error *ignored = NULL;
  pthread_mutex_lock(&is->lock);
  bool known = storage_layer_exists(is->drv, chain_id) && store_layer_get(is->st, chain_id, size, &ignored) == 0;
  pthread_mutex_unlock(&is->lock);
  return known;
}

int image_extract_layer(struct image_store *is, const char *tar_path, const char *parent_chain, char **tmp_dir,
                        int64_t *size, struct berth_error **err) {
  _cleanup_archive_read_ struct archive *a = archive_read_new();
  archive_read_support_filter_all(a);
  archive_read_support_format_tar(a);
  if (archive_read_open_filename(a, tar_path, 1 << 20) != ARCHIVE_OK) /* big blocks: fewer syscalls */
    return berr(err, EINVAL, "open layer tar: %s", archive_error_string(a));
  int r = storage_layer_begin(is->drv, parent_chain, tmp_dir, err);
  if (r < 0) return r;
  _cleanup_close_ int dfd = open(*tmp_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) r = berr_sys(err, errno, "open \"%s\"", *tmp_dir);
  enum layer_whiteout wh =
      strcmp(storage_driver_name(is->drv), "overlay2") == 0 ? LAYER_WHITEOUT_OVERLAY : LAYER_WHITEOUT_DELETE;
  if (r == 0) r = layer_apply_tar(dfd, a, wh, size, err);
  if (r < 0) {
    storage_layer_abort(is->drv, *tmp_dir);
    free(*tmp_dir);
    *tmp_dir = NULL;
    return berr_prefix(err, "extract layer");
  }
  return 0;
}

void image_hex(const uint8_t *md, size_t n, char *out) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[md[i] >> 4];
    out[2 * i + 1] = digits[md[i] & 15];
  }
  out[2 * n] = '\0';
}

/* decompress: fd (any compression libarchive knows) -> t, sha256 of the plain bytes -> hex */
int image_decompress(int fd, struct image_tmp *t, char hex[65], struct berth_error **err) {
  _cleanup_archive_read_ struct archive *a = archive_read_new();
  archive_read_support_filter_all(a);
  archive_read_support_format_raw(a);
  if (archive_read_open_fd(a, fd, 65536) != ARCHIVE_OK)
    return berr(err, EINVAL, "read image tarball: %s", archive_error_string(a));
  struct archive_entry *e;
  int rc = archive_read_next_header(a, &e);
  if (rc == ARCHIVE_EOF) return berr(err, EINVAL, "the image tarball is empty");
  if (rc != ARCHIVE_OK) return berr(err, EINVAL, "read image tarball: %s", archive_error_string(a));
  struct sha256_ctx md;
  sha256_init(&md);
  char buf[65536];
  off_t total = 0;
  for (;;) {
    la_ssize_t n = archive_read_data(a, buf, sizeof(buf));
    if (n < 0) return berr(err, EINVAL, "read image tarball: %s", archive_error_string(a));
    if (n == 0) break;
    sha256_update(&md, (size_t)n, (const uint8_t *)buf);
    int r = write_all(t->fd, buf, (size_t)n);
    if (r < 0) return berr_sys(err, -r, "write \"%s\"", t->path);
    total += n;
  }
  if (total == 0) return berr(err, EINVAL, "the image tarball is empty");
  uint8_t digest[SHA256_DIGEST_SIZE];
  sha256_digest(&md, sizeof(digest), digest);
  image_hex(digest, sizeof(digest), hex);
  return 0; /* synced by image_register, once for everything an operation wrote */
}

int image_digest_file(const char *path, char hex[65], struct berth_error **err) {
  _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return berr_sys(err, errno, "open \"%s\"", path);
  struct sha256_ctx md;
  sha256_init(&md);
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) sha256_update(&md, (size_t)n, (const uint8_t *)buf);
  if (n < 0) return berr_sys(err, errno, "read \"%s\"", path);
  uint8_t d[SHA256_DIGEST_SIZE];
  sha256_digest(&md, sizeof(d), d);
  image_hex(d, sizeof(d), hex);
  return 0;
}

/* write_blob: data as blobs/sha256/<hex> (temporary name in tmp/, fsync, rename) */
static int write_blob(struct image_store *is, const char *hex, const char *data, size_t n, struct berth_error **err) {
  _cleanup_image_tmp_ struct image_tmp t = {.fd = -1};
  int r = image_tmp_make(is, "blob", &t, err);
  if (r < 0) return r;
  r = write_all(t.fd, data, n);
  if (r == 0 && fsync(t.fd) < 0) r = -errno;
  _cleanup_free_ char *dst = path_join(is->blobs, hex);
  if (r == 0 && rename(t.path, dst) < 0) r = -errno;
  if (r < 0) return berr_sys(err, -r, "write blob %s", hex);
  free(t.path);
  t.path = NULL;
  return 0;
}

/* sync_all: layers and blobs written by the operation reach the disk before the store names them
 * (one syncfs each for the driver's and the blobs' filesystem; the same one costs nothing twice) */
static int sync_all(struct image_store *is, struct berth_error **err) {
  int r = storage_sync(is->drv, err);
  _cleanup_close_ int fd = r == 0 ? open(is->blobs, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
  if (r == 0 && (fd < 0 || syncfs(fd) < 0)) r = berr_sys(err, errno, "sync \"%s\"", is->blobs);
  return r;
}

static void unlockp(pthread_mutex_t **m) {
  if (*m) pthread_mutex_unlock(*m);
}

static int keep_layer_locked(struct image_store *is, const char *tmp_dir, const char *chain, struct image_tmp *tar,
                             const char *diff, struct berth_error **err) {
  int r = tmp_dir ? storage_layer_commit(is->drv, tmp_dir, chain, err) : 0;
  if (r < 0) {
    storage_layer_abort(is->drv, tmp_dir);
    return r;
  }
  if (tar && tar->path) { /* unsynced: a crash leaves a blob without a row, which startup removes */
    _cleanup_free_ char *blob = path_join(is->blobs, diff + 7);
    if (rename(tar->path, blob) < 0) return berr_sys(err, errno, "store layer blob %s", diff);
    free(tar->path);
    tar->path = NULL;
  }
  return 0;
}

int image_keep_layer(struct image_store *is, const char *tmp_dir, const char *chain, struct image_tmp *tar,
                     const char *diff, struct berth_error **err) {
  pthread_mutex_lock(&is->lock);
  int r = keep_layer_locked(is, tmp_dir, chain, tar, diff, err);
  pthread_mutex_unlock(&is->lock);
  return r;
}

int image_register(struct image_store *is, const struct image_reg *reg, char **out_id, struct berth_error **err) {
  __attribute__((cleanup(unlockp))) pthread_mutex_t *held = &is->lock;
  pthread_mutex_lock(held);
  int r = keep_layer_locked(is, reg->tmp_layer_dir, reg->new_chain, reg->layer_tar, reg->new_diff, err);
  if (r == 0) r = sync_all(is, err);
  if (r < 0) return r;
  const char *text = reg->config_text;
  char hex[65];
  image_sha256_hex(text, strlen(text), hex);
  r = write_blob(is, hex, text, strlen(text), err);
  if (r < 0) return r;
  _cleanup_free_ char *id = xasprintf("sha256:%s", hex);
  json_auto_t *config = json_loads(text, 0, NULL);
  struct timespec ts = {0};
  time_parse_rfc3339(json_string_value(json_object_get(config, "created")), &ts);
  struct store_image_new img = {.id = id, .config = text, .created_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec,
                                .size = reg->size, .parent = reg->parent, .layers = reg->layers,
                                .n_layers = reg->n_layers, .tag = reg->tag};
  r = store_image_register(is->st, &img, err);
  for (size_t i = 0; r == 0 && reg->extra_tags && reg->extra_tags[i]; i++)
    r = store_tag_set(is->st, reg->extra_tags[i], id, err);
  if (r < 0) return berr_prefix(err, "register image");
  log_info("Registered image %s%s%s", id, reg->tag ? " as " : "", reg->tag ? reg->tag : "");
  *out_id = take_ptr(&id);
  return 0;
}
