/* layer.c - extract a layer tar into a directory, converting whiteouts, and never writing outside
 * it: every path is cleaned lexically and resolved with openat2(RESOLVE_IN_ROOT), the last
 * component is handled with *at calls that do not follow symlinks */
#define LOG_TAG "image"
#include "image/image_int.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/syscalls.h"
#include "common/xalloc.h"
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <search.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#define WH_PREFIX ".wh."
#define WH_META_PREFIX ".wh..wh."
#define WH_OPAQUE ".wh..wh..opq"

struct dir_time {
  char *path;
  struct timespec mtime;
};

struct apply {
  int root;
  enum layer_whiteout wh;
  int64_t size;
  void *seen; /* tsearch set of paths this layer made: an opaque dir keeps only those (vfs) */
  struct dir_time *dirs;
  size_t n_dirs;
};

/* clean_path: "/a/./b/../c/" -> "a/c"; ".." at the top stays at the top, as under chroot, and
 * sets *escapes (Docker refuses such members as breakouts, and so does apply_entry) */
static char *clean_path(const char *in, bool *escapes) {
  char *out = xmalloc(strlen(in) + 1);
  size_t n = 0;
  for (const char *p = in; *p;) {
    while (*p == '/') p++;
    const char *e = strchrnul(p, '/');
    size_t len = (size_t)(e - p);
    if (len == 0 || (len == 1 && p[0] == '.')) {
      /* skip */
    } else if (len == 2 && p[0] == '.' && p[1] == '.') {
      if (n == 0) *escapes = true;
      while (n > 0 && out[n - 1] != '/') n--;
      if (n > 0) n--;
    } else {
      if (n > 0) out[n++] = '/';
      memcpy(out + n, p, len);
      n += len;
    }
    p = e;
  }
  out[n] = '\0';
  return out;
}

static int open_in_root(int root, const char *path, uint64_t flags) {
  struct open_how how = {.flags = flags | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
  int fd;
  do fd = sys_openat2(root, path[0] ? path : ".", &how);
  while (fd < 0 && (errno == EAGAIN || errno == EINTR));
  return fd;
}

/* open_parent: the directory path (relative, clean) inside root as an O_PATH fd, creating missing
 * directories one component at a time, each resolved inside root again */
static int open_parent(int root, const char *dir, struct berth_error **err) {
  int fd = open_in_root(root, dir, O_PATH | O_DIRECTORY);
  if (fd >= 0 || errno != ENOENT) {
    if (fd < 0) return berr_sys(err, errno, "open \"%s\" in layer", dir);
    return fd;
  }
  _cleanup_free_ char *buf = xstrdup(dir);
  _cleanup_close_ int cur = open_in_root(root, "", O_PATH | O_DIRECTORY);
  for (char *p = buf;;) {
    char *slash = strchr(p, '/');
    if (slash) *slash = '\0';
    int next = open_in_root(root, buf, O_PATH | O_DIRECTORY);
    if (next < 0 && errno == ENOENT) {
      const char *comp = strrchr(buf, '/') ? strrchr(buf, '/') + 1 : buf;
      if (mkdirat(cur, comp, 0755) < 0 && errno != EEXIST) return berr_sys(err, errno, "mkdir \"%s\" in layer", buf);
      next = open_in_root(root, buf, O_PATH | O_DIRECTORY);
    }
    if (next < 0) return berr_sys(err, errno, "open \"%s\" in layer", buf);
    close(cur);
    cur = next;
    if (!slash) break;
    *slash = '/';
    p = slash + 1;
  }
  return take_fd(&cur);
}

/* remove_at: delete name in dirfd, a whole tree if it is a directory (never following links) */
static int remove_at(int dirfd, const char *name, struct berth_error **err) {
  struct stat st;
  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) return errno == ENOENT ? 0 : berr_sys(err, errno, "stat \"%s\"", name);
  if (!S_ISDIR(st.st_mode)) {
    if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT) return berr_sys(err, errno, "unlink \"%s\"", name);
    return 0;
  }
  _cleanup_free_ char *p = xasprintf("/proc/self/fd/%d/%s", dirfd, name);
  return rm_rf(p, err);
}

