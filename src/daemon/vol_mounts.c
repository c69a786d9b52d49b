/* vol_mounts.c - a container's mounts: -v/Binds, --volumes-from and Config.Volumes resolved at
 * create into dir/mounts.json (inspect's Mounts shape), turned into OCI bind mounts at start */
#define LOG_TAG "berthd"
#include "common/fs.h"
#include "common/log.h"
#include "common/syscalls.h"
#include "common/xalloc.h"
#include "daemon/daemon.h"
#include "daemon/volumes.h"
#include "runtime/spec.h"
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#define MOUNTS_FILE "mounts.json"

void vol_bind_clear(struct vol_bind *b) {
  free(b->src);
  free(b->dst);
  free(b->mode);
  *b = (struct vol_bind){0};
}

static const char *const propagations[] = {"private", "rprivate", "shared", "rshared", "slave", "rslave"};
/* accepted and meaningless here (SELinux relabel, Docker Desktop's consistency hints) */
static const char *const ignored_modes[] = {"z", "Z", "consistent", "cached", "delegated"};

static bool in_list(const char *s, const char *const *list, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(s, list[i]) == 0) return true;
  return false;
}

/* parse_mode: "ro,rshared,nocopy"; at most one of ro/rw and one propagation */
static int parse_mode(const char *spec, struct vol_bind *b, struct berth_error **err) {
  _cleanup_free_ char *copy = xstrdup(b->mode);
  int rw_seen = 0, prop_seen = 0;
  for (char *save = NULL, *m = strtok_r(copy, ",", &save); m; m = strtok_r(NULL, ",", &save)) {
    if (strcmp(m, "ro") == 0 || strcmp(m, "rw") == 0) {
      b->rw = m[1] == 'w';
      rw_seen++;
    } else if (in_list(m, propagations, ARRAY_SIZE(propagations))) {
      b->propagation = propagations[0];
      for (size_t i = 0; i < ARRAY_SIZE(propagations); i++)
        if (strcmp(m, propagations[i]) == 0) b->propagation = propagations[i];
      prop_seen++;
    } else if (strcmp(m, "nocopy") == 0) {
      b->nocopy = true;
    } else if (!in_list(m, ignored_modes, ARRAY_SIZE(ignored_modes))) {
      return berr(err, EINVAL, "invalid mode: %s", b->mode);
    }
  }
  if (rw_seen > 1 || prop_seen > 1 || (b->nocopy && !b->is_volume) || (prop_seen && b->is_volume))
    return berr(err, EINVAL, "invalid mode: %s", b->mode);
  (void)spec;
  return 0;
}

/* mode_valid: every comma-separated part is a mode -v knows (docker: "/data:ro" is DST:MODE) */
static bool mode_valid(const char *mode) {
  _cleanup_free_ char *copy = xstrdup(mode);
  for (char *save = NULL, *m = strtok_r(copy, ",", &save); m; m = strtok_r(NULL, ",", &save))
    if (strcmp(m, "ro") != 0 && strcmp(m, "rw") != 0 && strcmp(m, "nocopy") != 0 &&
        !in_list(m, propagations, ARRAY_SIZE(propagations)) && !in_list(m, ignored_modes, ARRAY_SIZE(ignored_modes)))
      return false;
  return true;
}

/* clean_dst: strip trailing slashes ("/data/" is "/data") */
static void clean_dst(char *p) {
  size_t n = strlen(p);
  while (n > 1 && p[n - 1] == '/') p[--n] = '\0';
}

