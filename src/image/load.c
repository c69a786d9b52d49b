/* load.c - `docker load` in one pass over the archive: every layer member is digested, kept as
 * its blob and (overlay) extracted as it streams by, before manifest.json says what it is (some
 * writers put manifest.json last); configs and manifests are held in memory. Only when the whole
 * archive is read and checked are layers committed and images registered: a failure or a crash
 * leaves temporaries only (tmp/layer-*, the driver's .tmp-*), which startup removes. */
#define LOG_TAG "image"
#include "image/image_int.h"
#include "common/buf.h"
#include "common/fs.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <nettle/sha2.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#define JSON_MEMBER_MAX (16u << 20)   /* a config or manifest larger than this is not one */
#define JSON_TOTAL_MAX (64u << 20)    /* all small members held in memory together */
#define LINK_HOPS 8
#define IO_CHUNK (1u << 20)

/* One member of the archive: a small file kept in memory, a layer candidate kept as a plain tar
 * in tmp/ (and maybe extracted), or a link to another member. */
struct member {
  char *path;
  char *link;           /* symlink or hard link: the member it names (archive path) */
  char *data;           /* small member's bytes */
  size_t len;
  struct image_tmp tar; /* layer candidate: its plain bytes */
  char diff[72];        /* "sha256:<hex>" of those bytes */
  char *spec_dir;       /* speculative extraction (standalone drivers), NULL if none */
  int64_t size;         /* bytes of file content in spec_dir */
  bool kept;            /* tar renamed to its blob: tar.path is gone, use the blob */
};

/* The archive as read from its fd. A scratch input (an unlinked regular file: the daemon's
 * spooled upload, which nothing else can read) has what was read punched out behind us, so
 * that its pages are dropped rather than written to disk by the sync that makes layers durable. */
struct source {
  int fd;
  bool scratch;
  off_t pos, punched;
  char *buf;
};

struct loader {
  struct image_store *is;
  struct archive *outer;
  struct source src;
  struct member **m;
  size_t n;
  size_t mem_total;
  bool standalone;
  enum layer_whiteout wh;
};

static void member_free(struct loader *ld, struct member *m) {
  free(m->path);
  free(m->link);
  free(m->data);
  image_tmp_drop(&m->tar);
  if (m->spec_dir) storage_layer_abort(ld->is->drv, m->spec_dir);
  free(m->spec_dir);
  free(m);
}

static void loader_clear(struct loader *ld) {
  for (size_t i = 0; i < ld->n; i++) member_free(ld, ld->m[i]);
  free(ld->m);
  if (ld->outer) archive_read_free(ld->outer);
  free(ld->src.buf);
}

/* clean: "./a//b/../c/" -> "a/c" (lexically: symlinks such as "<id>/layer.tar ->
 * ../blobs/sha256/<hex>" are followed that way); NULL when ".." climbs above the top */
static char *clean(const char *p) {
  _cleanup_free_ char *out = xmalloc(strlen(p) + 1);
  size_t n = 0;
  while (*p) {
    while (*p == '/') p++;
    const char *e = strchrnul(p, '/');
    size_t len = (size_t)(e - p);
    if (len == 2 && p[0] == '.' && p[1] == '.') {
      if (n == 0) return NULL;
      while (n > 0 && out[n - 1] != '/') n--;
      if (n > 0) n--;
    } else if (len && !(len == 1 && p[0] == '.')) {
      if (n) out[n++] = '/';
      memcpy(out + n, p, len);
      n += len;
    }
    p = e;
  }
  out[n] = '\0';
  return take_ptr(&out);
}

static struct member *add_member(struct loader *ld, char *path) {
  struct member *m = xcalloc(1, sizeof(*m));
  m->path = path;
  m->tar.fd = -1;
  ld->m = xrealloc(ld->m, (ld->n + 1) * sizeof(*ld->m));
  ld->m[ld->n++] = m;
  return m;
}

