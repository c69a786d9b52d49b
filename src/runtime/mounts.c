/* mounts.c - the container's rootfs: mounts resolved inside the root, devices, pivot_root, masks */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "common/buf.h"
#include "common/fs.h"
#include "common/syscalls.h"
#include "common/xalloc.h"
#include "runtime/runtime.h"

enum { OPT_FLAG, OPT_CLEAR, OPT_PROP };
static const struct {
  const char *name;
  int kind;
  unsigned long flag;
} mount_opts[] = {
    {"defaults", OPT_FLAG, 0},           {"ro", OPT_FLAG, MS_RDONLY},           {"rw", OPT_CLEAR, MS_RDONLY},
    {"nosuid", OPT_FLAG, MS_NOSUID},     {"suid", OPT_CLEAR, MS_NOSUID},        {"nodev", OPT_FLAG, MS_NODEV},
    {"dev", OPT_CLEAR, MS_NODEV},        {"noexec", OPT_FLAG, MS_NOEXEC},      {"exec", OPT_CLEAR, MS_NOEXEC},
    {"sync", OPT_FLAG, MS_SYNCHRONOUS},  {"async", OPT_CLEAR, MS_SYNCHRONOUS}, {"dirsync", OPT_FLAG, MS_DIRSYNC},
    {"remount", OPT_FLAG, MS_REMOUNT},   {"mand", OPT_FLAG, MS_MANDLOCK},      {"nomand", OPT_CLEAR, MS_MANDLOCK},
    {"atime", OPT_CLEAR, MS_NOATIME},    {"noatime", OPT_FLAG, MS_NOATIME},    {"diratime", OPT_CLEAR, MS_NODIRATIME},
    {"nodiratime", OPT_FLAG, MS_NODIRATIME}, {"relatime", OPT_FLAG, MS_RELATIME}, {"norelatime", OPT_CLEAR, MS_RELATIME},
    {"strictatime", OPT_FLAG, MS_STRICTATIME}, {"nostrictatime", OPT_CLEAR, MS_STRICTATIME},
    {"nosymfollow", OPT_FLAG, MS_NOSYMFOLLOW}, {"bind", OPT_FLAG, MS_BIND},     {"rbind", OPT_FLAG, MS_BIND | MS_REC},
    {"private", OPT_PROP, MS_PRIVATE},   {"rprivate", OPT_PROP, MS_PRIVATE | MS_REC},
    {"shared", OPT_PROP, MS_SHARED},     {"rshared", OPT_PROP, MS_SHARED | MS_REC},
    {"slave", OPT_PROP, MS_SLAVE},       {"rslave", OPT_PROP, MS_SLAVE | MS_REC},
    {"unbindable", OPT_PROP, MS_UNBINDABLE}, {"runbindable", OPT_PROP, MS_UNBINDABLE | MS_REC},
};

json_t *rt_mount_option_names(void) {
  json_t *a = json_array();
  for (size_t k = 0; k < ARRAY_SIZE(mount_opts); k++) json_array_append_new(a, json_string(mount_opts[k].name));
  return a;
}

void rt_parse_mount_options(json_t *options, struct rt_mount_opts *mo) {
  struct buf data = {0};
  size_t i, k;
  json_t *v;
  memset(mo, 0, sizeof(*mo));
  json_array_foreach(options, i, v) {
    const char *o = json_string_value(v);
    for (k = 0; k < ARRAY_SIZE(mount_opts); k++)
      if (strcmp(o, mount_opts[k].name) == 0) break;
    if (k == ARRAY_SIZE(mount_opts)) { /* not a flag: file system data such as mode=755 */
      if (data.len) buf_putc(&data, ',');
      buf_puts(&data, o);
    } else if (mount_opts[k].kind == OPT_FLAG) {
      mo->flags |= mount_opts[k].flag;
      mo->clear &= ~mount_opts[k].flag;
    } else if (mount_opts[k].kind == OPT_CLEAR) {
      mo->flags &= ~mount_opts[k].flag;
      mo->clear |= mount_opts[k].flag;
    } else {
      mo->propagation |= mount_opts[k].flag;
    }
  }
  mo->data = buf_steal(&data);
}

