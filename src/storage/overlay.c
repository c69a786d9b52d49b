/* overlay.c - the overlay graph driver: root/<chain hex>/diff per layer, root/l/<short> links to
 * them so that deep chains fit in mount(2)'s one-page option string, container upper/work in
 * the container's directory */
#define LOG_TAG "storage"
#include "storage/storage_int.h"
#include "common/buf.h"
#include "common/fs.h"
#include "common/xalloc.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define SHORT_LEN 12 /* 36^12 names: collisions are checked anyway; 125 layers take ~1.9 kB */

static void short_name(char out[SHORT_LEN + 1]) {
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  unsigned char rnd[SHORT_LEN];
  if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
    for (size_t i = 0; i < sizeof(rnd); i++) rnd[i] = (unsigned char)(rand() & 0xff);
  }
  for (size_t i = 0; i < SHORT_LEN; i++) out[i] = alphabet[rnd[i] % 36];
  out[SHORT_LEN] = '\0';
}

static char *layer_dir(struct storage *s, const char *hex) { return path_join(s->root, hex); }
static char *ov_content(struct storage *s, const char *hex) { return xasprintf("%s/%s/diff", s->root, hex); }

static int ov_begin(struct storage *s, const char *parent_hex, char **tmp_dir, struct berth_error **err) {
  _cleanup_free_ char *base = NULL;
  int r = storage_make_tmp(s, &base, err);
  if (r < 0) return r;
  _cleanup_free_ char *diff = path_join(base, "diff");
  if (mkdir(diff, 0755) < 0) {
    r = berr_sys(err, errno, "mkdir \"%s\"", diff);
    rm_rf(base, NULL);
    return r;
  }
  *tmp_dir = take_ptr(&diff);
  return 0;
}

/* tmp_base: ".../.tmp-XXXXXX/diff" -> ".../.tmp-XXXXXX", NULL if tmp_dir is not ours */
static char *tmp_base(struct storage *s, const char *tmp_dir) {
  size_t rl = strlen(s->root);
  if (strncmp(tmp_dir, s->root, rl) != 0 || strncmp(tmp_dir + rl, "/.tmp-", 6) != 0) return NULL;
  char *b = xstrdup(tmp_dir);
  char *slash = strrchr(b, '/');
  if (slash && strcmp(slash, "/diff") == 0 && slash > b + rl) *slash = '\0';
  return b;
}

/* ensure_link: root/hex/link names root/l/<short> -> ../hex/diff; (re)made when missing */
static int ensure_link(struct storage *s, const char *hex, char out[SHORT_LEN + 1], struct berth_error **err) {
  _cleanup_free_ char *link_file = xasprintf("%s/%s/link", s->root, hex);
  _cleanup_free_ char *target = xasprintf("../%s/diff", hex);
  _cleanup_free_ char *text = NULL;
  if (read_file(link_file, &text, NULL, NULL) == 0 && strlen(text) == SHORT_LEN) {
    memcpy(out, text, SHORT_LEN + 1);
    _cleanup_free_ char *lp = xasprintf("%s/l/%s", s->root, out);
    char cur[128];
    ssize_t n = readlink(lp, cur, sizeof(cur) - 1);
    if (n > 0 && (size_t)n == strlen(target) && memcmp(cur, target, (size_t)n) == 0) return 0;
    unlink(lp);
    if (symlink(target, lp) == 0) return 0;
  }
  for (int tries = 0; tries < 16; tries++) {
    short_name(out);
    _cleanup_free_ char *lp = xasprintf("%s/l/%s", s->root, out);
    if (symlink(target, lp) < 0) {
      if (errno == EEXIST) continue;
      return berr_sys(err, errno, "symlink \"%s\"", lp);
    }
    return write_file_atomic(link_file, out, SHORT_LEN, 0644, 0, err);
  }
  return berr(err, EEXIST, "no free short layer name in \"%s/l\"", s->root);
}

static int ov_commit(struct storage *s, const char *tmp_dir, const char *hex, struct berth_error **err) {
  _cleanup_free_ char *base = tmp_base(s, tmp_dir);
  if (!base) return berr(err, EINVAL, "\"%s\" is not a layer being extracted", tmp_dir);
  _cleanup_free_ char *dst = layer_dir(s, hex);
  /* no sync here: a layer dir without a store row is removed at startup, and the image module
   * syncs once (storage_sync) before the transaction that makes a layer known */
  if (rename(base, dst) < 0) {
    if (errno != EEXIST && errno != ENOTEMPTY) return berr_sys(err, errno, "rename \"%s\" to \"%s\"", base, dst);
    rm_rf(base, NULL); /* the same layer was committed meanwhile: same content by definition */
  }
  char sn[SHORT_LEN + 1];
  return ensure_link(s, hex, sn, err);
}

static void ov_abort(struct storage *s, const char *tmp_dir) {
  _cleanup_free_ char *base = tmp_base(s, tmp_dir);
  if (base) rm_rf(base, NULL);
}

static int ov_remove(struct storage *s, const char *hex, struct berth_error **err) {
  _cleanup_free_ char *link_file = xasprintf("%s/%s/link", s->root, hex);
  _cleanup_free_ char *text = NULL;
  if (read_file(link_file, &text, NULL, NULL) == 0 && strlen(text) == SHORT_LEN && !strchr(text, '/')) {
    _cleanup_free_ char *lp = xasprintf("%s/l/%s", s->root, text);
    unlink(lp);
  }
  _cleanup_free_ char *dir = layer_dir(s, hex);
  return rm_rf(dir, err);
}