static int apply_xattrs(int fd, struct archive_entry *e, const char *path, struct berth_error **err) {
  const char *name;
  const void *value;
  size_t size;
  archive_entry_xattr_reset(e);
  while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
    /* overlay's own attributes (redirect, metacopy, opaque) would let an image reach into other
     * layers: only the whiteout files may produce them */
    if (strncmp(name, "trusted.overlay.", 16) == 0) continue;
    if (fsetxattr(fd, name, value, size, 0) < 0) {
      if (errno == ENOTSUP || errno == EPERM) {
        log_debug("Xattr \"%s\" on \"%s\" not kept: %s", name, path, strerror(errno));
        continue;
      }
      return berr_sys(err, errno, "set xattr \"%s\" on \"%s\"", name, path);
    }
  }
  return 0;
}

/* finish_fd: owner, mode (after chown, which clears set-id bits), xattrs, times */
static int finish_fd(int fd, struct archive_entry *e, const char *path, bool times, struct berth_error **err) {
  if (fchown(fd, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e)) < 0)
    return berr_sys(err, errno, "chown \"%s\"", path);
  if (fchmod(fd, archive_entry_perm(e) & 07777) < 0) return berr_sys(err, errno, "chmod \"%s\"", path);
  int r = apply_xattrs(fd, e, path, err);
  if (r < 0 || !times) return r;
  struct timespec ts[2] = {{archive_entry_atime(e), archive_entry_atime_nsec(e)},
                           {archive_entry_mtime(e), archive_entry_mtime_nsec(e)}};
  if (!archive_entry_atime_is_set(e)) ts[0] = ts[1];
  if (futimens(fd, ts) < 0) return berr_sys(err, errno, "set times of \"%s\"", path);
  return 0;
}

static int write_data(struct archive *a, int fd, const char *path, struct berth_error **err) {
  const void *buf;
  size_t len;
  la_int64_t off;
  int rc;
  while ((rc = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK) {
    for (size_t done = 0; done < len;) {
      ssize_t w = pwrite(fd, (const char *)buf + done, len - done, off + (off_t)done);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return berr_sys(err, errno, "write \"%s\"", path);
      done += (size_t)w;
    }
  }
  if (rc != ARCHIVE_EOF) return berr(err, EIO, "read \"%s\" from tar: %s", path, archive_error_string(a));
  return 0;
}

static int make_file(struct apply *ap, int pfd, const char *base, const char *path, struct archive *a,
                     struct archive_entry *e, struct berth_error **err) {
  _cleanup_close_ int fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return berr_sys(err, errno, "create \"%s\"", path);
  int r = write_data(a, fd, path, err);
  if (r < 0) return r;
  /* sparse entries end in a hole: the size is the entry's, not the last byte written */
  if (ftruncate(fd, archive_entry_size(e)) < 0) return berr_sys(err, errno, "truncate \"%s\"", path);
  ap->size += archive_entry_size(e);
  return finish_fd(fd, e, path, true, err);
}

static int make_dir(struct apply *ap, int pfd, const char *base, const char *path, struct archive_entry *e,
                    struct berth_error **err) {
  if (mkdirat(pfd, base, 0700) < 0 && errno != EEXIST) return berr_sys(err, errno, "mkdir \"%s\"", path);
  _cleanup_close_ int fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return berr_sys(err, errno, "open \"%s\"", path);
  int r = finish_fd(fd, e, path, false, err);
  if (r < 0) return r;
  /* children change a directory's mtime: set it when the whole layer is out */
  ap->dirs = xrealloc(ap->dirs, (ap->n_dirs + 1) * sizeof(*ap->dirs));
  ap->dirs[ap->n_dirs++] = (struct dir_time){xstrdup(path), {archive_entry_mtime(e), archive_entry_mtime_nsec(e)}};
  return 0;
}

static int finish_at(int pfd, const char *base, const char *path, struct archive_entry *e, bool chmod_too,
                     struct berth_error **err) {
  if (fchownat(pfd, base, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e), AT_SYMLINK_NOFOLLOW) < 0)
    return berr_sys(err, errno, "chown \"%s\"", path);
  if (chmod_too && fchmodat(pfd, base, archive_entry_perm(e) & 07777, 0) < 0)
    return berr_sys(err, errno, "chmod \"%s\"", path);
  struct timespec ts[2] = {{archive_entry_mtime(e), archive_entry_mtime_nsec(e)},
                           {archive_entry_mtime(e), archive_entry_mtime_nsec(e)}};
  if (utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0) return berr_sys(err, errno, "set times of \"%s\"", path);
  return 0;
}