int vol_bind_parse(const char *spec, struct vol_bind *out, struct berth_error **err) {
  *out = (struct vol_bind){.rw = true};
  _cleanup_free_ char *copy = xstrdup(spec);
  char *parts[4] = {0};
  int n = 0;
  for (char *p = copy; p && n < 4; n++) {
    parts[n] = p;
    p = strchr(p, ':');
    if (p) *p++ = '\0';
  }
  if (n == 0 || n > 3 || !*parts[0] || (n >= 2 && !*parts[1])) return berr(err, EINVAL, "invalid volume specification: '%s'", spec);
  if (n == 2 && parts[1][0] != '/' && mode_valid(parts[1])) { /* "/data:ro": an anonymous volume with a mode */
    parts[2] = parts[1];
    parts[1] = parts[0];
    parts[0] = NULL;
    n = 3;
  }
  char *dst = n == 1 ? parts[0] : parts[1];
  if (dst[0] != '/')
    return berr(err, EINVAL, "invalid volume specification: '%s': invalid mount config for type \"%s\": invalid mount path: '%s' mount path must be absolute",
                spec, n == 1 || !parts[0] || parts[0][0] != '/' ? "volume" : "bind", dst);
  out->dst = xstrdup(dst);
  clean_dst(out->dst);
  if (strcmp(out->dst, "/") == 0) {
    vol_bind_clear(out);
    return berr(err, EINVAL, "invalid volume specification: '%s': invalid mount config: destination can't be '/'", spec);
  }
  out->src = n == 1 || !parts[0] ? NULL : xstrdup(parts[0]);
  out->is_volume = !out->src || out->src[0] != '/';
  out->mode = xstrdup(n == 3 ? parts[2] : "");
  if (out->src && !out->is_volume) clean_dst(out->src);
  int r = parse_mode(spec, out, err);
  if (r < 0) {
    vol_bind_clear(out);
    return berr_prefix(err, "invalid volume specification: '%s'", spec);
  }
  if (!out->is_volume && !out->propagation) out->propagation = "rprivate";
  return 0;
}

static json_t *volume_mount(struct daemon *d, const char *name, const char *dst, const char *mode, bool rw) {
  _cleanup_free_ char *src = vol_data_dir(d, name);
  return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:s}", "Type", "volume", "Name", name, "Source", src,
                   "Destination", dst, "Driver", "local", "Mode", mode, "RW", rw, "Propagation", "");
}

/* use_volume: create (or find) the named volume, or a new anonymous one (name NULL), for id */
static int use_volume(struct daemon *d, const char *id, const char *name, const char *dst, const char *mode, bool rw,
                      json_t *mounts, struct berth_error **err) {
  _cleanup_json_ json_t *v = NULL;
  int r = vol_create(d, name, NULL, NULL, &v, err);
  const char *vn = json_string_value(json_object_get(v, "Name"));
  if (r == 0) r = vol_ref_add(d, vn, id, err);
  if (r == 0) json_array_append_new(mounts, volume_mount(d, vn, dst, mode, rw));
  return r;
}

/* add_bind: one Binds entry; a missing host directory is created, as Docker does for -v */
static int add_bind(struct daemon *d, const char *id, const char *spec, json_t *mounts, json_t *seen,
                    struct berth_error **err) {
  struct vol_bind b;
  int r = vol_bind_parse(spec, &b, err);
  if (r < 0) return r;
  if (json_object_get(seen, b.dst)) r = berr(err, EINVAL, "Duplicate mount point: %s", b.dst);
  json_object_set_new(seen, b.dst, json_true());
  struct stat st;
  if (r == 0 && b.is_volume) {
    r = use_volume(d, id, b.src, b.dst, b.mode, b.rw, mounts, err);
  } else if (r == 0) {
    if (lstat(b.src, &st) < 0 && errno == ENOENT) r = mkdir_p(b.src, 0755, err);
    if (r == 0)
      json_array_append_new(mounts, json_pack("{s:s, s:s, s:s, s:s, s:b, s:s}", "Type", "bind", "Source", b.src,
                                              "Destination", b.dst, "Mode", b.mode, "RW", b.rw, "Propagation",
                                              b.propagation));
  }
  vol_bind_clear(&b);
  return r;
}

/* check_api_mount: Docker's checks of one HostConfig.Mounts entry (types bind, volume, tmpfs) */
static int check_api_mount(const json_t *m, const char *type, const char *src, const char *dst, struct berth_error **err) {
  static const char *const types[] = {"bind", "volume", "tmpfs"};
  if (!type || !in_list(type, types, ARRAY_SIZE(types)))
    return berr(err, type ? ENOTSUP : EINVAL, "mount type \"%s\" is not supported%s", type ? type : "",
                type ? " yet: only bind, volume and tmpfs" : "");
  if (!dst || dst[0] != '/')
    return berr(err, EINVAL, "invalid mount config for type \"%s\": invalid mount path: '%s' mount path must be absolute",
                type, dst ? dst : "");
  if (strcmp(type, "bind") == 0 && (!src || src[0] != '/'))
    return berr(err, EINVAL, "invalid mount config for type \"bind\": invalid mount path: '%s' mount path must be absolute",
                src ? src : "");
  if (strcmp(type, "tmpfs") == 0 && src && *src)
    return berr(err, EINVAL, "invalid mount config for type \"tmpfs\": source must not be specified");
  if (strcmp(type, "bind") != 0 && json_object_get(m, "BindOptions"))
    return berr(err, EINVAL, "invalid mount config for type \"%s\": field BindOptions must not be specified", type);
  if (strcmp(type, "volume") != 0 && json_object_get(m, "VolumeOptions"))
    return berr(err, EINVAL, "invalid mount config for type \"%s\": field VolumeOptions must not be specified", type);
  return 0;
}