static int open_resolved(int rootfd, const char *path) {
  struct open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
  int fd;
  do fd = sys_openat2(rootfd, path, &how);
  while (fd < 0 && errno == EAGAIN);
  return fd;
}

/* create path component by component: each parent is opened inside the root, and the new entry
 * is made relative to that fd by a plain name, so no symlink in the image can lead out; a dangling
 * symlink is followed by creating its target, itself resolved inside the root */
static int create_in_root(int rootfd, const char *path, bool as_file, int depth, struct berth_error **err) {
  if (depth > 40) return berr(err, ELOOP, "too many symlinks creating \"%s\" in the container", path);
  size_t len = strlen(path), start = 0;
  _cleanup_close_ int parent = open_resolved(rootfd, "/");
  if (parent < 0) return berr_sys(err, errno, "open root");
  while (start < len) {
    while (path[start] == '/') start++;
    if (!path[start]) break;
    size_t end = start + strcspn(path + start, "/");
    bool last = path[end + strspn(path + end, "/")] == '\0';
    _cleanup_free_ char *comp = xstrndup(path + start, end - start);
    _cleanup_free_ char *sofar = xstrndup(path, end);
    int fd = open_resolved(rootfd, sofar);
    if (fd < 0 && errno == ENOENT) {
      int r = (last && as_file) ? openat(parent, comp, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644)
                                : mkdirat(parent, comp, 0755);
      if (r < 0 && errno != EEXIST) return berr_sys(err, errno, "create \"%s\" in the container", sofar);
      if (r > 0) close(r);
      fd = open_resolved(rootfd, sofar);
      char target[PATH_MAX];
      ssize_t n;
      if (fd < 0 && errno == ENOENT && (n = readlinkat(parent, comp, target, sizeof(target) - 1)) > 0) {
        target[n] = '\0';
        _cleanup_free_ char *dir = xstrndup(path, start);
        _cleanup_free_ char *next = xasprintf("%s%s%s%s", target[0] == '/' ? "" : dir, target, last ? "" : "/", path + end);
        return create_in_root(rootfd, next, as_file, depth + 1, err);
      }
    }
    if (fd < 0) return berr_sys(err, errno, "open \"%s\" in the container", sofar);
    close(parent);
    parent = fd;
    start = end;
  }
  return 0;
}

int rt_open_in_root(int rootfd, const char *path, bool create, bool as_file, struct berth_error **err) {
  int fd = open_resolved(rootfd, path);
  if (fd >= 0 || errno != ENOENT || !create) {
    if (fd < 0) return berr_sys(err, errno, "open \"%s\" in the container", path);
    return fd;
  }
  int r = create_in_root(rootfd, path, as_file, 0, err);
  if (r < 0) return r;
  fd = open_resolved(rootfd, path);
  if (fd < 0) return berr_sys(err, errno, "open \"%s\" in the container", path);
  return fd;
}

static unsigned long statvfs_mount_flags(const char *path) {
  static const struct { unsigned long st, ms; } map[] = {
      {ST_RDONLY, MS_RDONLY}, {ST_NOSUID, MS_NOSUID}, {ST_NODEV, MS_NODEV}, {ST_NOEXEC, MS_NOEXEC},
      {ST_NOATIME, MS_NOATIME}, {ST_NODIRATIME, MS_NODIRATIME}, {ST_RELATIME, MS_RELATIME},
  };
  struct statvfs sv;
  unsigned long f = 0;
  if (statvfs(path, &sv) < 0) return 0;
  for (size_t i = 0; i < ARRAY_SIZE(map); i++)
    if (sv.f_flag & map[i].st) f |= map[i].ms;
  return f;
}

/* a bind mount ignores flags on creation: apply them with a remount, keeping the flags the kernel
 * locked (nosuid, nodev... inherited in a user namespace) when a plain remount is refused */