/* find: the member at path, following links */
static struct member *find(struct loader *ld, const char *path) {
  _cleanup_free_ char *p = clean(path);
  for (int hop = 0; p && hop < LINK_HOPS; hop++) {
    struct member *hit = NULL;
    for (size_t i = ld->n; i-- > 0 && !hit;)
      if (strcmp(ld->m[i]->path, p) == 0) hit = ld->m[i];
    if (!hit || !hit->link) return hit;
    free(p);
    p = clean(hit->link);
  }
  return NULL;
}

/* ---------- the byte pipeline of one layer member ---------- */

/* The teer digests each chunk and writes it to the blob on a helper thread while the caller
 * extracts the same chunk: the two halves of the work overlap (2 cores make load ~1/4 faster).
 * A chunk stays valid until the caller asks for the next one, which first waits for the teer. */
struct teer {
  pthread_t th;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  const void *buf;
  size_t n;
  bool busy, quit;
  int err; /* positive errno of a failed write */
  struct sha256_ctx *md;
  int fd;
};

static void *teer_main(void *arg) {
  struct teer *t = arg;
  pthread_mutex_lock(&t->mu);
  for (;;) {
    while (!t->busy && !t->quit) pthread_cond_wait(&t->cv, &t->mu);
    if (!t->busy) break;
    pthread_mutex_unlock(&t->mu);
    sha256_update(t->md, t->n, t->buf);
    int r = t->err ? 0 : write_all(t->fd, t->buf, t->n);
    pthread_mutex_lock(&t->mu);
    if (r < 0) t->err = -r;
    t->busy = false;
    pthread_cond_broadcast(&t->cv);
  }
  pthread_mutex_unlock(&t->mu);
  return NULL;
}

/* teer_wait: the teer is done with its chunk; its error, if any */
static int teer_wait(struct teer *t) {
  pthread_mutex_lock(&t->mu);
  while (t->busy) pthread_cond_wait(&t->cv, &t->mu);
  int e = t->err;
  pthread_mutex_unlock(&t->mu);
  return e;
}

static void teer_post(struct teer *t, const void *buf, size_t n) {
  pthread_mutex_lock(&t->mu);
  t->buf = buf;
  t->n = n;
  t->busy = true;
  pthread_cond_broadcast(&t->cv);
  pthread_mutex_unlock(&t->mu);
}

static int teer_start(struct teer *t, struct sha256_ctx *md, int fd) {
  *t = (struct teer){.md = md, .fd = fd};
  pthread_mutex_init(&t->mu, NULL);
  pthread_cond_init(&t->cv, NULL);
  return pthread_create(&t->th, NULL, teer_main, t);
}

static void teer_stop(struct teer *t) {
  pthread_mutex_lock(&t->mu);
  t->quit = true;
  pthread_cond_broadcast(&t->cv);
  pthread_mutex_unlock(&t->mu);
  pthread_join(t->th, NULL);
  pthread_cond_destroy(&t->cv);
  pthread_mutex_destroy(&t->mu);
}

struct feed {
  struct archive *outer; /* positioned in the member */
  struct archive *raw;   /* decompressor over the member, NULL when it is plain */
  const char *head;      /* bytes of the member already read */
  size_t head_len;
  int64_t next_off;      /* where the member's next block must start (no holes in layer tars) */
  struct teer *teer;
  struct image_tmp *t;
  int err;
  char plain[IO_CHUNK];
};

/* member_bytes: the member's next bytes as stored (the head first), straight from libarchive's
 * buffer (no copy) */
static la_ssize_t member_bytes(struct feed *f, const void **buf) {
  if (f->head_len) {
    *buf = f->head;
    size_t n = f->head_len;
    f->next_off = (int64_t)n;
    f->head_len = 0;
    return (la_ssize_t)n;
  }
  size_t n = 0;
  la_int64_t off = 0;
  int rc = archive_read_data_block(f->outer, buf, &n, &off);
  if (rc == ARCHIVE_EOF) return 0;
  if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) return -1;
  if (off != f->next_off) {
    archive_set_error(f->outer, EINVAL, "a sparse layer member is not supported");
    return -1;
  }
  f->next_off += (int64_t)n;
  return (la_ssize_t)n;
}