static int ov_container_create(struct storage *s, const char *ctr_dir, char *const *hexes, struct berth_error **err) {
  static const struct {
    const char *name;
    mode_t mode;
  } dirs[] = {{"upper", 0755}, {"work", 0700}, {"empty", 0755}};
  for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
    if (i == 2 && hexes[0]) break; /* "empty" is the lowerdir of an image without layers */
    _cleanup_free_ char *p = path_join(ctr_dir, dirs[i].name);
    if (mkdir(p, dirs[i].mode) < 0 && errno != EEXIST) return berr_sys(err, errno, "mkdir \"%s\"", p);
  }
  return 0;
}

struct mount_job {
  int dirfd;
  const char *target;
  const char *opts;
  int err;
};

/* mount_in_dir_thread: a thread with its own cwd (unshare CLONE_FS) mounts with lowerdirs relative
 * to root: the daemon's other threads keep their cwd, and no process is forked */
static void *mount_in_dir_thread(void *arg) {
  struct mount_job *j = arg;
  if (unshare(CLONE_FS) < 0 || fchdir(j->dirfd) < 0 || mount("overlay", j->target, "overlay", 0, j->opts) < 0)
    j->err = errno;
  return NULL;
}

static void append_tail_opts(struct storage *s, struct buf *b, const char *ctr_dir) {
  buf_printf(b, ",upperdir=%s/upper,workdir=%s/work", ctr_dir, ctr_dir);
  buf_puts(b, s->overlay_opts);
}

static int mount_short(struct storage *s, const char *ctr_dir, char *const *hexes, const char *target,
                       struct berth_error **err) {
  _cleanup_buf_ struct buf b = {0};
  buf_puts(&b, "lowerdir=");
  size_t n = 0;
  while (hexes[n]) n++;
  for (size_t i = n; i-- > 0;) {
    char sn[SHORT_LEN + 1];
    int r = ensure_link(s, hexes[i], sn, err);
    if (r < 0) return r;
    buf_printf(&b, "%sl/%s", i + 1 == n ? "" : ":", sn);
  }
  append_tail_opts(s, &b, ctr_dir);
  if (b.len >= (size_t)getpagesize())
    return berr(err, E2BIG, "%zu layers are too many for one overlay mount", n);
  _cleanup_close_ int dfd = open(s->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return berr_sys(err, errno, "open \"%s\"", s->root);
  struct mount_job job = {.dirfd = dfd, .target = target, .opts = b.p};
  pthread_t th;
  int r = pthread_create(&th, NULL, mount_in_dir_thread, &job);
  if (r != 0) return berr_sys(err, r, "start mount thread");
  pthread_join(th, NULL);
  if (job.err) return berr_sys(err, job.err, "mount overlay on \"%s\" (%zu layers)", target, n);
  return 0;
}

static int ov_container_mount(struct storage *s, const char *ctr_dir, char *const *hexes, struct berth_error **err) {
  _cleanup_free_ char *abs = NULL;
  if (ctr_dir[0] != '/') {
    _cleanup_free_ char *cwd = getcwd(NULL, 0);
    if (!cwd) return berr_sys(err, errno, "getcwd");
    abs = path_join(cwd, ctr_dir);
    ctr_dir = abs;
  }
  _cleanup_free_ char *target = path_join(ctr_dir, "rootfs");
  _cleanup_buf_ struct buf b = {0};
  buf_puts(&b, "lowerdir=");
  size_t n = 0;
  while (hexes[n]) n++;
  if (n == 0) buf_printf(&b, "%s/empty", ctr_dir);
  for (size_t i = n; i-- > 0;) buf_printf(&b, "%s%s/%s/diff", i + 1 == n ? "" : ":", s->root, hexes[i]);
  append_tail_opts(s, &b, ctr_dir);
  /* the whole option string must fit in one page; deep chains use the short links */
  if (b.len >= (size_t)getpagesize()) return mount_short(s, ctr_dir, hexes, target, err);
  if (mount("overlay", target, "overlay", 0, b.p) < 0)
    return berr_sys(err, errno, "mount overlay on \"%s\"", target);
  return 0;
}

static json_t *ov_graph_data(struct storage *s, const char *ctr_dir, char *const *hexes) {
  size_t n = 0;
  while (hexes[n]) n++;
  if (n == 0 && !ctr_dir) return NULL;
  _cleanup_buf_ struct buf lower = {0};
  size_t lower_n = ctr_dir ? n : n - 1; /* an image's top layer is shown as its UpperDir */
  for (size_t i = lower_n; i-- > 0;) buf_printf(&lower, "%s%s/%s/diff", lower.len ? ":" : "", s->root, hexes[i]);
  json_t *d = json_object();
  if (lower.len) json_object_set_new(d, "LowerDir", json_string(lower.p));
  if (ctr_dir) {
    json_object_set_new(d, "MergedDir", json_sprintf("%s/rootfs", ctr_dir));
    json_object_set_new(d, "UpperDir", json_sprintf("%s/upper", ctr_dir));
    json_object_set_new(d, "WorkDir", json_sprintf("%s/work", ctr_dir));
  } else {
    json_object_set_new(d, "MergedDir", json_sprintf("%s/%s/merged", s->root, hexes[n - 1]));
    json_object_set_new(d, "UpperDir", json_sprintf("%s/%s/diff", s->root, hexes[n - 1]));
    json_object_set_new(d, "WorkDir", json_sprintf("%s/%s/work", s->root, hexes[n - 1]));
  }
  return d;
}

const struct storage_ops storage_overlay_ops = {
    .name = "overlay",
    .shown = "overlay2", /* Docker's name for this layout (diff/ + l/ short links) */
    .layer_begin = ov_begin,
    .layer_commit = ov_commit,
    .layer_abort = ov_abort,
    .layer_remove = ov_remove,
    .layer_content = ov_content,
    .container_create = ov_container_create,
    .container_mount = ov_container_mount,
    .graph_data = ov_graph_data,
};