static int remount_bind(const char *target, unsigned long flags, unsigned long clear, struct berth_error **err) {
  unsigned long f = MS_BIND | MS_REMOUNT | (flags & ~(MS_BIND | MS_REC | MS_REMOUNT));
  if (mount(NULL, target, NULL, f, NULL) == 0) return 0;
  if (errno == EPERM) {
    f |= statvfs_mount_flags(target) & ~clear;
    if (mount(NULL, target, NULL, f, NULL) == 0) return 0;
  }
  return berr_sys(err, errno, "remount \"%s\"", target);
}

static bool source_is_dir(const char *src) {
  struct stat st;
  return stat(src, &st) < 0 || S_ISDIR(st.st_mode);
}

static int do_mount(int rootfd, struct rt_container *c, json_t *m, struct berth_error **err) {
  const char *dest = json_string_value(json_object_get(m, "destination"));
  const char *type = json_string_value(json_object_get(m, "type"));
  const char *src = json_string_value(json_object_get(m, "source"));
  struct rt_mount_opts mo;
  rt_parse_mount_options(json_object_get(m, "options"), &mo);
  _cleanup_free_ char *data = rt_lsm_mount_data(c->spec, type, mo.data);
  free(mo.data);
  bool bind = (mo.flags & MS_BIND) || (type && strcmp(type, "bind") == 0);
  if (bind) mo.flags |= MS_BIND;
  if (!bind && type && strcmp(type, "cgroup") == 0) return rt_mount_cgroupfs(rootfd, dest, mo.flags, err);
  if (bind && !src) return berr(err, EINVAL, "bind mount on \"%s\" has no source", dest);
  /* a relative bind source is relative to the bundle, as in runc */
  _cleanup_free_ char *abs_src = bind && src[0] != '/' ? path_join(c->bundle, src) : NULL;
  if (abs_src) src = abs_src;
  _cleanup_close_ int fd = rt_open_in_root(rootfd, dest, true, bind && !source_is_dir(src), err);
  if (fd < 0) return fd;
  char target[64];
  snprintf(target, sizeof(target), "/proc/self/fd/%d", fd);
  unsigned long first = bind ? (mo.flags & (MS_BIND | MS_REC)) : (mo.flags & ~MS_BIND);
  if (mount(src ? src : (type ? type : "none"), target, bind ? NULL : type, first, bind ? NULL : data) < 0)
    return berr_sys(err, errno, "mount %s \"%s\" on \"%s\"", type ? type : "bind", src ? src : "", dest);
  /* the new mount hides the fd's dentry: reopen so the remount and propagation reach the mount */
  close(take_fd(&fd));
  fd = rt_open_in_root(rootfd, dest, false, false, err);
  if (fd < 0) return fd;
  snprintf(target, sizeof(target), "/proc/self/fd/%d", fd);
  int r = 0;
  if (bind && (mo.flags & ~(MS_BIND | MS_REC)))
    r = remount_bind(target, mo.flags, mo.clear, err);
  if (r == 0 && mo.propagation && mount(NULL, target, NULL, mo.propagation, NULL) < 0)
    r = berr_sys(err, errno, "set propagation of \"%s\"", dest);
  return r < 0 ? berr_prefix(err, "mount \"%s\"", dest) : 0;
}

