/* fs.c - file helpers; nothing here follows a symlink it did not mean to */
#include "common/fs.h"
#include "common/xalloc.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int write_all(int fd, const void *data, size_t n) {
  const char *p = data;
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

int read_all(int fd, char **out, size_t *len, size_t max) {
  size_t cap = 4096, n = 0;
  char *b = xmalloc(cap);
  for (;;) {
    if (n + 1 >= cap) {
      cap *= 2;
      b = xrealloc(b, cap);
    }
    ssize_t r = read(fd, b + n, cap - n - 1);
    if (r < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      free(b);
      return -e;
    }
    if (r == 0) break;
    n += (size_t)r;
    if (max && n > max) {
      free(b);
      return -EFBIG;
    }
  }
  b[n] = '\0';
  *out = b;
  if (len) *len = n;
  return 0;
}

int read_file_at(int dirfd, const char *path, char **out, size_t *len, struct berth_error **err) {
  _cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return berr_sys(err, errno, "open \"%s\"", path);
  int r = read_all(fd, out, len, 0);
  if (r < 0) return berr_sys(err, -r, "read \"%s\"", path);
  return 0;
}

int write_file_atomic(const char *path, const void *data, size_t n, mode_t mode, int sync,
                      struct berth_error **err) {
  _cleanup_free_ char *tmp = xasprintf("%s.tmp-%d", path, (int)getpid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return berr_sys(err, errno, "create \"%s\"", tmp);
  int r = write_all(fd, data, n);
  if (r == 0 && sync && fsync(fd) < 0) r = -errno;
  if (close(fd) < 0 && r == 0) r = -errno;
  if (r == 0 && rename(tmp, path) < 0) r = -errno;
  if (r < 0) {
    unlink(tmp);
    return berr_sys(err, -r, "write \"%s\"", path);
  }
  if (sync) {
    _cleanup_free_ char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (slash) {
      *(slash == dir ? slash + 1 : slash) = '\0';
      _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (dfd >= 0) fsync(dfd);
    }
  }
  return 0;
}

int mkdir_p(const char *path, mode_t mode, struct berth_error **err) {
  _cleanup_free_ char *p = xstrdup(path);
  size_t len = strlen(p);
  if (len == 0) return berr(err, EINVAL, "empty path");
  for (char *s = p + 1; ; s++) {
    if (*s == '/' || *s == '\0') {
      char c = *s;
      *s = '\0';
      if (mkdir(p, mode) < 0 && errno != EEXIST) return berr_sys(err, errno, "mkdir \"%s\"", p);
      *s = c;
      if (c == '\0') break;
    }
  }
  struct stat st;
  if (stat(path, &st) < 0) return berr_sys(err, errno, "stat \"%s\"", path);
  if (!S_ISDIR(st.st_mode)) return berr(err, ENOTDIR, "\"%s\" is not a directory", path);
  return 0;
}

static int rm_rf_children(int dfd, dev_t dev, int depth) {
  if (depth > 4096) return -ELOOP;
  DIR *d = fdopendir(dfd);
  if (!d) {
    close(dfd);
    return -errno;
  }
  int ret = 0;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
    struct stat st;
    if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
      if (errno != ENOENT && ret == 0) ret = -errno;
      continue;
    }
    if (S_ISDIR(st.st_mode)) {
      if (st.st_dev != dev) { /* a mount point: never descend into another filesystem */
        if (ret == 0) ret = -EBUSY;
        continue;
      }
      int cfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (cfd < 0) {
        if (ret == 0) ret = -errno;
        continue;
      }
      int r = rm_rf_children(cfd, dev, depth + 1);
      if (r < 0 && ret == 0) ret = r;
      if (unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) < 0 && errno != ENOENT && ret == 0) ret = -errno;
    } else if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT && ret == 0) {
      ret = -errno;
    }
  }
  closedir(d);
  return ret;
}

int rm_rf(const char *path, struct berth_error **err) {
  struct stat st;
  if (lstat(path, &st) < 0) {
    if (errno == ENOENT) return 0;
    return berr_sys(err, errno, "stat \"%s\"", path);
  }
  if (!S_ISDIR(st.st_mode)) {
    if (unlink(path) < 0 && errno != ENOENT) return berr_sys(err, errno, "unlink \"%s\"", path);
    return 0;
  }
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return berr_sys(err, errno, "open \"%s\"", path);
  int r = rm_rf_children(fd, st.st_dev, 0);
  if (r < 0) return berr_sys(err, -r, "remove contents of \"%s\"", path);
  if (rmdir(path) < 0 && errno != ENOENT) return berr_sys(err, errno, "rmdir \"%s\"", path);
  return 0;
}

char *path_join(const char *a, const char *b) {
  size_t la = strlen(a);
  while (*b == '/') b++;
  if (la && a[la - 1] == '/') return xasprintf("%s%s", a, b);
  return xasprintf("%s/%s", a, b);
}

int fd_set_cloexec(int fd, int on) {
  int f = fcntl(fd, F_GETFD);
  if (f < 0) return -errno;
  f = on ? (f | FD_CLOEXEC) : (f & ~FD_CLOEXEC);
  return fcntl(fd, F_SETFD, f) < 0 ? -errno : 0;
}

int fd_set_nonblock(int fd, int on) {
  int f = fcntl(fd, F_GETFL);
  if (f < 0) return -errno;
  f = on ? (f | O_NONBLOCK) : (f & ~O_NONBLOCK);
  return fcntl(fd, F_SETFL, f) < 0 ? -errno : 0;
}

#define TREE_MAX_DEPTH 256

static int64_t tree_size_at(int dirfd, int depth) {
  DIR *d = depth <= TREE_MAX_DEPTH ? fdopendir(dirfd) : NULL;
  if (!d) {
    close(dirfd);
    return 0;
  }
  int64_t total = 0;
  for (struct dirent *de; (de = readdir(d));) {
    struct stat st;
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
        fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
      continue;
    if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) total += st.st_size;
    int sub = S_ISDIR(st.st_mode) ? openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
    if (sub >= 0) total += tree_size_at(sub, depth + 1); /* it closes sub */
  }
  closedir(d);
  return total;
}

int64_t fs_tree_size(const char *path) {
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd >= 0) return tree_size_at(fd, 0);
  struct stat st; /* a single file */
  return lstat(path, &st) == 0 && (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) ? st.st_size : 0;
}
