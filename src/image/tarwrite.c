/* tarwrite.c - write directory trees and change lists as tar streams (commit, export, save):
 * entries are opened relative to dirfds and never through a symlink, hard links are kept,
 * whiteouts are written the way layer.c reads them */
#include "image/image_int.h"
#include "common/syscalls.h"
#include "common/xalloc.h"
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <search.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

struct link_seen {
  dev_t dev;
  ino_t ino;
  char *path;
};

struct tarw {
  struct archive *a;
  void *links;
};

static int link_cmp(const void *a, const void *b) {
  const struct link_seen *x = a, *y = b;
  if (x->dev != y->dev) return x->dev < y->dev ? -1 : 1;
  return x->ino < y->ino ? -1 : x->ino > y->ino;
}

static void link_free(void *p) {
  struct link_seen *l = p;
  free(l->path);
  free(l);
}

static void entry_freep(struct archive_entry **e) {
  if (*e) archive_entry_free(*e);
}
#define _cleanup_entry_ __attribute__((cleanup(entry_freep)))

static int tar_err(struct tarw *tw, const char *path, struct berth_error **err) {
  return berr(err, EIO, "write \"%s\" to tar: %s", path, archive_error_string(tw->a));
}

static void add_xattrs(struct archive_entry *e, int fd) {
  char names[8192];
  ssize_t n = flistxattr(fd, names, sizeof(names));
  for (char *nm = names; n > 0 && nm < names + n; nm += strlen(nm) + 1) {
    if (strncmp(nm, "trusted.overlay.", 16) == 0) continue; /* overlay bookkeeping, not content */
    char val[65536];
    ssize_t vn = fgetxattr(fd, nm, val, sizeof(val));
    if (vn >= 0) archive_entry_xattr_add_entry(e, nm, val, (size_t)vn);
  }
}

static int write_data(struct tarw *tw, int fd, const char *path, struct berth_error **err) {
  enum { CHUNK = 1 << 20 }; /* big reads: fewer trips through libarchive */
  _cleanup_free_ char *buf = xmalloc(CHUNK);
  for (;;) {
    ssize_t n = read(fd, buf, CHUNK);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return berr_sys(err, errno, "read \"%s\"", path);
    if (n == 0) return 0;
    if (archive_write_data(tw->a, buf, (size_t)n) != n) return tar_err(tw, path, err);
  }
}

/* write_entry: dirfd/name (stat st) as tar member arc (no leading '/') */
static int write_entry(struct tarw *tw, int dirfd, const char *name, const char *arc, const struct stat *st,
                       struct berth_error **err) {
  if (S_ISSOCK(st->st_mode)) return 0; /* sockets are not content (Docker skips them too) */
  _cleanup_entry_ struct archive_entry *e = archive_entry_new();
  archive_entry_copy_stat(e, st);
  archive_entry_unset_atime(e);
  archive_entry_unset_ctime(e);
  archive_entry_unset_birthtime(e);
  _cleanup_free_ char *p = S_ISDIR(st->st_mode) ? xasprintf("%s/", arc) : xstrdup(arc);
  archive_entry_set_pathname(e, p);
  _cleanup_close_ int fd = -1;
  if (S_ISLNK(st->st_mode)) {
    char target[PATH_MAX];
    ssize_t n = readlinkat(dirfd, name, target, sizeof(target) - 1);
    if (n < 0) return berr_sys(err, errno, "readlink \"%s\"", arc);
    target[n] = '\0';
    archive_entry_set_symlink(e, target);
  } else if (!S_ISDIR(st->st_mode) && st->st_nlink > 1) {
    struct link_seen key = {.dev = st->st_dev, .ino = st->st_ino};
    struct link_seen **found = tfind(&key, &tw->links, link_cmp);
    if (found) {
      archive_entry_set_hardlink(e, (*found)->path);
      archive_entry_set_size(e, 0);
      return archive_write_header(tw->a, e) < ARCHIVE_WARN ? tar_err(tw, arc, err) : 0;
    }
    struct link_seen *l = xmalloc(sizeof(*l));
    *l = key;
    l->path = xstrdup(arc);
    if (!tsearch(l, &tw->links, link_cmp)) abort();
  }
  if (S_ISREG(st->st_mode) || S_ISDIR(st->st_mode)) {
    fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (S_ISDIR(st->st_mode) ? O_DIRECTORY : 0));
    if (fd < 0) return berr_sys(err, errno, "open \"%s\"", arc);
    add_xattrs(e, fd);
  }
  if (archive_write_header(tw->a, e) < ARCHIVE_WARN) return tar_err(tw, arc, err);
  return S_ISREG(st->st_mode) ? write_data(tw, fd, arc, err) : 0;
}