static const struct {
  const char *name;
  unsigned int major, minor;
} default_devices[] = {
    {"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
};
static const struct {
  const char *target, *name;
} dev_links[] = {
    {"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
    {"/proc/self/fd/2", "stderr"}, {"pts/ptmx", "ptmx"}, {"/proc/kcore", "core"},
};

/* mknod where we may; in a user namespace bind the host's node onto an empty file instead */
static int make_device(int devfd, const char *name, mode_t mode, dev_t dev, bool userns, struct berth_error **err) {
  if (!userns) {
    if (mknodat(devfd, name, mode, dev) == 0 || errno == EEXIST) return 0;
    if (errno != EPERM) return berr_sys(err, errno, "mknod /dev/%s", name);
  }
  _cleanup_free_ char *host = xasprintf("/dev/%s", name);
  _cleanup_close_ int fd = openat(devfd, name, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) return berr_sys(err, errno, "create /dev/%s", name);
  char target[64];
  snprintf(target, sizeof(target), "/proc/self/fd/%d", fd);
  if (mount(host, target, NULL, MS_BIND, NULL) < 0) return berr_sys(err, errno, "bind mount %s", host);
  return 0;
}

static int setup_devices(struct rt_container *c, int rootfd, struct berth_error **err) {
  _cleanup_close_ int devpath = rt_open_in_root(rootfd, "/dev", true, false, err);
  if (devpath < 0) return devpath;
  char p[64];
  snprintf(p, sizeof(p), "/proc/self/fd/%d", devpath);
  _cleanup_close_ int devfd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (devfd < 0) return berr_sys(err, errno, "open /dev of the container");
  for (size_t i = 0; i < ARRAY_SIZE(default_devices); i++) {
    int r = make_device(devfd, default_devices[i].name, S_IFCHR | 0666,
                        makedev(default_devices[i].major, default_devices[i].minor), c->userns, err);
    if (r < 0) return r;
  }
  json_t *devs = json_object_get(json_object_get(c->spec, "linux"), "devices"), *d;
  size_t i;
  json_array_foreach(devs, i, d) {
    const char *path = json_string_value(json_object_get(d, "path"));
    const char *type = json_string_value(json_object_get(d, "type"));
    if (!path || strncmp(path, "/dev/", 5) != 0 || strstr(path, "/..") || !type)
      return berr(err, EINVAL, "linux.devices[%zu]: only nodes under /dev are supported yet", i);
    /* /dev/input/event0 and the like (a privileged container gets every host node) */
    for (char *sl = strchr(path + 5, '/'); sl; sl = strchr(sl + 1, '/')) {
      _cleanup_free_ char *parent = xstrndup(path + 5, (size_t)(sl - (path + 5)));
      if (mkdirat(devfd, parent, 0755) < 0 && errno != EEXIST)
        return berr_sys(err, errno, "linux.devices[%zu]: mkdir /dev/%s", i, parent);
    }
    json_t *fm = json_object_get(d, "fileMode");
    mode_t mode = (fm ? (mode_t)json_integer_value(fm) : 0666) |
                  (type[0] == 'b' ? S_IFBLK : type[0] == 'p' ? S_IFIFO : S_IFCHR);
    dev_t dev = makedev(json_integer_value(json_object_get(d, "major")), json_integer_value(json_object_get(d, "minor")));
    int r = make_device(devfd, path + 5, mode, dev, c->userns, err);
    if (r < 0) return r;
    fchownat(devfd, path + 5, (uid_t)json_integer_value(json_object_get(d, "uid")),
             (gid_t)json_integer_value(json_object_get(d, "gid")), AT_SYMLINK_NOFOLLOW);
  }
  for (size_t k = 0; k < ARRAY_SIZE(dev_links); k++) {
    if (strcmp(dev_links[k].name, "core") == 0 && access("/proc/kcore", F_OK) < 0) continue;
    if (symlinkat(dev_links[k].target, devfd, dev_links[k].name) < 0 && errno != EEXIST)
      return berr_sys(err, errno, "symlink /dev/%s", dev_links[k].name);
  }
  return 0;
}

/* Docker's /dev is a fresh tmpfs: devices are created only when /dev is not a bind mount */
static bool dev_is_fresh(json_t *mounts) {
  size_t i;
  json_t *m;
  json_array_foreach(mounts, i, m) {
    const char *dest = json_string_value(json_object_get(m, "destination"));
    const char *type = json_string_value(json_object_get(m, "type"));
    if (dest && strcmp(dest, "/dev") == 0) return !type || strcmp(type, "bind") != 0;
  }
  return false;
}

static int pivot(const char *rootfs, struct berth_error **err) {
  _cleanup_close_ int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  _cleanup_close_ int newroot = open(rootfs, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (oldroot < 0 || newroot < 0) return berr_sys(err, errno, "open \"%s\"", rootfs);
  /* pivot_root(".", ".") stacks the old root on top of the new one; no put_old dir is needed */
  if (fchdir(newroot) < 0 || sys_pivot_root(".", ".") < 0) return berr_sys(err, errno, "pivot_root to \"%s\"", rootfs);
  if (fchdir(oldroot) < 0) return berr_sys(err, errno, "fchdir");
  /* make the old root a slave so the unmount below does not propagate to the host */
  if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0) return berr_sys(err, errno, "make old root rslave");
  if (umount2(".", MNT_DETACH) < 0) return berr_sys(err, errno, "unmount the old root");
  if (chdir("/") < 0) return berr_sys(err, errno, "chdir /");
  return 0;
}

static int mask_paths(json_t *lx, struct berth_error **err) {
  _cleanup_close_ int rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(lx, "readonlyPaths"), i, v) {
    _cleanup_close_ int fd = open_resolved(rootfd, json_string_value(v));
    if (fd < 0) continue; /* absent in this kernel or image: nothing to protect */
    char t[64];
    snprintf(t, sizeof(t), "/proc/self/fd/%d", fd);
    if (mount(t, t, NULL, MS_BIND | MS_REC, NULL) < 0)
      return berr_sys(err, errno, "bind \"%s\" read-only", json_string_value(v));
    close(take_fd(&fd));
    fd = open_resolved(rootfd, json_string_value(v));
    snprintf(t, sizeof(t), "/proc/self/fd/%d", fd);
    int r = remount_bind(t, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, 0, err);
    if (r < 0) return berr_prefix(err, "read-only path \"%s\"", json_string_value(v));
  }
  json_array_foreach(json_object_get(lx, "maskedPaths"), i, v) {
    _cleanup_close_ int fd = open_resolved(rootfd, json_string_value(v));
    if (fd < 0) continue;
    struct stat st;
    char t[64];
    snprintf(t, sizeof(t), "/proc/self/fd/%d", fd);
    int r = fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) ? mount("tmpfs", t, "tmpfs", MS_RDONLY, NULL)
                                                       : mount("/dev/null", t, NULL, MS_BIND, NULL);
    if (r < 0) return berr_sys(err, errno, "mask \"%s\"", json_string_value(v));
  }
  return 0;
}