static la_ssize_t member_cb(struct archive *a, void *cls, const void **buf) {
  (void)a;
  return member_bytes(cls, buf);
}

/* plain_bytes: the member's next plain (decompressed) bytes, digested and written to the blob */
static la_ssize_t plain_bytes(struct feed *f, const void **buf) {
  la_ssize_t n;
  int e = teer_wait(f->teer); /* the last chunk is written: its buffer may be reused now */
  if (e) {
    f->err = e;
    return -1;
  }
  if (f->raw) {
    n = archive_read_data(f->raw, f->plain, sizeof(f->plain));
    *buf = f->plain;
  } else {
    n = member_bytes(f, buf);
  }
  if (n < 0) {
    f->err = EIO;
    return n;
  }
  if (n == 0) return 0;
  teer_post(f->teer, *buf, (size_t)n);
  return n;
}

static la_ssize_t plain_cb(struct archive *a, void *cls, const void **buf) {
  la_ssize_t n = plain_bytes(cls, buf);
  if (n < 0) archive_set_error(a, ((struct feed *)cls)->err, "read layer from the archive");
  return n;
}

static const char *feed_error(struct feed *f) {
  if (f->raw && archive_errno(f->raw)) return archive_error_string(f->raw);
  return archive_error_string(f->outer) ? archive_error_string(f->outer) : strerror(f->err ? f->err : EIO);
}

/* speculate: extract the plain tar flowing through f into a new standalone layer (errors are
 * kept quiet: the member may be no layer at all; if the manifest names it, it is extracted
 * again from its blob and the error told then) */
static void speculate(struct loader *ld, struct member *m, struct feed *f) {
  _cleanup_archive_read_ struct archive *tar = archive_read_new();
  archive_read_support_format_tar(tar);
  if (archive_read_open2(tar, f, NULL, plain_cb, NULL, NULL) != ARCHIVE_OK) return;
  _cleanup_berr_ struct berth_error *e = NULL;
  if (storage_layer_begin(ld->is->drv, NULL, &m->spec_dir, &e) < 0) return;
  _cleanup_close_ int dfd = open(m->spec_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0 || layer_apply_tar(dfd, tar, ld->wh, &m->size, &e) < 0) {
    log_debug("Load: \"%s\" is not extracted as it streams: %s", m->path, e ? berr_msg(e) : "open failed");
    storage_layer_abort(ld->is->drv, m->spec_dir);
    free(m->spec_dir);
    m->spec_dir = NULL;
  }
}

/* pump: every byte of the member through f: decompressed if need be, extracted when the driver
 * takes standalone layers, and drained to the end */
static int pump(struct loader *ld, struct member *m, struct feed *f, bool compressed, struct berth_error **err) {
  _cleanup_archive_read_ struct archive *raw = NULL;
  if (compressed) {
    raw = archive_read_new();
    archive_read_support_filter_all(raw);
    archive_read_support_format_raw(raw);
    struct archive_entry *e;
    if (archive_read_open2(raw, f, NULL, member_cb, NULL, NULL) != ARCHIVE_OK ||
        archive_read_next_header(raw, &e) != ARCHIVE_OK)
      return berr(err, EINVAL, "load: layer \"%s\": %s", m->path, archive_error_string(raw));
    f->raw = raw;
  }
  if (ld->standalone) speculate(ld, m, f);
  const void *buf;
  la_ssize_t n;
  while ((n = plain_bytes(f, &buf)) > 0) {
  }
  if (n < 0) return berr(err, EINVAL, "load: read \"%s\" from the archive: %s", m->path, feed_error(f));
  return 0;
}