static int make_hardlink(struct apply *ap, int pfd, const char *base, const char *path, const char *target,
                         struct berth_error **err) {
  bool up = false;
  _cleanup_free_ char *t = clean_path(target, &up);
  if (up) return berr(err, EPERM, "hard link \"%s\" -> \"%s\" points outside the layer", path, target);
  _cleanup_close_ int tfd = open_in_root(ap->root, t, O_PATH | O_NOFOLLOW);
  if (tfd < 0) return berr_sys(err, errno, "hard link \"%s\" to \"%s\": target not in the layer", path, target);
  struct stat st;
  if (fstat(tfd, &st) < 0) return berr_sys(err, errno, "stat \"%s\"", target);
  if (S_ISDIR(st.st_mode)) return berr(err, EPERM, "hard link \"%s\" to directory \"%s\"", path, target);
  if (linkat(tfd, "", pfd, base, AT_EMPTY_PATH) == 0) return 0;
  _cleanup_free_ char *proc = xasprintf("/proc/self/fd/%d", tfd); /* without CAP_DAC_READ_SEARCH */
  if (linkat(AT_FDCWD, proc, pfd, base, AT_SYMLINK_FOLLOW) < 0)
    return berr_sys(err, errno, "hard link \"%s\" to \"%s\"", path, target);
  return 0;
}

static int make_node(int pfd, const char *base, const char *path, struct archive_entry *e, struct berth_error **err) {
  mode_t type = archive_entry_filetype(e);
  if (type == AE_IFLNK) {
    const char *target = archive_entry_symlink(e);
    if (symlinkat(target ? target : "", pfd, base) < 0) return berr_sys(err, errno, "symlink \"%s\"", path);
    return finish_at(pfd, base, path, e, false, err);
  }
  if (type != AE_IFCHR && type != AE_IFBLK && type != AE_IFIFO)
    return berr(err, EINVAL, "\"%s\": unsupported file type in tar", path);
  dev_t dev = type == AE_IFIFO ? 0 : makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
  if (mknodat(pfd, base, type | (archive_entry_perm(e) & 07777), dev) < 0)
    return berr_sys(err, errno, "mknod \"%s\"", path);
  return finish_at(pfd, base, path, e, true, err);
}

static int set_opaque(struct apply *ap, int pfd, const char *dir, struct berth_error **err);

/* whiteout: ".wh.NAME" hides NAME of lower layers; ".wh..wh..opq" hides all of dir's lower entries */
static int whiteout(struct apply *ap, int pfd, const char *dir, const char *base, struct archive_entry *e,
                    struct berth_error **err) {
  if (strcmp(base, WH_OPAQUE) == 0) return set_opaque(ap, pfd, dir, err);
  if (strncmp(base, WH_META_PREFIX, strlen(WH_META_PREFIX)) == 0) return 0; /* aufs metadata */
  const char *name = base + strlen(WH_PREFIX);
  if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || strchr(name, '/'))
    return berr(err, EINVAL, "invalid whiteout \"%s/%s\"", dir, base);
  int r = remove_at(pfd, name, err);
  if (r < 0 || ap->wh == LAYER_WHITEOUT_DELETE) return r;
  if (mknodat(pfd, name, S_IFCHR | 0, makedev(0, 0)) < 0) return berr_sys(err, errno, "whiteout \"%s/%s\"", dir, name);
  fchownat(pfd, name, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e), AT_SYMLINK_NOFOLLOW);
  return 0;
}

static int seen_cmp(const void *a, const void *b) { return strcmp(a, b); }

