/* image.c - the image store: open (with repair of interrupted work), lookup by name or id,
 * tagging, counting, and the digest helpers the module shares */
#define LOG_TAG "image"
#include "image/image_int.h"
#include "common/fs.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include <dirent.h>
#include <errno.h>
#include <nettle/sha2.h>
#include <string.h>
#include <sys/utsname.h>
#include <stdlib.h>
#include <unistd.h>

void image_sha256_hex(const void *data, size_t n, char out[65]) {
  struct sha256_ctx c;
  uint8_t md[SHA256_DIGEST_SIZE];
  sha256_init(&c);
  sha256_update(&c, n, data);
  sha256_digest(&c, sizeof(md), md);
  image_hex(md, sizeof(md), out);
}

void image_chain_id(const char *parent_chain, const char *diff_id, char out[72]) {
  if (!parent_chain) {
    snprintf(out, 72, "%s", diff_id);
    return;
  }
  _cleanup_free_ char *s = xasprintf("%s %s", parent_chain, diff_id);
  char hex[65];
  image_sha256_hex(s, strlen(s), hex);
  snprintf(out, 72, "sha256:%s", hex);
}

const char *image_go_arch(void) {
  static const struct {
    const char *uname, *go;
  } arches[] = {{"x86_64", "amd64"}, {"aarch64", "arm64"}, {"armv7l", "arm"},     {"armv6l", "arm"},
                {"i686", "386"},     {"i386", "386"},      {"ppc64le", "ppc64le"}, {"s390x", "s390x"},
                {"riscv64", "riscv64"}, {"mips64", "mips64"}, {"loongarch64", "loong64"}};
  struct utsname u;
  if (uname(&u) == 0)
    for (size_t i = 0; i < ARRAY_SIZE(arches); i++)
      if (strcmp(u.machine, arches[i].uname) == 0) return arches[i].go;
  return "amd64";
}

/* clear_tmp: everything in tmp/ is an interrupted download, import or blob write */
static void clear_tmp(const char *tmp) {
  _cleanup_closedir_ DIR *d = opendir(tmp);
  if (!d) return;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
    _cleanup_free_ char *p = path_join(tmp, de->d_name);
    _cleanup_berr_ struct berth_error *e = NULL;
    if (rm_rf(p, &e) < 0) log_warn("Cannot remove leftover \"%s\": %s", p, berr_msg(e));
  }
}

/* gc_layers: layer directories no layer row knows (a crash between the storage commit and the
 * store transaction) are removed */
static int gc_layers(struct image_store *is, struct berth_error **err) {
  _cleanup_strv_ char **on_disk = NULL, **known = NULL;
  int r = storage_layer_list(is->drv, &on_disk, err);
  if (r == 0) r = store_layer_ids(is->st, &known, err);
  if (r < 0) return r;
  for (size_t i = 0; on_disk[i]; i++) {
    bool found = false;
    for (size_t k = 0; known[k] && !found; k++) found = strcmp(known[k], on_disk[i]) == 0;
    if (found) continue;
    log_info("Removing unreferenced layer %s", on_disk[i]);
    _cleanup_berr_ struct berth_error *e = NULL;
    if (storage_layer_remove(is->drv, on_disk[i], &e) < 0) log_warn("Cannot remove layer: %s", berr_msg(e));
  }
  for (size_t k = 0; known[k]; k++)
    if (!storage_layer_exists(is->drv, known[k]))
      log_warn("Layer %s is in the store but not in the %s driver's directory", known[k], storage_driver_name(is->drv));
  return 0;
}

/* gc_blobs: blobs no image (its config) and no layer row (its tar) names: a crash between the
 * renames into blobs/ and the store transaction leaves those */
static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int gc_blobs(struct image_store *is, struct berth_error **err) {
  _cleanup_strv_ char **refs = NULL;
  int r = store_blob_refs(is->st, &refs, err);
  if (r < 0) return r;
  size_t n = strv_len(refs);
  _cleanup_closedir_ DIR *d = opendir(is->blobs);
  if (!d) return berr_sys(err, errno, "open \"%s\"", is->blobs);
  struct dirent *de;
  while ((de = readdir(d))) {
    if (!id_is_hex(de->d_name, 64)) continue;
    _cleanup_free_ char *digest = xasprintf("sha256:%s", de->d_name);
    if (bsearch(&digest, refs, n, sizeof(char *), cmp_str)) continue;
    log_info("Removing unreferenced blob %s", digest);
    if (unlinkat(dirfd(d), de->d_name, 0) < 0) log_warn("Cannot remove blob %s: %s", digest, strerror(errno));
  }
  return 0;
}

int image_store_open(const char *data_root, struct store *st, struct storage *drv, struct image_store **out,
                     struct berth_error **err) {
  struct image_store *is = xcalloc(1, sizeof(*is));
  is->root = xstrdup(data_root);
  is->blobs = path_join(data_root, "blobs/sha256");
  is->tmp = path_join(data_root, "tmp");
  is->st = st;
  is->drv = drv;
  pthread_mutex_init(&is->lock, NULL);
  int r = mkdir_p(is->blobs, 0700, err);
  if (r == 0) r = mkdir_p(is->tmp, 0700, err);
  if (r == 0) {
    clear_tmp(is->tmp);
    r = gc_layers(is, err);
    if (r == 0) r = gc_blobs(is, err);
  }
  if (r < 0) {
    image_store_close(is);
    return berr_prefix(err, "open image store");
  }
  *out = is;
  return 0;
}