static int name_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* sorted_names: a directory's entries in byte order, so the same tree gives the same tar */
static char **sorted_names(int dirfd, size_t *count) {
  int dup_fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dup_fd < 0) return NULL;
  DIR *d = fdopendir(dup_fd);
  if (!d) {
    close(dup_fd);
    return NULL;
  }
  size_t n = 0, cap = 16;
  char **v = xmalloc(cap * sizeof(char *));
  struct dirent *de;
  while ((de = readdir(d))) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
    if (n + 1 >= cap) v = xrealloc(v, (cap *= 2) * sizeof(char *));
    v[n++] = xstrdup(de->d_name);
  }
  closedir(d);
  v[n] = NULL;
  qsort(v, n, sizeof(char *), name_cmp);
  *count = n;
  return v;
}

static int write_tree(struct tarw *tw, int dirfd, const char *prefix, int depth, struct berth_error **err) {
  if (depth > 1024) return berr(err, ELOOP, "directory tree too deep at \"%s\"", prefix);
  size_t n = 0;
  char **names = sorted_names(dirfd, &n);
  if (!names) return berr_sys(err, errno, "read directory \"%s\"", prefix[0] ? prefix : ".");
  int r = 0;
  for (size_t i = 0; i < n && r == 0; i++) {
    struct stat st;
    _cleanup_free_ char *arc = prefix[0] ? xasprintf("%s/%s", prefix, names[i]) : xstrdup(names[i]);
    if (fstatat(dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
      if (errno != ENOENT) r = berr_sys(err, errno, "stat \"%s\"", arc);
      continue;
    }
    r = write_entry(tw, dirfd, names[i], arc, &st, err);
    if (r == 0 && S_ISDIR(st.st_mode)) {
      _cleanup_close_ int sub = openat(dirfd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub < 0) r = berr_sys(err, errno, "open \"%s\"", arc);
      else r = write_tree(tw, sub, arc, depth + 1, err);
    }
  }
  for (size_t i = 0; i < n; i++) free(names[i]);
  free(names);
  return r;
}

int tar_write_tree(struct archive *a, int rootfd, struct berth_error **err) {
  struct tarw tw = {.a = a};
  int r = write_tree(&tw, rootfd, "", 0, err);
  tdestroy(tw.links, link_free);
  return r;
}

/* write_marker: an empty member that only names something: ".wh.NAME" or ".wh..wh..opq" */
static int write_marker(struct tarw *tw, const char *arc, struct berth_error **err) {
  _cleanup_entry_ struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, arc);
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0);
  archive_entry_set_size(e, 0);
  archive_entry_set_mtime(e, time(NULL), 0);
  return archive_write_header(tw->a, e) < ARCHIVE_WARN ? tar_err(tw, arc, err) : 0;
}

static int write_change(struct tarw *tw, int rootfd, const struct layer_change *c, struct berth_error **err) {
  const char *rel = c->path + 1;
  const char *slash = strrchr(rel, '/');
  _cleanup_free_ char *dir = slash ? xstrndup(rel, (size_t)(slash - rel)) : xstrdup("");
  const char *base = slash ? slash + 1 : rel;
  if (c->kind == LAYER_CHANGE_DELETED) {
    _cleanup_free_ char *arc = dir[0] ? xasprintf("%s/.wh.%s", dir, base) : xasprintf(".wh.%s", base);
    return write_marker(tw, arc, err);
  }
  /* the tree is the container's: resolve its directories without following any symlink */
  struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC, .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS};
  _cleanup_close_ int pfd = sys_openat2(rootfd, dir[0] ? dir : ".", &how);
  if (pfd < 0) return berr_sys(err, errno, "open \"%s\"", dir);
  struct stat st;
  if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) return berr_sys(err, errno, "stat \"%s\"", rel);
  int r = write_entry(tw, pfd, base, rel, &st, err);
  if (r == 0 && c->opaque) {
    _cleanup_free_ char *arc = xasprintf("%s/.wh..wh..opq", rel);
    r = write_marker(tw, arc, err);
  }
  return r;
}

int tar_write_changes(struct archive *a, int rootfd, const struct layer_change *changes, size_t n,
                      struct berth_error **err) {
  struct tarw tw = {.a = a};
  int r = 0;
  for (size_t i = 0; i < n && r == 0; i++) r = write_change(&tw, rootfd, &changes[i], err);
  tdestroy(tw.links, link_free);
  return r;
}