static int set_opaque(struct apply *ap, int pfd, const char *dir, struct berth_error **err) {
  _cleanup_close_ int fd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return berr_sys(err, errno, "open \"%s\"", dir);
  if (ap->wh == LAYER_WHITEOUT_OVERLAY) {
    if (fsetxattr(fd, "trusted.overlay.opaque", "y", 1, 0) < 0) return berr_sys(err, errno, "mark \"%s\" opaque", dir);
    return 0;
  }
  _cleanup_closedir_ DIR *d = fdopendir(take_fd(&fd));
  if (!d) return berr_sys(err, errno, "read \"%s\"", dir);
  struct dirent *de;
  while ((de = readdir(d))) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
    _cleanup_free_ char *child = dir[0] ? xasprintf("%s/%s", dir, de->d_name) : xstrdup(de->d_name);
    if (tfind(child, &ap->seen, seen_cmp)) continue; /* made by this layer: stays */
    int r = remove_at(dirfd(d), de->d_name, err);
    if (r < 0) return r;
  }
  return 0;
}

/* prepare_slot: make room for a new entry at base: keep an existing directory when a directory
 * comes again, remove anything else (as Docker's unpacker does) */
static int prepare_slot(int pfd, const char *base, bool is_dir, struct berth_error **err) {
  struct stat st;
  if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) return 0;
  if (is_dir && S_ISDIR(st.st_mode)) return 0;
  return remove_at(pfd, base, err);
}

static int apply_entry(struct apply *ap, struct archive *a, struct archive_entry *e, struct berth_error **err) {
  const char *name = archive_entry_pathname(e) ? archive_entry_pathname(e) : "";
  bool up = false;
  _cleanup_free_ char *path = clean_path(name, &up);
  if (up) return berr(err, EPERM, "tar member \"%s\" is outside of the layer (\"..\" above its root)", name);
  if (!path[0]) return 0; /* the root itself: the layer directory keeps its own metadata, like Docker */
  if (strlen(path) >= PATH_MAX) return berr(err, ENAMETOOLONG, "path too long in tar: \"%.64s...\"", path);
  char *slash = strrchr(path, '/');
  const char *base = slash ? slash + 1 : path;
  _cleanup_free_ char *dir = slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup("");
  _cleanup_close_ int pfd = open_parent(ap->root, dir, err);
  if (pfd < 0) return pfd;
  if (strncmp(base, WH_PREFIX, strlen(WH_PREFIX)) == 0) return whiteout(ap, pfd, dir, base, e, err);
  const char *hardlink = archive_entry_hardlink(e);
  bool is_dir = !hardlink && archive_entry_filetype(e) == AE_IFDIR;
  int r = prepare_slot(pfd, base, is_dir, err);
  if (r < 0) return r;
  if (ap->wh == LAYER_WHITEOUT_DELETE && !tfind(path, &ap->seen, seen_cmp)) {
    char *key = xstrdup(path);
    if (!tsearch(key, &ap->seen, seen_cmp)) abort();
  }
  if (hardlink) return make_hardlink(ap, pfd, base, path, hardlink, err);
  switch (archive_entry_filetype(e)) {
  case AE_IFREG: return make_file(ap, pfd, base, path, a, e, err);
  case AE_IFDIR: return make_dir(ap, pfd, base, path, e, err);
  default: return make_node(pfd, base, path, e, err);
  }
}

static void set_dir_times(struct apply *ap) {
  for (size_t i = ap->n_dirs; i-- > 0;) {
    _cleanup_close_ int fd = open_in_root(ap->root, ap->dirs[i].path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (fd < 0) continue;
    struct timespec ts[2] = {ap->dirs[i].mtime, ap->dirs[i].mtime};
    futimens(fd, ts);
  }
}

int layer_apply_tar(int dirfd, struct archive *a, enum layer_whiteout wh, int64_t *size, struct berth_error **err) {
  struct apply ap = {.root = dirfd, .wh = wh};
  struct archive_entry *e;
  int r = 0, rc;
  while ((rc = archive_read_next_header(a, &e)) == ARCHIVE_OK || rc == ARCHIVE_WARN) {
    r = apply_entry(&ap, a, e, err);
    if (r < 0) break;
  }
  if (r == 0 && rc != ARCHIVE_EOF) r = berr(err, EINVAL, "read tar: %s", archive_error_string(a));
  if (r == 0) set_dir_times(&ap);
  for (size_t i = 0; i < ap.n_dirs; i++) free(ap.dirs[i].path);
  free(ap.dirs);
  tdestroy(ap.seen, free);
  if (r == 0 && size) *size = ap.size;
  return r;
}