/* linux.sysctl, written after pivot_root (the container's /proc) and before /proc/sys turns read-only */
static int write_sysctls(json_t *sysctl, struct berth_error **err) {
  const char *key;
  json_t *v;
  json_object_foreach(sysctl, key, v) {
    if (!json_is_string(v) || !*key || strstr(key, "..") || strchr(key, '/'))
      return berr(err, EINVAL, "linux.sysctl: invalid entry \"%s\"", key);
    _cleanup_free_ char *path = xasprintf("/proc/sys/%s", key);
    for (char *p = path + 10; *p; p++)
      if (*p == '.') *p = '/';
    _cleanup_close_ int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || write_all(fd, json_string_value(v), json_string_length(v)) < 0)
      return berr_sys(err, errno, "linux.sysctl: set %s=%s", key, json_string_value(v));
  }
  return 0;
}

static int mount_all(struct rt_container *c, struct berth_error **err) {
  _cleanup_close_ int rootfd = open(c->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) return berr_sys(err, errno, "open rootfs \"%s\"", c->rootfs);
  json_t *mounts = json_object_get(c->spec, "mounts"), *m;
  size_t i;
  json_array_foreach(mounts, i, m) {
    int r = do_mount(rootfd, c, m, err);
    if (r < 0) return berr_prefix(err, "mounts[%zu]", i);
  }
  if (dev_is_fresh(mounts)) return setup_devices(c, rootfd, err);
  return 0;
}