/* take_layer: the member (its first bytes in head) becomes a layer candidate */
static int take_layer(struct loader *ld, struct member *m, const char *head, size_t hn, bool compressed,
                      struct berth_error **err) {
  int r = image_tmp_make(ld->is, "layer", &m->tar, err);
  if (r < 0) return r;
  _cleanup_free_ struct feed *f = xcalloc(1, sizeof(*f));
  struct sha256_ctx md;
  sha256_init(&md);
  struct teer teer;
  int te = teer_start(&teer, &md, m->tar.fd);
  if (te != 0) return berr_sys(err, te, "start a thread");
  *f = (struct feed){.outer = ld->outer, .head = head, .head_len = hn, .teer = &teer, .t = &m->tar};
  r = pump(ld, m, f, compressed, err);
  int e = teer_wait(&teer);
  teer_stop(&teer);
  if (r == 0 && e) r = berr_sys(err, e, "write \"%s\"", m->tar.path);
  if (r < 0) return r;
  uint8_t d[SHA256_DIGEST_SIZE];
  sha256_digest(&md, sizeof(d), d);
  strcpy(m->diff, "sha256:");
  image_hex(d, sizeof(d), m->diff + 7);
  return 0;
}

/* ---------- reading the archive ---------- */

static bool looks_tar(const unsigned char *h, size_t n) {
  if (n < 512) return false;
  if (memcmp(h + 257, "ustar", 5) == 0) return true;
  for (size_t i = 0; i < 512; i++) /* an empty layer is just the end-of-archive blocks */
    if (h[i]) return false;
  return true;
}

static bool looks_compressed(const unsigned char *h, size_t n) {
  static const struct {
    const char *magic;
    size_t n;
  } magics[] = {{"\x1f\x8b", 2}, {"\x28\xb5\x2f\xfd", 4}, {"BZh", 3}, {"\xfd" "7zXZ", 5}};
  for (size_t i = 0; i < ARRAY_SIZE(magics); i++)
    if (n >= magics[i].n && memcmp(h, magics[i].magic, magics[i].n) == 0) return true;
  return false;
}

/* read_blocks: whole data blocks of the current member appended to b until it holds want bytes
 * (or the member ends); blocks, not archive_read_data, so that a feed can go on with blocks */
static int read_blocks(struct archive *a, struct buf *b, size_t want) {
  while (b->len < want) {
    const void *p;
    size_t n = 0;
    la_int64_t off = 0;
    int rc = archive_read_data_block(a, &p, &n, &off);
    if (rc == ARCHIVE_EOF) return 0;
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) return -EIO;
    if (off != (la_int64_t)b->len) {
      archive_set_error(a, EINVAL, "a sparse member is not supported");
      return -EINVAL;
    }
    buf_append(b, p, n);
  }
  return 0;
}

static int keep_small(struct loader *ld, struct member *m, struct buf *head, int64_t size, struct berth_error **err) {
  if (size > JSON_MEMBER_MAX || ld->mem_total + (size_t)size > JSON_TOTAL_MAX) return 0; /* nothing we read */
  if (read_blocks(ld->outer, head, (size_t)size) < 0)
    return berr(err, EINVAL, "load: read \"%s\": %s", m->path, archive_error_string(ld->outer));
  m->len = head->len;
  m->data = buf_steal(head);
  if (!m->data) m->data = xstrdup("");
  ld->mem_total += m->len;
  return 0;
}

/* known_blob: "blobs/sha256/<hex>" (Docker 25 and berth name uncompressed layers by their diff
 * id) that is already a layer's blob here: nothing to read, the local blob stands for it (only
 * used if the config names that diff id, so a member lying about its name changes nothing) */
static bool known_blob(struct loader *ld, struct member *m) {
  const char *hex = m->path + strlen("blobs/sha256/");
  if (strncmp(m->path, "blobs/sha256/", 13) != 0 || !id_is_hex(hex, 64)) return false;
  char diff[72];
  snprintf(diff, sizeof(diff), "sha256:%s", hex);
  _cleanup_berr_ struct berth_error *e = NULL;
  _cleanup_free_ char *blob = path_join(ld->is->blobs, hex);
  pthread_mutex_lock(&ld->is->lock); /* not removed while we look */
  bool known = store_diff_id_used(ld->is->st, diff, &e) == 1 && access(blob, R_OK) == 0;
  pthread_mutex_unlock(&ld->is->lock);
  if (!known) return false;
  memcpy(m->diff, diff, sizeof(diff));
  m->kept = true;
  return true;
}

