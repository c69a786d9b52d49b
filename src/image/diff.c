/* diff.c - what a container changed over its image: from the overlay upper directory (whiteouts,
 * opaque dirs, entries shadowing lower ones) or, for vfs, by comparing the container's copy with
 * the image's top layer (Docker's "naive diff") */
#include "image/image_int.h"
#include "common/fs.h"
#include "common/strv.h"
#include "common/syscalls.h"
#include "common/xalloc.h"
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

struct collect {
  struct layer_change *v;
  size_t n, cap;
};

static void add(struct collect *c, const char *path, enum layer_change_kind kind, bool opaque) {
  if (c->n == c->cap) c->v = xrealloc(c->v, (c->cap = c->cap ? c->cap * 2 : 32) * sizeof(*c->v));
  c->v[c->n++] = (struct layer_change){xstrdup(path), kind, opaque};
}

void layer_changes_free(struct layer_change *v, size_t n) {
  for (size_t i = 0; i < n; i++) free(v[i].path);
  free(v);
}

static bool is_whiteout(const struct stat *st) { return S_ISCHR(st->st_mode) && st->st_rdev == 0; }

static bool same_time(const struct stat *a, const struct stat *b) {
  return a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* changed: Docker's statDifferent (directories: their size says nothing) */
static bool changed(const struct stat *o, const struct stat *n) {
  if (o->st_mode != n->st_mode || o->st_uid != n->st_uid || o->st_gid != n->st_gid || o->st_rdev != n->st_rdev)
    return true;
  if (!same_time(o, n)) return true;
  return !S_ISDIR(n->st_mode) && o->st_size != n->st_size;
}

typedef int (*entry_fn)(struct collect *c, int dirfd, const char *name, const char *path, void *ctx,
                        struct berth_error **err);

/* each_entry: call fn for every entry of dirfd with its path ("/a/b") */
static int each_entry(struct collect *c, int dirfd, const char *rel, entry_fn fn, void *ctx, struct berth_error **err) {
  int dfd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return berr_sys(err, errno, "open \"%s\"", rel);
  _cleanup_closedir_ DIR *d = fdopendir(dfd);
  if (!d) {
    close(dfd);
    return berr_sys(err, errno, "read \"%s\"", rel);
  }
  struct dirent *de;
  while ((de = readdir(d))) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
    _cleanup_free_ char *path = xasprintf("%s/%s", rel, de->d_name);
    int r = fn(c, dirfd, de->d_name, path, ctx, err);
    if (r < 0) return r;
  }
  return 0;
}

/* ---------- overlay ---------- */

struct lowers {
  int *fds; /* top first */
  size_t n;
};

/* in_lower: the path as the image shows it (the first layer that has it, unless whited out);
 * resolved without symlinks so a layer's links never lead outside it */
static bool in_lower(struct lowers *lo, const char *path, struct stat *st) {
  for (size_t i = 0; i < lo->n; i++) {
    struct open_how how = {.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC, .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS};
    _cleanup_close_ int fd = sys_openat2(lo->fds[i], path + 1, &how);
    if (fd < 0) continue;
    if (fstat(fd, st) < 0) continue;
    return !is_whiteout(st);
  }
  return false;
}

static int upper_entry(struct collect *c, int dirfd, const char *name, const char *path, void *ctx,
                       struct berth_error **err) {
  struct lowers *lo = ctx;
  struct stat st, lst;
  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) return berr_sys(err, errno, "stat \"%s\"", path);
  if (is_whiteout(&st)) {
    add(c, path, LAYER_CHANGE_DELETED, false);
    return 0;
  }
  bool found = in_lower(lo, path, &lst);
  if (!S_ISDIR(st.st_mode)) {
    add(c, path, found ? LAYER_CHANGE_MODIFIED : LAYER_CHANGE_ADDED, false);
    return 0;
  }
  _cleanup_close_ int sub = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (sub < 0) return berr_sys(err, errno, "open \"%s\"", path);
  char v = 0;
  bool opaque = fgetxattr(sub, "trusted.overlay.opaque", &v, 1) == 1 && v == 'y';
  if (!found) add(c, path, LAYER_CHANGE_ADDED, false);
  else if (opaque || !S_ISDIR(lst.st_mode) || changed(&lst, &st)) add(c, path, LAYER_CHANGE_MODIFIED, opaque);
  return each_entry(c, sub, path, upper_entry, lo, err);
}