/* add_api_mount: one HostConfig.Mounts entry (--mount); unlike -v a missing bind source is an error */
static int add_api_mount(struct daemon *d, const char *id, const json_t *m, json_t *mounts, json_t *seen,
                         struct berth_error **err) {
  const char *type = json_string_value(json_object_get(m, "Type"));
  const char *src = json_string_value(json_object_get(m, "Source"));
  _cleanup_free_ char *dst = xstrdup(json_string_value(json_object_get(m, "Target")) ?: "");
  int r = check_api_mount(m, type, src, dst, err);
  if (r < 0) return r;
  clean_dst(dst);
  if (json_object_get(seen, dst)) return berr(err, EINVAL, "Duplicate mount point: %s", dst);
  json_object_set_new(seen, dst, json_true());
  bool rw = !json_is_true(json_object_get(m, "ReadOnly"));
  if (strcmp(type, "volume") == 0) {
    bool nocopy = json_is_true(json_object_get(json_object_get(m, "VolumeOptions"), "NoCopy"));
    return use_volume(d, id, src && *src ? src : NULL, dst, nocopy ? "nocopy" : "", rw, mounts, err);
  }
  if (strcmp(type, "tmpfs") == 0) {
    json_t *to = json_object_get(m, "TmpfsOptions");
    json_array_append_new(mounts, json_pack("{s:s, s:s, s:s, s:s, s:b, s:s, s:I, s:I}", "Type", "tmpfs", "Source", "",
                                            "Destination", dst, "Mode", "", "RW", rw, "Propagation", "", "_SizeBytes",
                                            json_integer_value(json_object_get(to, "SizeBytes")), "_Mode",
                                            json_integer_value(json_object_get(to, "Mode"))));
    return 0;
  }
  json_t *bo = json_object_get(m, "BindOptions");
  const char *prop = json_string_value(json_object_get(bo, "Propagation"));
  if (prop && *prop && !in_list(prop, propagations, ARRAY_SIZE(propagations)))
    return berr(err, EINVAL, "invalid propagation mode: %s", prop);
  struct stat st;
  if (lstat(src, &st) < 0) {
    if (errno != ENOENT || !json_is_true(json_object_get(bo, "CreateMountpoint")))
      return berr(err, EINVAL, "invalid mount config for type \"bind\": bind source path does not exist: %s", src);
    if ((r = mkdir_p(src, 0755, err)) < 0) return r;
  }
  json_array_append_new(mounts, json_pack("{s:s, s:s, s:s, s:s, s:b, s:s}", "Type", "bind", "Source", src,
                                          "Destination", dst, "Mode", "", "RW", rw, "Propagation",
                                          prop && *prop ? prop : "rprivate"));
  return 0;
}

static json_t *read_mounts(const char *dir) {
  _cleanup_free_ char *p = path_join(dir, MOUNTS_FILE);
  json_t *m = json_load_file(p, 0, NULL);
  if (!json_is_array(m)) {
    json_decref(m);
    return NULL;
  }
  return m;
}