static int take_member(struct loader *ld, struct archive_entry *e, struct berth_error **err) {
  char *path = clean(archive_entry_pathname(e) ? archive_entry_pathname(e) : "");
  const char *hard = archive_entry_hardlink(e);
  mode_t type = archive_entry_filetype(e);
  bool wanted = path && *path && (hard || type == AE_IFLNK || type == AE_IFREG);
  if (!wanted) { /* directories, devices, ".." paths: nothing a loader reads */
    free(path);
    return 0;
  }
  if (hard) {
    add_member(ld, path)->link = xstrdup(hard);
    return 0;
  }
  if (type == AE_IFLNK) {
    const char *t = archive_entry_symlink(e) ? archive_entry_symlink(e) : "";
    const char *slash = strrchr(path, '/');
    struct member *m = add_member(ld, path);
    m->link = t[0] == '/' || !slash ? xstrdup(t) : xasprintf("%.*s/%s", (int)(slash - path), path, t);
    return 0;
  }
  struct member *m = add_member(ld, path);
  if (known_blob(ld, m)) return 0; /* its bytes are skipped with the member */
  _cleanup_buf_ struct buf head = {0};
  if (read_blocks(ld->outer, &head, 512) < 0)
    return berr(err, EINVAL, "load: read \"%s\": %s", path, archive_error_string(ld->outer));
  const unsigned char *h = (const unsigned char *)(head.p ? head.p : "");
  bool compressed = looks_compressed(h, head.len);
  if (compressed || looks_tar(h, head.len)) return take_layer(ld, m, head.p, head.len, compressed, err);
  return keep_small(ld, m, &head, archive_entry_size(e), err);
}

static la_ssize_t source_read(struct archive *a, void *cls, const void **buf) {
  struct source *s = cls;
  if (s->scratch && s->pos > s->punched) {
    if (fallocate(s->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, s->punched, s->pos - s->punched) < 0)
      s->scratch = false; /* a filesystem without holes: just read on */
    s->punched = s->pos;
  }
  ssize_t n;
  do n = read(s->fd, s->buf, IO_CHUNK);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    archive_set_error(a, errno, "read the archive: %s", strerror(errno));
    return -1;
  }
  s->pos += n;
  *buf = s->buf;
  return n;
}