void image_store_close(struct image_store *is) {
  if (!is) return;
  free(is->root);
  free(is->blobs);
  free(is->tmp);
  pthread_mutex_destroy(&is->lock);
  free(is);
}

void image_free(struct image *img) {
  if (!img) return;
  free(img->id);
  json_decref(img->config);
  strv_free(img->chain_ids);
  free(img);
}

/* hand_on: move a lower layer's error to the caller's */
static int hand_on(struct berth_error **err, struct berth_error **e, int r) {
  if (err && !*err) *err = take_ptr(e);
  return r;
}

static int by_prefix(struct image_store *is, const char *hex, const char *name, char **id, struct berth_error **err) {
  _cleanup_berr_ struct berth_error *e = NULL;
  int r = store_image_find_prefix(is->st, hex, id, &e);
  if (r == -ENOENT || r == -EEXIST) return berr(err, ENOENT, "No such image: %s", name);
  return r < 0 ? hand_on(err, &e, r) : 0;
}

/* by_digest: "repo@sha256:<hex>" no reference names: the image whose id is that digest, as
 * Docker's GetImage falls back to (the digest of a config is the image id) */
static int by_digest(struct image_store *is, const char *ref, const char *name, char **id, struct berth_error **err) {
  const char *dg = strchr(ref, '@') + 1;
  struct store_image *si = NULL;
  _cleanup_berr_ struct berth_error *e = NULL;
  int r = store_image_get(is->st, dg, &si, &e);
  if (r == -ENOENT) return berr(err, ENOENT, "No such image: %s", name);
  if (r < 0) return hand_on(err, &e, r);
  *id = take_ptr(&si->id);
  store_image_free(si);
  return 0;
}

/* image_resolve: NAME -> "sha256:<hex>" in Docker's order: digest id, tag or digest reference, id prefix */
int image_resolve(struct image_store *is, const char *name, char **id, struct berth_error **err) {
  if (strncmp(name, "sha256:", 7) == 0) {
    if (!id_is_hex(name + 7, 0)) return berr(err, EINVAL, "invalid reference format");
    return by_prefix(is, name + 7, name, id, err);
  }
  if (id_is_hex(name, 64)) return by_prefix(is, name, name, id, err);
  _cleanup_free_ char *ref = NULL;
  _cleanup_berr_ struct berth_error *perr = NULL;
  int pr = reference_normalize(name, &ref, &perr);
  if (pr == 0) {
    _cleanup_berr_ struct berth_error *e = NULL;
    int r = store_tag_lookup(is->st, ref, id, &e);
    if (r == 0) return 0;
    if (r != -ENOENT) return hand_on(err, &e, r);
    if (strchr(ref, '@')) return by_digest(is, ref, name, id, err);
  }
  if (id_is_hex(name, 0)) return by_prefix(is, name, ref ? ref : name, id, err);
  if (pr < 0) return hand_on(err, &perr, pr);
  return berr(err, ENOENT, "No such image: %s", ref);
}

int image_load_record(struct image_store *is, const char *name, struct store_image **si, json_t **config,
               struct berth_error **err) {
  _cleanup_free_ char *id = NULL;
  int r = image_resolve(is, name, &id, err);
  if (r < 0) return r;
  r = store_image_get(is->st, id, si, err);
  if (r < 0) return r;
  json_error_t jerr;
  *config = json_loads((*si)->config, 0, &jerr);
  if (!*config) {
    store_image_free(*si);
    *si = NULL;
    return berr(err, EIO, "image %s: stored config is not JSON: %s", id, jerr.text);
  }
  return 0;
}

int image_get(struct image_store *is, const char *name, struct image **out, struct berth_error **err) {
  struct store_image *si = NULL;
  json_t *config = NULL;
  int r = image_load_record(is, name, &si, &config, err);
  if (r < 0) return r;
  struct image *img = xcalloc(1, sizeof(*img));
  img->id = take_ptr(&si->id);
  img->config = config;
  img->chain_ids = take_ptr(&si->chain_ids);
  store_image_free(si);
  *out = img;
  return 0;
}

int image_tag(struct image_store *is, const char *name, const char *repo, const char *tag, struct berth_error **err) {
  _cleanup_free_ char *id = NULL;
  int r = image_resolve(is, name, &id, err);
  if (r < 0) return r;
  if (!repo || !*repo) return berr(err, EINVAL, "repository name must have at least one component");
  _cleanup_free_ char *want = tag && *tag ? xasprintf("%s:%s", repo, tag) : xstrdup(repo);
  _cleanup_free_ char *ref = NULL;
  r = image_tag_ref(want, &ref, err);
  if (r < 0) return r;
  return store_tag_set(is->st, ref, id, err);
}

int image_count(struct image_store *is, int64_t *out, struct berth_error **err) {
  return store_image_count(is->st, out, err);
}
