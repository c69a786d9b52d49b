/* copy.c - copy a directory tree with everything a layer holds (owners, modes, times, xattrs,
 * devices, hard links), through dirfds and *at calls so no symlink in it is ever followed */
#include "storage/storage_int.h"
#include "common/xalloc.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <search.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

struct hardlink {
  dev_t dev;
  ino_t ino;
  char *path; /* relative to the destination root */
};

struct copy_ctx {
  int dst_root;
  void *links; /* tsearch tree of struct hardlink */
};

static int link_cmp(const void *a, const void *b) {
  const struct hardlink *x = a, *y = b;
  if (x->dev != y->dev) return x->dev < y->dev ? -1 : 1;
  if (x->ino != y->ino) return x->ino < y->ino ? -1 : 1;
  return 0;
}

static void link_free(void *p) {
  struct hardlink *h = p;
  free(h->path);
  free(h);
}

static int copy_xattrs(int sfd, int dfd) {
  char names[8192];
  ssize_t n = flistxattr(sfd, names, sizeof(names));
  if (n < 0) return errno == ENOTSUP ? 0 : -errno;
  for (char *nm = names; nm < names + n; nm += strlen(nm) + 1) {
    char val[65536];
    ssize_t vn = fgetxattr(sfd, nm, val, sizeof(val));
    if (vn < 0) continue;
    if (fsetxattr(dfd, nm, val, (size_t)vn, 0) < 0 && errno != ENOTSUP && errno != EPERM) return -errno;
  }
  return 0;
}

static int copy_data(int sfd, int dfd, off_t size) {
  if (size == 0) return 0;
  if (ioctl(dfd, FICLONE, sfd) == 0) return 0; /* reflink on btrfs/xfs: no data copied */
  off_t left = size;
  while (left > 0) {
    ssize_t n = copy_file_range(sfd, NULL, dfd, NULL, (size_t)left, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    left -= n;
  }
  if (left == 0) return 0;
  char buf[65536];
  for (;;) { /* copy_file_range refused (cross-device on old kernels): plain copy of the rest */
    ssize_t n = read(sfd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -errno;
    if (n == 0) return 0;
    for (ssize_t off = 0; off < n;) {
      ssize_t w = write(dfd, buf + off, (size_t)(n - off));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return -errno;
      off += w;
    }
  }
}

static int set_meta_fd(int sfd, int dfd, const struct stat *st) {
  if (fchown(dfd, st->st_uid, st->st_gid) < 0) return -errno;
  if (fchmod(dfd, st->st_mode & 07777) < 0) return -errno;
  int r = copy_xattrs(sfd, dfd);
  if (r < 0) return r;
  struct timespec ts[2] = {st->st_atim, st->st_mtim};
  return futimens(dfd, ts) < 0 ? -errno : 0;
}

static int copy_file(int sdir, int ddir, const char *name, const struct stat *st) {
  _cleanup_close_ int sfd = openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (sfd < 0) return -errno;
  _cleanup_close_ int dfd = openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (dfd < 0) return -errno;
  int r = copy_data(sfd, dfd, st->st_size);
  return r < 0 ? r : set_meta_fd(sfd, dfd, st);
}

static int copy_special(int sdir, int ddir, const char *name, const struct stat *st) {
  if (S_ISLNK(st->st_mode)) {
    char target[PATH_MAX];
    ssize_t n = readlinkat(sdir, name, target, sizeof(target) - 1);
    if (n < 0) return -errno;
    target[n] = '\0';
    if (symlinkat(target, ddir, name) < 0) return -errno;
  } else if (mknodat(ddir, name, st->st_mode, st->st_rdev) < 0) {
    return -errno;
  }
  if (fchownat(ddir, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0) return -errno;
  if (!S_ISLNK(st->st_mode) && fchmodat(ddir, name, st->st_mode & 07777, 0) < 0) return -errno;
  struct timespec ts[2] = {st->st_atim, st->st_mtim};
  return utimensat(ddir, name, ts, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

/* remember_link: 1 and a hard link made when (dev, ino) was copied before, 0 when first seen */
static int remember_link(struct copy_ctx *c, int ddir, const char *name, const char *rel, const struct stat *st) {
  struct hardlink key = {.dev = st->st_dev, .ino = st->st_ino};
  struct hardlink **found = tfind(&key, &c->links, link_cmp);
  if (found) return linkat(c->dst_root, (*found)->path, ddir, name, 0) < 0 ? -errno : 1;
  struct hardlink *h = xmalloc(sizeof(*h));
  *h = key;
  h->path = xstrdup(rel);
  if (!tsearch(h, &c->links, link_cmp)) abort();
  return 0;
}

static int copy_dir(struct copy_ctx *c, int sfd, int dfd, const char *rel, int depth);

static int copy_entry(struct copy_ctx *c, int sdir, int ddir, const char *name, const char *rel, int depth) {
  struct stat st;
  if (fstatat(sdir, name, &st, AT_SYMLINK_NOFOLLOW) < 0) return -errno;
  _cleanup_free_ char *child = rel[0] ? xasprintf("%s/%s", rel, name) : xstrdup(name);
  if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
    int r = remember_link(c, ddir, name, child, &st);
    if (r != 0) return r < 0 ? r : 0;
  }
  if (S_ISREG(st.st_mode)) return copy_file(sdir, ddir, name, &st);
  if (!S_ISDIR(st.st_mode)) return copy_special(sdir, ddir, name, &st);
  if (mkdirat(ddir, name, 0700) < 0) return -errno;
  _cleanup_close_ int s2 = openat(sdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  _cleanup_close_ int d2 = openat(ddir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (s2 < 0 || d2 < 0) return -errno;
  int r = copy_dir(c, s2, d2, child, depth + 1);
  return r < 0 ? r : set_meta_fd(s2, d2, &st);
}

static int copy_dir(struct copy_ctx *c, int sfd, int dfd, const char *rel, int depth) {
  if (depth > 1024) return -ELOOP;
  int dup_fd = fcntl(sfd, F_DUPFD_CLOEXEC, 3);
  if (dup_fd < 0) return -errno;
  _cleanup_closedir_ DIR *d = fdopendir(dup_fd);
  if (!d) {
    close(dup_fd);
    return -errno;
  }
  struct dirent *de;
  while ((de = readdir(d))) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
    int r = copy_entry(c, sfd, dfd, de->d_name, rel, depth);
    if (r < 0) return r;
  }
  return 0;
}

int storage_copy_tree(const char *src, const char *dst, struct berth_error **err) {
  _cleanup_close_ int sfd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (sfd < 0) return berr_sys(err, errno, "open \"%s\"", src);
  _cleanup_close_ int dfd = open(dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return berr_sys(err, errno, "open \"%s\"", dst);
  struct copy_ctx c = {.dst_root = dfd};
  int r = copy_dir(&c, sfd, dfd, "", 0);
  tdestroy(c.links, link_free);
  if (r < 0) return berr_sys(err, -r, "copy \"%s\" to \"%s\"", src, dst);
  struct stat st;
  if (fstat(sfd, &st) == 0) set_meta_fd(sfd, dfd, &st);
  return 0;
}