static int read_archive(struct loader *ld, int in_fd, struct berth_error **err) {
  struct stat st;
  ld->src = (struct source){.fd = in_fd, .buf = xmalloc(IO_CHUNK)};
  ld->src.scratch = fstat(in_fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 0;
  ld->src.pos = ld->src.punched = ld->src.scratch ? lseek(in_fd, 0, SEEK_CUR) : 0;
  if (ld->src.pos < 0) ld->src.scratch = false;
  ld->outer = archive_read_new();
  archive_read_support_filter_all(ld->outer);
  archive_read_support_format_tar(ld->outer);
  if (archive_read_open2(ld->outer, &ld->src, NULL, source_read, NULL, NULL) != ARCHIVE_OK)
    return berr(err, EINVAL, "load: %s", archive_error_string(ld->outer));
  struct archive_entry *e;
  int rc, r = 0;
  while ((rc = archive_read_next_header(ld->outer, &e)) == ARCHIVE_OK || rc == ARCHIVE_WARN) {
    r = take_member(ld, e, err);
    if (r < 0) return r;
  }
  if (rc != ARCHIVE_EOF) return berr(err, EINVAL, "load: %s", archive_error_string(ld->outer));
  if (ld->n == 0) return berr(err, EINVAL, "load: the archive is empty");
  return 0;
}

/* ---------- what the archive says: manifest.json or the OCI index ---------- */

static json_t *member_json(struct loader *ld, const char *path, struct berth_error **err) {
  struct member *m = find(ld, path);
  if (!m || !m->data) return berr(err, EINVAL, "load: the archive has no \"%s\"", path), NULL;
  json_t *j = json_loadb(m->data, m->len, 0, NULL);
  if (!j) berr(err, EINVAL, "load: \"%s\" is not JSON", path);
  return j;
}

/* blob_path: a descriptor's "sha256:<hex>" -> "blobs/sha256/<hex>" (heap), NULL for anything else */
static char *blob_path(json_t *desc) {
  const char *d = json_string_value(json_object_get(desc, "digest"));
  if (!d || strncmp(d, "sha256:", 7) != 0 || strlen(d) != 71 || !id_is_hex(d + 7, 64)) return NULL;
  return xasprintf("blobs/sha256/%s", d + 7);
}

/* oci_entry: one index.json descriptor as a manifest.json entry {Config, Layers, RepoTags, Digest} */
static json_t *oci_entry(struct loader *ld, json_t *desc, struct berth_error **err) {
  _cleanup_free_ char *mp = blob_path(desc);
  if (!mp) return berr(err, EINVAL, "load: index.json: bad manifest digest"), NULL;
  json_auto_t *m = member_json(ld, mp, err);
  if (!m) return NULL;
  if (json_object_get(m, "manifests"))
    return berr(err, ENOTSUP, "load: nested OCI image indexes (multi-platform archives) are not supported yet"), NULL;
  _cleanup_free_ char *cp = blob_path(json_object_get(m, "config"));
  if (!cp) return berr(err, EINVAL, "load: manifest \"%s\" has no config", mp), NULL;
  json_auto_t *layers = json_array(), *tags = json_array();
  size_t i;
  json_t *l;
  json_array_foreach(json_object_get(m, "layers"), i, l) {
    char *lp = blob_path(l);
    if (!lp) return berr(err, EINVAL, "load: manifest \"%s\": bad layer digest", mp), NULL;
    json_array_append_new(layers, json_string(lp));
    free(lp);
  }
  json_t *ann = json_object_get(desc, "annotations");
  const char *name = json_string_value(json_object_get(ann, "io.containerd.image.name"));
  if (name) json_array_append_new(tags, json_string(name));
  return json_pack("{s:s, s:O, s:O, s:O}", "Config", cp, "Layers", layers, "RepoTags", tags, "Digest",
                   json_object_get(desc, "digest"));
}

static json_t *oci_entries(struct loader *ld, json_t *idx, struct berth_error **err) {
  json_auto_t *out = json_array();
  json_t *d;
  size_t i;
  json_array_foreach(json_object_get(idx, "manifests"), i, d) {
    json_t *e = oci_entry(ld, d, err);
    if (!e) return NULL;
    json_array_append_new(out, e);
  }
  return json_incref(out);
}

/* add_digests: manifest.json entries get the manifest digest the OCI index knows for their config */
static void add_digests(json_t *manifest, json_t *oci) {
  size_t i, k;
  json_t *e, *o;
  json_array_foreach(manifest, i, e) {
    _cleanup_free_ char *cfg = clean(json_string_value(json_object_get(e, "Config")) ?: "");
    json_array_foreach(oci, k, o) if (cfg && strcmp(json_string_value(json_object_get(o, "Config")), cfg) == 0)
      json_object_set(e, "Digest", json_object_get(o, "Digest"));
  }
}

/* the_manifest: manifest.json (Docker's) with digests from index.json, else index.json alone */
static json_t *the_manifest(struct loader *ld, struct berth_error **err) {
  struct member *idx_m = find(ld, "index.json");
  json_auto_t *idx = idx_m && idx_m->data ? json_loadb(idx_m->data, idx_m->len, 0, NULL) : NULL;
  _cleanup_berr_ struct berth_error *oci_err = NULL;
  json_auto_t *oci = idx ? oci_entries(ld, idx, &oci_err) : NULL;
  struct member *mm = find(ld, "manifest.json");
  if (!mm || !mm->data) {
    if (oci) return json_incref(oci);
    if (oci_err) return berr(err, oci_err->code, "%s", oci_err->msg), NULL;
    return berr(err, EINVAL, "load: the archive has neither manifest.json nor index.json (not an image archive)"), NULL;
  }
  json_t *m = json_loadb(mm->data, mm->len, 0, NULL);
  if (!json_is_array(m)) {
    json_decref(m);
    return berr(err, EINVAL, "load: manifest.json is not a JSON array"), NULL;
  }
  if (oci) add_digests(m, oci);
  return m;
}

/* ---------- registering what the manifest names ---------- */

/* small_to_tar: a layer member that did not look like a tar when it streamed by (kept in memory)
 * gets a temporary plain tar and digest the usual way */
static int small_to_tar(struct loader *ld, struct member *m, struct berth_error **err) {
  _cleanup_image_tmp_ struct image_tmp src = {.fd = -1};
  int r = image_tmp_make(ld->is, "member", &src, err);
  if (r == 0 && (r = write_all(src.fd, m->data, m->len)) < 0) r = berr_sys(err, -r, "write \"%s\"", src.path);
  if (r == 0 && lseek(src.fd, 0, SEEK_SET) < 0) r = berr_sys(err, errno, "seek \"%s\"", src.path);
  if (r == 0) r = image_tmp_make(ld->is, "layer", &m->tar, err);
  char hex[65];
  if (r == 0) r = image_decompress(src.fd, &m->tar, hex, err);
  if (r < 0) return berr_prefix(err, "load: layer \"%s\"", m->path);
  snprintf(m->diff, sizeof(m->diff), "sha256:%s", hex);
  free(m->data);
  m->data = NULL;
  return 0;
}

/* use_layer: the member at lp as the layer over parent whose diff id the config says is want;
 * committed now (a crash leaves a layer without a row: startup removes it), registered later */
static int use_layer(struct loader *ld, const char *lp, const char *want, const char *parent, char chain[72],
                     int64_t *size, struct berth_error **err) {
  struct member *m = find(ld, lp);
  if (!m || (!m->data && !m->diff[0])) return berr(err, EINVAL, "load: the archive has no layer \"%s\"", lp);
  int r = m->data ? small_to_tar(ld, m, err) : 0;
  if (r < 0) return r;
  if (strcmp(m->diff, want) != 0)
    return berr(err, EINVAL, "load: layer \"%s\" has diff id %s, the config says %s", lp, m->diff, want);
  image_chain_id(parent, want, chain);
  if (image_layer_known(ld->is, chain, size)) return 0;
  _cleanup_free_ char *tmp_dir = NULL;
  if (m->spec_dir) {
    tmp_dir = take_ptr(&m->spec_dir);
    *size = m->size;
  } else {
    _cleanup_free_ char *blob = m->kept ? path_join(ld->is->blobs, want + 7) : NULL;
    r = image_extract_layer(ld->is, blob ? blob : m->tar.path, parent, &tmp_dir, size, err);
    if (r < 0) return berr_prefix(err, "load: layer \"%s\"", lp);
  }
  r = image_keep_layer(ld->is, tmp_dir, chain, m->kept ? NULL : &m->tar, want, err);
  if (r == 0) m->kept = true;
  return r;
}

/* load_refs: the entry's tags, normalized, then "repo@digest" for each repository when the
 * archive says the manifest's digest */
static int load_refs(json_t *entry, char ***refs, struct berth_error **err) {
  *refs = xcalloc(1, sizeof(char *));
  size_t i;
  json_t *x;
  json_array_foreach(json_object_get(entry, "RepoTags"), i, x) {
    char *ref = NULL;
    int r = image_tag_ref(json_string_value(x) ? json_string_value(x) : "", &ref, err);
    if (r < 0) return r;
    *refs = strv_push_take(*refs, ref);
  }
  const char *digest = json_string_value(json_object_get(entry, "Digest"));
  size_t n = strv_len(*refs);
  for (i = 0; digest && i < n; i++) {
    const char *colon = strrchr((*refs)[i], ':');
    _cleanup_free_ char *d = xasprintf("%.*s@%s", (int)(colon - (*refs)[i]), (*refs)[i], digest);
    bool dup = false;
    for (size_t k = n; (*refs)[k] && !dup; k++) dup = strcmp((*refs)[k], d) == 0;
    if (!dup) *refs = strv_push(*refs, d);
  }
  return 0;
}

static int load_one(struct loader *ld, json_t *entry, json_t *out, struct berth_error **err) {
  const char *cfg_path = json_string_value(json_object_get(entry, "Config"));
  json_t *layers = json_object_get(entry, "Layers");
  if (!cfg_path || !json_is_array(layers)) return berr(err, EINVAL, "load: manifest.json entry lacks Config or Layers");
  struct member *cm = find(ld, cfg_path);
  if (!cm || !cm->data) return berr(err, EINVAL, "load: the archive has no config \"%s\"", cfg_path);
  json_auto_t *config = json_loadb(cm->data, cm->len, 0, NULL);
  json_t *diffs = json_object_get(json_object_get(config, "rootfs"), "diff_ids");
  if (!json_is_array(diffs) || json_array_size(diffs) != json_array_size(layers))
    return berr(err, EINVAL, "load: config \"%s\" and manifest disagree on the layers", cfg_path);
  _cleanup_strv_ char **refs = NULL;
  int r = load_refs(entry, &refs, err);
  if (r < 0) return r;
  size_t n = json_array_size(layers);
  _cleanup_free_ struct store_layer_rec *recs = xcalloc(n + 1, sizeof(*recs));
  _cleanup_free_ char(*chains)[72] = xcalloc(n + 1, 72);
  int64_t total = 0;
  for (size_t i = 0; i < n && r == 0; i++) {
    const char *lp = json_string_value(json_array_get(layers, i));
    const char *diff = json_string_value(json_array_get(diffs, i));
    if (!lp || !diff) r = berr(err, EINVAL, "load: bad layer entry %zu", i);
    if (r == 0) r = use_layer(ld, lp, diff, i ? chains[i - 1] : NULL, chains[i], &recs[i].size, err);
    recs[i] = (struct store_layer_rec){chains[i], diff, i ? chains[i - 1] : NULL, recs[i].size};
    total += recs[i].size;
  }
  _cleanup_free_ char *id = NULL;
  _cleanup_free_ char *text = xstrndup(cm->data, cm->len); /* the exact bytes: their digest is the id */
  struct image_reg reg = {.config_text = text, .layers = recs, .n_layers = n, .size = total,
                          .tag = refs[0], .extra_tags = refs[0] ? refs + 1 : NULL};
  if (r == 0) r = image_register(ld->is, &reg, &id, err);
  for (size_t i = 0; r == 0 && refs[i]; i++)
    if (!strchr(refs[i], '@')) json_array_append_new(out, json_sprintf("Loaded image: %s", refs[i]));
  if (r == 0 && !refs[0]) json_array_append_new(out, json_sprintf("Loaded image ID: %s", id));
  return r;
}

int image_load(struct image_store *is, int in_fd, json_t **out, struct berth_error **err) {
  struct loader ld = {.is = is, .standalone = storage_layer_standalone(is->drv)};
  ld.wh = strcmp(storage_driver_name(is->drv), "overlay2") == 0 ? LAYER_WHITEOUT_OVERLAY : LAYER_WHITEOUT_DELETE;
  int r = read_archive(&ld, in_fd, err);
  json_auto_t *manifest = r == 0 ? the_manifest(&ld, err) : NULL;
  if (r == 0 && !manifest) r = -EINVAL;
  json_auto_t *lines = json_array();
  size_t i;
  json_t *entry;
  if (r == 0) json_array_foreach(manifest, i, entry) {
      r = load_one(&ld, entry, lines, err);
      if (r < 0) break;
    }
  loader_clear(&ld);
  if (r == 0) *out = json_incref(lines);
  return r;
}