/* add_volumes_from: "CTR[:ro|rw]": the other container's mounts, at the same places */
static int add_volumes_from(struct daemon *d, const char *id, const char *spec, json_t *mounts, json_t *seen,
                            struct berth_error **err) {
  _cleanup_free_ char *ref = xstrdup(spec);
  char *mode = strchr(ref, ':');
  if (mode) *mode++ = '\0';
  if (mode && strcmp(mode, "ro") != 0 && strcmp(mode, "rw") != 0 && strcmp(mode, "z") != 0 && strcmp(mode, "Z") != 0)
    return berr(err, EINVAL, "invalid mode for volumes-from: %s", mode);
  _cleanup_store_container_ struct store_container *c = NULL;
  int r = store_container_find(d->store, ref, &c, err);
  if (r < 0) return r;
  _cleanup_free_ char *dir = ctr_dir(d, c->id);
  _cleanup_json_ json_t *theirs = read_mounts(dir);
  size_t i;
  json_t *m;
  json_array_foreach(theirs, i, m) {
    const char *dst = json_string_value(json_object_get(m, "Destination"));
    if (!dst || json_object_get(seen, dst)) continue;
    json_object_set_new(seen, dst, json_true());
    json_t *mine = json_deep_copy(m);
    if (mode && (mode[0] == 'r')) json_object_set_new(mine, "RW", json_boolean(strcmp(mode, "rw") == 0));
    json_array_append_new(mounts, mine);
    const char *name = json_string_value(json_object_get(m, "Name"));
    if (name && (r = vol_ref_add(d, name, id, err)) < 0) return r;
  }
  return 0;
}

int vol_ctr_setup(struct daemon *d, const char *id, const json_t *cfg, const json_t *hc, const char *dir,
                  struct berth_error **err) {
  const json_t *binds = json_object_get(hc, "Binds"), *from = json_object_get(hc, "VolumesFrom");
  const json_t *vols = json_object_get(cfg, "Volumes"), *api = json_object_get(hc, "Mounts");
  if (!json_array_size(binds) && !json_array_size(from) && !json_object_size(vols) && !json_array_size(api)) return 0;
  _cleanup_json_ json_t *mounts = json_array();
  _cleanup_json_ json_t *seen = json_object();
  size_t i;
  json_t *v;
  int r = 0;
  json_array_foreach(binds, i, v) {
    if (!json_is_string(v)) return berr(err, EINVAL, "HostConfig.Binds must be a list of strings");
    if ((r = add_bind(d, id, json_string_value(v), mounts, seen, err)) < 0) return r;
  }
  json_array_foreach(api, i, v) {
    if (!json_is_object(v)) return berr(err, EINVAL, "HostConfig.Mounts must be a list of objects");
    if ((r = add_api_mount(d, id, v, mounts, seen, err)) < 0) return r;
  }
  json_array_foreach(from, i, v) {
    if (!json_is_string(v)) return berr(err, EINVAL, "HostConfig.VolumesFrom must be a list of strings");
    if ((r = add_volumes_from(d, id, json_string_value(v), mounts, seen, err)) < 0) return r;
  }
  const char *path;
  json_object_foreach((json_t *)vols, path, v) {
    _cleanup_free_ char *dst = xstrdup(path);
    clean_dst(dst);
    if (dst[0] != '/' || strcmp(dst, "/") == 0) return berr(err, EINVAL, "invalid volume specification: '%s'", path);
    if (json_object_get(seen, dst)) continue;
    json_object_set_new(seen, dst, json_true());
    if ((r = use_volume(d, id, NULL, dst, "", true, mounts, err)) < 0) return r;
  }
  _cleanup_free_ char *text = json_dumps(mounts, JSON_COMPACT);
  _cleanup_free_ char *p = path_join(dir, MOUNTS_FILE);
  return write_file_atomic(p, text, strlen(text), 0600, 0, err);
}

json_t *vol_mounts_json(const char *dir) {
  json_t *m = read_mounts(dir);
  if (!m) return json_array();
  /* keys starting with "_" are berth's own (tmpfs size and mode), not inspect's */
  size_t i;
  json_t *e;
  json_array_foreach(m, i, e) {
    const char *k;
    void *tmp;
    json_t *v;
    json_object_foreach_safe(e, tmp, k, v) if (k[0] == '_') json_object_del(e, k);
  }
  return m;
}

/* ---------------------------------------------------------------- copying image content */

static int copy_tree(int sfd, int dfd, int depth, struct berth_error **err);

