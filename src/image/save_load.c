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
                reference_normalize(name, &ref, &ignored) == 0;
  /* a name saves that tag; an id saves the image untagged, like Docker */
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
  archive_write_set_bytes_in_last_block(w, 1);
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

/* is_plain: the member starts like no compressed stream libarchive knows (gzip, zstd, bzip2, xz) */
static bool is_plain(int fd) {
  static const struct {
    const char *magic;
    size_t n;
  } magics[] = {{"\x1f\x8b", 2}, {"\x28\xb5\x2f\xfd", 4}, {"BZh", 3}, {"\xfd" "7zXZ", 5}};
  unsigned char head[8] = {0};
  ssize_t n = pread(fd, head, sizeof(head), 0);
  if (n < 0) return false;
  for (size_t i = 0; i < ARRAY_SIZE(magics); i++)
    if ((size_t)n >= magics[i].n && memcmp(head, magics[i].magic, magics[i].n) == 0) return false;
  return true;
}

/* adopt_plain: an uncompressed layer member becomes the temporary blob itself (a new link in
 * tmp/, no copy); its digest is taken from the same open file */
static int adopt_plain(struct image_store *is, int fd, struct image_tmp *t, char hex[65], struct berth_error **err) {
  struct stat st;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) return berr(err, EINVAL, "load: a layer is not a regular file");
  if (st.st_size == 0) return berr(err, EINVAL, "the image tarball is empty");
  _cleanup_free_ char *proc = xasprintf("/proc/self/fd/%d", fd);
  int r = image_digest_file(proc, hex, err);
  if (r < 0) return r;
  for (int tries = 0; tries < 100; tries++) {
    char *path = xasprintf("%s/layer-%08x%08x", is->tmp, (unsigned)random(), (unsigned)tries);
    if (linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0) {
      t->path = path;
      t->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
      return t->fd < 0 ? berr_sys(err, errno, "dup") : 0;
    }
    int e = errno;
    free(path);
    if (e != EEXIST) return berr_sys(err, e, "link a layer into \"%s\"", is->tmp);
  }
  return berr(err, EEXIST, "link a layer into \"%s\"", is->tmp);
}

/* load_layer: member path as layer number i over parent; its diff id must be the config's */
static int load_layer(struct image_store *is, int dirfd, const char *path, const char *want_diff, const char *parent,
                      char chain[72], int64_t *size, struct berth_error **err) {
  _cleanup_close_ int fd = open_member(dirfd, path, err);
  if (fd < 0) return fd;
  _cleanup_image_tmp_ struct image_tmp t = {.fd = -1};
  char hex[65];
  int r = is_plain(fd) ? adopt_plain(is, fd, &t, hex, err) : image_tmp_make(is, "layer", &t, err);
  if (r == 0 && !t.path) r = berr(err, EIO, "load: no temporary layer file");
  if (r == 0 && !is_plain(fd)) r = image_decompress(fd, &t, hex, err);
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

/* blob_path: "sha256:<hex>" -> "blobs/sha256/<hex>" (heap), NULL for anything else */
static char *blob_path(json_t *desc) {
  const char *d = json_string_value(json_object_get(desc, "digest"));
  if (!d || strncmp(d, "sha256:", 7) != 0 || strlen(d) != 71 || strchr(d + 7, '/')) return NULL;
  return xasprintf("blobs/sha256/%s", d + 7);
}

static json_t *read_json_member(int dirfd, const char *path, struct berth_error **err) {
  _cleanup_close_ int fd = open_member(dirfd, path, err);
  if (fd < 0) return NULL;
  _cleanup_free_ char *text = NULL;
  size_t len = 0;
  if (read_all(fd, &text, &len, CONFIG_MAX) < 0) {
    berr(err, EINVAL, "load: cannot read \"%s\"", path);
    return NULL;
  }
  json_t *j = json_loadb(text, len, 0, NULL);
  if (!j) berr(err, EINVAL, "load: \"%s\" is not JSON", path);
  return j;
}

/* oci_entry: one index.json descriptor as a manifest.json entry {Config, Layers, RepoTags} */
static json_t *oci_entry(int dirfd, json_t *desc, struct berth_error **err) {
  _cleanup_free_ char *mp = blob_path(desc);
  if (!mp) return berr(err, EINVAL, "load: index.json: bad manifest digest"), NULL;
  json_auto_t *m = read_json_member(dirfd, mp, err);
  if (!m) return NULL;
  if (json_object_get(m, "manifests"))
    return berr(err, ENOTSUP, "load: nested OCI image indexes (multi-platform archives) are not supported yet"), NULL;
  _cleanup_free_ char *cp = blob_path(json_object_get(m, "config"));
  if (!cp) return berr(err, EINVAL, "load: manifest \"%s\" has no config", mp), NULL;
  json_t *layers = json_array(), *l, *tags = json_array();
  size_t i;
  json_array_foreach(json_object_get(m, "layers"), i, l) {
    char *lp = blob_path(l);
    if (!lp) {
      json_decref(layers);
      json_decref(tags);
      return berr(err, EINVAL, "load: manifest \"%s\": bad layer digest", mp), NULL;
    }
    json_array_append_new(layers, json_string(lp));
    free(lp);
  }
  json_t *ann = json_object_get(desc, "annotations");
  const char *name = json_string_value(json_object_get(ann, "io.containerd.image.name"));
  if (name) json_array_append_new(tags, json_string(name));
  return json_pack("{s:s, s:o, s:o}", "Config", cp, "Layers", layers, "RepoTags", tags);
}

/* oci_manifest: the manifest.json an OCI layout without one would have had, from index.json */
static json_t *oci_manifest(int dirfd, struct berth_error **err) {
  json_auto_t *idx = read_json_member(dirfd, "index.json", NULL);
  if (!idx) return berr(err, EINVAL, "load: the archive has neither manifest.json nor index.json (not an image archive)"), NULL;
  json_t *out = json_array(), *d;
  size_t i;
  json_array_foreach(json_object_get(idx, "manifests"), i, d) {
    json_t *e = oci_entry(dirfd, d, err);
    if (!e) {
      json_decref(out);
      return NULL;
    }
    json_array_append_new(out, e);
  }
  return out;
}

/* load_manifest: manifest.json (Docker's), else the OCI layout's index.json */
static json_t *load_manifest(int dirfd, struct berth_error **err) {
  _cleanup_close_ int mfd = open_member(dirfd, "manifest.json", NULL);
  if (mfd < 0) return oci_manifest(dirfd, err);
  _cleanup_free_ char *mtext = NULL;
  if (read_all(mfd, &mtext, NULL, CONFIG_MAX) < 0) return berr(err, EINVAL, "load: cannot read manifest.json"), NULL;
  json_t *m = json_loads(mtext, 0, NULL);
  if (!json_is_array(m)) {
    json_decref(m);
    return berr(err, EINVAL, "load: manifest.json is not a JSON array"), NULL;
  }
  return m;
}

int image_load(struct image_store *is, int in_fd, json_t **out, struct berth_error **err) {
  _cleanup_free_ char *dir = NULL;
  _cleanup_close_ int dirfd = -1;
  int r = unpack(is, in_fd, &dir, &dirfd, err);
  json_auto_t *manifest = r == 0 ? load_manifest(dirfd, err) : NULL;
  if (r == 0 && !manifest) r = -EINVAL;
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