/* linux.rootfsPropagation as mount flags, 0 when unset */
static unsigned long rootfs_propagation(json_t *lx) {
  const char *prop = json_string_value(json_object_get(lx, "rootfsPropagation"));
  if (!prop || !*prop) return 0;
  struct rt_mount_opts mo;
  json_t *opts = json_pack("[s]", prop);
  rt_parse_mount_options(opts, &mo);
  json_decref(opts);
  free(mo.data);
  return mo.propagation;
}

int rt_rootfs_prepare(struct rt_container *c, struct berth_error **err) {
  json_t *lx = json_object_get(c->spec, "linux");
  if (c->mnt_mode == RT_MNT_HOST) return mount_all(c, err); /* the host's tree: its propagation stays */
  unsigned long prop = rootfs_propagation(lx);
  /* nothing we mount may reach the host: the tree becomes a slave (private when asked). A shared
   * or unbindable root is set after pivot_root, which refuses a shared new root and cannot bind
   * an unbindable one */
  unsigned long pre = (prop & MS_PRIVATE) ? MS_PRIVATE : MS_SLAVE;
  if (mount(NULL, "/", NULL, MS_REC | pre, NULL) < 0) return berr_sys(err, errno, "set propagation of /");
  if (mount(c->rootfs, c->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
    return berr_sys(err, errno, "bind mount rootfs \"%s\"", c->rootfs);
  return mount_all(c, err);
}

static int enter_root(struct rt_container *c, struct berth_error **err) {
  if (c->mnt_mode != RT_MNT_HOST) return pivot(c->rootfs, err);
  if (chroot(c->rootfs) < 0 || chdir("/") < 0) return berr_sys(err, errno, "chroot to \"%s\"", c->rootfs);
  return 0;
}

int rt_rootfs_finish(struct rt_container *c, struct berth_error **err) {
  json_t *lx = json_object_get(c->spec, "linux");
  int r = enter_root(c, err);
  unsigned long prop = rootfs_propagation(lx);
  if (r == 0 && prop && c->mnt_mode != RT_MNT_HOST && mount(NULL, "/", NULL, prop, NULL) < 0)
    r = berr_sys(err, errno, "linux.rootfsPropagation: set propagation of /");
  if (r == 0) r = write_sysctls(json_object_get(lx, "sysctl"), err);
  if (r == 0 && c->mnt_mode != RT_MNT_HOST) r = mask_paths(lx, err);
  if (r == 0 && c->mnt_mode != RT_MNT_HOST && json_is_true(json_object_get(json_object_get(c->spec, "root"), "readonly")))
    r = remount_bind("/", MS_RDONLY, 0, err);
  return r;
}

/* mountinfo's escapes: space, tab, newline and backslash as \ooo */
static void unescape_octal(char *s) {
  char *w = s;
  for (char *p = s; *p; p++) {
    if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' && p[3] >= '0' && p[3] <= '7') {
      *w++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
      p += 3;
    } else {
      *w++ = *p;
    }
  }
  *w = '\0';
}

int rt_umount_under(const char *dir, struct berth_error **err) {
  _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f) return berr_sys(err, errno, "open /proc/self/mountinfo");
  size_t len = strlen(dir), cap = 0;
  _cleanup_free_ char *line = NULL;
  char **found = NULL;
  size_t n = 0;
  while (getline(&line, &cap, f) > 0) {
    char mp[PATH_MAX];
    if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1) continue;
    unescape_octal(mp);
    if (strncmp(mp, dir, len) == 0 && mp[len] == '/') { /* dir itself is the caller's */
      found = xrealloc(found, (n + 1) * sizeof(*found));
      found[n++] = xstrdup(mp);
    }
  }
  int r = 0;
  /* later mounts sit on earlier ones: undo them in reverse order */
  for (size_t i = n; i-- > 0;) {
    if (umount2(found[i], MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT && r == 0)
      r = berr_sys(err, errno, "unmount \"%s\"", found[i]);
    free(found[i]);
  }
  free(found);
  return r;
}