static int overlay_changes(struct image_store *is, const char *ctr_dir, char *const *chain_ids, struct collect *c,
                           char **new_root, struct berth_error **err) {
  size_t n = strv_len(chain_ids);
  struct lowers lo = {.fds = xcalloc(n + 1, sizeof(int)), .n = 0};
  int r = 0;
  for (size_t i = n; i-- > 0 && r == 0;) {
    _cleanup_free_ char *p = storage_layer_path(is->drv, chain_ids[i]);
    int fd = p ? open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (fd < 0) r = berr_sys(err, p ? errno : EINVAL, "open layer %s", chain_ids[i]);
    else lo.fds[lo.n++] = fd;
  }
  *new_root = path_join(ctr_dir, "upper");
  _cleanup_close_ int up = r == 0 ? open(*new_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
  if (r == 0 && up < 0) r = berr_sys(err, errno, "open \"%s\"", *new_root);
  if (r == 0) r = each_entry(c, up, "", upper_entry, &lo, err);
  for (size_t i = 0; i < lo.n; i++) close(lo.fds[i]);
  free(lo.fds);
  return r;
}

/* ---------- vfs: compare two trees ---------- */

static int sub_dir(int dirfd, const char *name) {
  return dirfd < 0 ? -1 : openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

static int new_entry(struct collect *c, int dirfd, const char *name, const char *path, void *ctx,
                     struct berth_error **err);

static int walk_new(struct collect *c, int newfd, int oldfd, const char *rel, struct berth_error **err) {
  return each_entry(c, newfd, rel, new_entry, &oldfd, err);
}

static bool same_link(int odir, int ndir, const char *name) {
  char a[PATH_MAX], b[PATH_MAX];
  ssize_t x = readlinkat(odir, name, a, sizeof(a)), y = readlinkat(ndir, name, b, sizeof(b));
  return x == y && x >= 0 && memcmp(a, b, (size_t)x) == 0;
}

static int new_entry(struct collect *c, int dirfd, const char *name, const char *path, void *ctx,
                     struct berth_error **err) {
  int oldfd = *(int *)ctx;
  struct stat st, ost;
  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) return berr_sys(err, errno, "stat \"%s\"", path);
  bool found = oldfd >= 0 && fstatat(oldfd, name, &ost, AT_SYMLINK_NOFOLLOW) == 0;
  if (!found) add(c, path, LAYER_CHANGE_ADDED, false);
  else if (changed(&ost, &st) || (S_ISLNK(st.st_mode) && !same_link(oldfd, dirfd, name)))
    add(c, path, LAYER_CHANGE_MODIFIED, false);
  if (!S_ISDIR(st.st_mode)) return 0;
  _cleanup_close_ int nsub = sub_dir(dirfd, name);
  _cleanup_close_ int osub = found && S_ISDIR(ost.st_mode) ? sub_dir(oldfd, name) : -1;
  if (nsub < 0) return berr_sys(err, errno, "open \"%s\"", path);
  return walk_new(c, nsub, osub, path, err);
}

static int old_entry(struct collect *c, int dirfd, const char *name, const char *path, void *ctx,
                     struct berth_error **err) {
  int newfd = *(int *)ctx;
  struct stat ost, st;
  if (fstatat(newfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
    add(c, path, LAYER_CHANGE_DELETED, false);
    return 0;
  }
  if (fstatat(dirfd, name, &ost, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(ost.st_mode) || !S_ISDIR(st.st_mode)) return 0;
  _cleanup_close_ int osub = sub_dir(dirfd, name);
  _cleanup_close_ int nsub = sub_dir(newfd, name);
  if (osub < 0 || nsub < 0) return berr_sys(err, errno, "open \"%s\"", path);
  return each_entry(c, osub, path, old_entry, &nsub, err);
}

static int vfs_changes(struct image_store *is, const char *ctr_dir, char *const *chain_ids, struct collect *c,
                       char **new_root, struct berth_error **err) {
  size_t n = strv_len(chain_ids);
  _cleanup_free_ char *old = n ? storage_layer_path(is->drv, chain_ids[n - 1]) : NULL;
  *new_root = path_join(ctr_dir, "diff");
  _cleanup_close_ int nfd = open(*new_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (nfd < 0) return berr_sys(err, errno, "open \"%s\"", *new_root);
  _cleanup_close_ int ofd = old ? open(old, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
  if (old && ofd < 0) return berr_sys(err, errno, "open \"%s\"", old);
  int r = walk_new(c, nfd, ofd, "", err);
  if (r == 0 && ofd >= 0) r = each_entry(c, ofd, "", old_entry, &nfd, err);
  return r;
}

static int change_cmp(const void *a, const void *b) {
  return strcmp(((const struct layer_change *)a)->path, ((const struct layer_change *)b)->path);
}

/* the files the runtime bind-mounts over (Docker keeps their placeholders in a hidden init layer):
 * never a change of the container's own */
static const char *const mount_placeholders[] = {"/etc/hostname", "/etc/hosts", "/etc/resolv.conf"};
#define PLACEHOLDER_DIR "/etc"

static bool is_placeholder(const struct layer_change *ch) {
  if (ch->kind == LAYER_CHANGE_DELETED) return false;
  for (size_t i = 0; i < ARRAY_SIZE(mount_placeholders); i++)
    if (strcmp(ch->path, mount_placeholders[i]) == 0) return true;
  return false;
}

/* hide_placeholders: drop the placeholders, and /etc when they were its only change (made or
 * touched only to hold them); c is sorted */
static void hide_placeholders(struct collect *c) {
  size_t w = 0, dir = SIZE_MAX;
  bool hid = false, other = false;
  size_t dlen = strlen(PLACEHOLDER_DIR);
  for (size_t i = 0; i < c->n; i++) {
    struct layer_change *ch = &c->v[i];
    if (is_placeholder(ch)) {
      free(ch->path);
      hid = true;
      continue;
    }
    if (strcmp(ch->path, PLACEHOLDER_DIR) == 0) dir = w;
    else if (strncmp(ch->path, PLACEHOLDER_DIR "/", dlen + 1) == 0) other = true;
    c->v[w++] = *ch;
  }
  c->n = w;
  if (!hid || other || dir == SIZE_MAX || c->v[dir].kind == LAYER_CHANGE_DELETED || c->v[dir].opaque) return;
  free(c->v[dir].path);
  memmove(&c->v[dir], &c->v[dir + 1], (c->n - dir - 1) * sizeof(*c->v));
  c->n--;
}

int layer_changes(struct image_store *is, const char *ctr_dir, char *const *chain_ids, struct layer_change **out,
                  size_t *n, char **new_root, struct berth_error **err) {
  struct collect c = {0};
  *new_root = NULL;
  bool overlay = strcmp(storage_driver_name(is->drv), "overlay2") == 0;
  int r = (overlay ? overlay_changes : vfs_changes)(is, ctr_dir, chain_ids, &c, new_root, err);
  if (r < 0) {
    layer_changes_free(c.v, c.n);
    free(*new_root);
    *new_root = NULL;
    return r;
  }
  if (c.n) qsort(c.v, c.n, sizeof(*c.v), change_cmp);
  hide_placeholders(&c);
  *out = c.v;
  *n = c.n;
  return 0;
}

int image_container_changes(struct image_store *is, const char *ctr_dir, char *const *chain_ids, json_t **out,
                            struct berth_error **err) {
  struct layer_change *v = NULL;
  size_t n = 0;
  _cleanup_free_ char *root = NULL;
  int r = layer_changes(is, ctr_dir, chain_ids, &v, &n, &root, err);
  if (r < 0) return r;
  json_t *arr = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(arr, json_pack("{s:s, s:i}", "Path", v[i].path, "Kind", (int)v[i].kind));
  layer_changes_free(v, n);
  *out = arr;
  return 0;
}