static int copy_data(int in, int out, const char *name, struct berth_error **err) {
  bool plain = false;
  for (;;) {
    ssize_t n = plain ? -1 : copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
    if (n == 0) return 0;
    if (n > 0) continue;
    if (!plain && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
      plain = true; /* other filesystem (overlay to ext4): plain reads and writes */
      continue;
    }
    if (!plain) return berr_sys(err, errno, "copy \"%s\"", name);
    char buf[65536];
    do n = read(in, buf, sizeof(buf));
    while (n < 0 && errno == EINTR);
    if (n < 0) return berr_sys(err, errno, "read \"%s\"", name);
    if (n == 0) return 0;
    if (write_all(out, buf, (size_t)n) < 0) return berr_sys(err, errno, "write \"%s\"", name);
  }
}

/* copy_entry: one directory entry of sfd into dfd, keeping type, mode, owner and times */
static int copy_entry(int sfd, int dfd, const char *name, int depth, struct berth_error **err) {
  struct stat st;
  if (fstatat(sfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) return berr_sys(err, errno, "stat \"%s\"", name);
  mode_t perm = st.st_mode & 07777;
  if (S_ISDIR(st.st_mode)) {
    if (mkdirat(dfd, name, 0700) < 0 && errno != EEXIST) return berr_sys(err, errno, "mkdir \"%s\"", name);
    _cleanup_close_ int s = openat(sfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    _cleanup_close_ int t = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (s < 0 || t < 0) return berr_sys(err, errno, "open \"%s\"", name);
    int r = copy_tree(s, t, depth + 1, err);
    if (r == 0 && (fchown(t, st.st_uid, st.st_gid) < 0 || fchmod(t, perm) < 0))
      return berr_sys(err, errno, "chown \"%s\"", name);
    return r;
  }
  if (S_ISLNK(st.st_mode)) {
    char target[4096];
    ssize_t n = readlinkat(sfd, name, target, sizeof(target) - 1);
    if (n < 0) return berr_sys(err, errno, "readlink \"%s\"", name);
    target[n] = '\0';
    if (symlinkat(target, dfd, name) < 0) return berr_sys(err, errno, "symlink \"%s\"", name);
    fchownat(dfd, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
    return 0;
  }
  if (!S_ISREG(st.st_mode)) {
    if (mknodat(dfd, name, st.st_mode, st.st_rdev) < 0) return berr_sys(err, errno, "mknod \"%s\"", name);
    fchownat(dfd, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
    return 0;
  }
  _cleanup_close_ int in = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  _cleanup_close_ int out = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (in < 0 || out < 0) return berr_sys(err, errno, "open \"%s\"", name);
  int r = copy_data(in, out, name, err);
  if (r == 0 && (fchown(out, st.st_uid, st.st_gid) < 0 || fchmod(out, perm) < 0))
    return berr_sys(err, errno, "chown \"%s\"", name);
  struct timespec times[2] = {st.st_atim, st.st_mtim};
  futimens(out, times);
  return r;
}

static int copy_tree(int sfd, int dfd, int depth, struct berth_error **err) {
  if (depth > 256) return berr(err, ELOOP, "directory tree too deep");
  int dup_fd = fcntl(sfd, F_DUPFD_CLOEXEC, 3);
  if (dup_fd < 0) return berr_sys(err, errno, "dup");
  _cleanup_closedir_ DIR *dir = fdopendir(dup_fd);
  if (!dir) {
    close(dup_fd);
    return berr_sys(err, errno, "opendir");
  }
  for (struct dirent *e; (e = readdir(dir));) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    int r = copy_entry(sfd, dfd, e->d_name, depth, err);
    if (r < 0) return r;
  }
  return 0;
}

static bool dir_is_empty(int fd) {
  int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  _cleanup_closedir_ DIR *dir = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
  if (!dir) return false;
  for (struct dirent *e; (e = readdir(dir));)
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) return false;
  return true;
}

/* populate: an empty volume gets the image's content at its mount point (Docker's copy-up),
 * resolved inside the rootfs; the directory's mode and owner come along */
static int populate(const char *rootfs, const char *dst, const char *data, struct berth_error **err) {
  _cleanup_close_ int t = open(data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (t < 0) return berr_sys(err, errno, "open volume \"%s\"", data);
  if (!dir_is_empty(t)) return 0;
  _cleanup_close_ int root = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) return berr_sys(err, errno, "open \"%s\"", rootfs);
  struct open_how how = {.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT};
  _cleanup_close_ int s = sys_openat2(root, dst, &how);
  if (s < 0) return 0; /* nothing there in the image */
  struct stat st;
  if (fstat(s, &st) == 0 && (fchown(t, st.st_uid, st.st_gid) < 0 || fchmod(t, st.st_mode & 07777) < 0))
    return berr_sys(err, errno, "chown volume \"%s\"", data);
  int r = copy_tree(s, t, 0, err);
  return r < 0 ? berr_prefix(err, "copy the image's %s into the volume", dst) : 0;
}

/* ---------------------------------------------------------------- the OCI spec */

static void drop_dest(json_t *mounts, const char *dst) {
  for (size_t i = json_array_size(mounts); i-- > 0;) {
    const char *d = json_string_value(json_object_get(json_array_get(mounts, i), "destination"));
    if (d && strcmp(d, dst) == 0) json_array_remove(mounts, i);
  }
}

static size_t depth_of(const char *p) {
  size_t n = 0;
  for (; *p; p++) n += *p == '/';
  return n;
}

/* add_oci_tmpfs: --mount type=tmpfs: Docker's nosuid,nodev,noexec and the size and mode asked for */
static int add_oci_tmpfs(json_t *oci, const json_t *m, const char *dst) {
  drop_dest(oci, dst);
  json_t *opts = json_pack("[s, s, s]", "nosuid", "nodev", "noexec");
  json_int_t size = json_integer_value(json_object_get(m, "_SizeBytes"));
  json_int_t mode = json_integer_value(json_object_get(m, "_Mode"));
  if (size > 0) json_array_append_new(opts, json_sprintf("size=%lld", (long long)size));
  if (mode > 0) json_array_append_new(opts, json_sprintf("mode=%llo", (long long)mode));
  if (!json_is_true(json_object_get(m, "RW"))) json_array_append_new(opts, json_string("ro"));
  json_array_append_new(oci, json_pack("{s:s, s:s, s:s, s:o}", "destination", dst, "type", "tmpfs", "source", "tmpfs",
                                       "options", opts));
  return 0;
}

static int add_oci_mount(json_t *oci, const char *rootfs, const json_t *m, struct berth_error **err) {
  const char *type = json_string_value(json_object_get(m, "Type"));
  const char *src = json_string_value(json_object_get(m, "Source"));
  const char *dst = json_string_value(json_object_get(m, "Destination"));
  const char *mode = json_string_value(json_object_get(m, "Mode"));
  const char *prop = json_string_value(json_object_get(m, "Propagation"));
  if (!type || !src || !dst) return berr(err, EINVAL, "malformed mount in " MOUNTS_FILE);
  if (strcmp(type, "tmpfs") == 0) return add_oci_tmpfs(oci, m, dst);
  if (strcmp(type, "volume") == 0 && !(mode && strstr(mode, "nocopy"))) {
    int r = populate(rootfs, dst, src, err);
    if (r < 0) return r;
  }
  drop_dest(oci, dst); /* a user bind over /etc/hosts replaces berth's own */
  json_t *opts = json_pack("[s, s]", "rbind", prop && *prop ? prop : "rprivate");
  if (!json_is_true(json_object_get(m, "RW"))) json_array_append_new(opts, json_string("ro"));
  json_array_append_new(oci, json_pack("{s:s, s:s, s:s, s:o}", "destination", dst, "type", "bind", "source", src,
                                       "options", opts));
  return 0;
}

int vol_spec_apply(json_t *spec, const char *dir, struct berth_error **err) {
  _cleanup_json_ json_t *mounts = read_mounts(dir);
  if (!mounts) return 0;
  json_t *oci = json_object_get(spec, "mounts");
  if (!json_is_array(oci)) return berr(err, EINVAL, "the spec has no mounts list");
  _cleanup_free_ char *rootfs = path_join(dir, "rootfs");
  /* parents before children: /data before /data/logs whatever the order given */
  size_t maxd = 0, i;
  json_t *m;
  json_array_foreach(mounts, i, m) {
    size_t dd = depth_of(json_string_value(json_object_get(m, "Destination")) ?: "");
    if (dd > maxd) maxd = dd;
  }
  for (size_t dd = 0; dd <= maxd; dd++) {
    json_array_foreach(mounts, i, m) {
      if (depth_of(json_string_value(json_object_get(m, "Destination")) ?: "") != dd) continue;
      int r = add_oci_mount(oci, rootfs, m, err);
      if (r < 0) return r;
    }
  }
  return 0;
}
