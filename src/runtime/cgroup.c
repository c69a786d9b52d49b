/* cgroup.c - the container's cgroups: host detection, create/join/destroy, pids, freezer, cgroupfs view */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>
#include "common/fs.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "runtime/cgroup.h"
#include "runtime/runtime.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

/* ---- the context: which trees, where ---- */

static void hiers_free(struct cg_hier *h) {
  for (struct cg_hier *p = h; p && p->mountpoint; p++) {
    free(p->mountpoint);
    free(p->controllers);
  }
  free(h);
}

static void hiers_add(struct cg_hier **h, size_t *n, char *mountpoint, char *controllers) {
  *h = xrealloc(*h, (*n + 2) * sizeof(**h));
  (*h)[*n] = (struct cg_hier){.mountpoint = mountpoint, .controllers = controllers};
  (*h)[++*n] = (struct cg_hier){0};
}

/* the cgroup controllers among a v1 mount's super options (rw,memory -> memory) */
static char *controllers_of(const char *superopts) {
  static const char *const skip[] = {"rw", "ro", "nsdelegate", "clone_children", "noprefix", "memory_recursiveprot"};
  _cleanup_free_ char *copy = xstrdup(superopts);
  char *save = NULL, *out = xstrdup("");
  for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    bool drop = strncmp(t, "release_agent=", 14) == 0;
    for (size_t i = 0; i < ARRAY_SIZE(skip); i++) drop |= strcmp(t, skip[i]) == 0;
    if (drop) continue;
    char *n = xasprintf("%s%s%s", out, *out ? "," : "", t);
    free(out);
    out = n;
  }
  return out;
}

/* cgroup mounts from /proc/self/mountinfo, the array ends with a NULL mountpoint */
static struct cg_hier *hiers_load(void) {
  _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
  struct cg_hier *h = xcalloc(1, sizeof(*h));
  size_t n = 0;
  char line[4096];
  while (f && fgets(line, sizeof(line), f)) {
    char *sep = strstr(line, " - ");
    char mp[1024], fstype[64], src[256], sopts[1024];
    if (!sep || sscanf(line, "%*s %*s %*s %*s %1023s", mp) != 1 ||
        sscanf(sep + 3, "%63s %255s %1023s", fstype, src, sopts) != 3)
      continue;
    bool v2 = strcmp(fstype, "cgroup2") == 0;
    if (!v2 && strcmp(fstype, "cgroup") != 0) continue;
    /* only the host's hierarchies: other containers' rootfs (in this namespace when they have no
     * mount namespace of their own) carry read-only cgroup mounts of their own */
    if (strncmp(mp, "/sys/fs/cgroup/", 15) != 0 && strcmp(mp, "/sys/fs/cgroup") != 0) continue;
    hiers_add(&h, &n, xstrdup(mp), v2 ? xstrdup("") : controllers_of(sopts));
  }
  return h;
}

static bool is_cgroup2(const char *path) {
  struct statfs sf;
  return statfs(path, &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;
}

void cg_ctx_host(struct cg_ctx *ctx) {
  *ctx = (struct cg_ctx){.root = xstrdup("/sys/fs/cgroup"), .mode = CG_V1};
  if (is_cgroup2("/sys/fs/cgroup")) {
    ctx->mode = CG_V2;
    ctx->hiers = xcalloc(1, sizeof(*ctx->hiers));
    return;
  }
  if (is_cgroup2("/sys/fs/cgroup/unified")) ctx->mode = CG_HYBRID;
  ctx->hiers = hiers_load();
}

void cg_ctx_fake(struct cg_ctx *ctx, const char *root, enum cg_mode mode) {
  *ctx = (struct cg_ctx){.root = xstrdup(root), .mode = mode, .fake = true, .hiers = xcalloc(1, sizeof(struct cg_hier))};
  _cleanup_closedir_ DIR *d = mode == CG_V2 ? NULL : opendir(root);
  struct dirent *de;
  size_t n = 0;
  while (d && (de = readdir(d))) {
    if (de->d_name[0] == '.' || de->d_type != DT_DIR) continue;
    hiers_add(&ctx->hiers, &n, path_join(root, de->d_name), xstrdup(de->d_name));
  }
}

void cg_ctx_clear(struct cg_ctx *ctx) {
  free(ctx->root);
  hiers_free(ctx->hiers);
  *ctx = (struct cg_ctx){0};
}

static bool has_controller(const struct cg_hier *h, const char *ctrl) {
  _cleanup_free_ char *copy = xstrdup(h->controllers);
  char *save = NULL;
  for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
    if (strcmp(t, ctrl) == 0) return true;
  return false;
}

const struct cg_hier *cg_v1_hier(const struct cg_ctx *ctx, const char *ctrl) {
  for (const struct cg_hier *p = ctx->hiers; p && p->mountpoint; p++)
    if (has_controller(p, ctrl)) return p;
  return NULL;
}

/* our own cgroup in the hierarchy with these controllers ("" for v2), from /proc/self/cgroup */
static char *own_cgroup(const char *controllers) {
  _cleanup_fclose_ FILE *f = fopen("/proc/self/cgroup", "re");
  char line[4096];
  while (f && fgets(line, sizeof(line), f)) {
    line[strcspn(line, "\n")] = '\0';
    char *c1 = strchr(line, ':');
    char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2) continue;
    *c2 = '\0';
    if (strcmp(c1 + 1, controllers) == 0) return xstrdup(c2 + 1);
  }
  return NULL;
}

char *cg_dir(const struct cg_ctx *ctx, const struct cg_hier *h, const char *path) {
  const char *mount = h ? h->mountpoint : ctx->root;
  if (path[0] == '/' || ctx->fake) return path_join(mount, path);
  /* relative: below the cgroup the runtime itself is in (runc's and the spec's reading) */
  _cleanup_free_ char *own = own_cgroup(h ? h->controllers : "");
  _cleanup_free_ char *base = path_join(mount, own ? own : "/");
  return path_join(base, path);
}

int cg_write(const struct cg_ctx *ctx, const char *dir, const char *file, const char *value, struct berth_error **err) {
  _cleanup_free_ char *p = path_join(dir, file);
  bool fake = ctx && ctx->fake;
  _cleanup_close_ int fd = open(p, fake ? O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC : O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0 || write_all(fd, value, strlen(value)) < 0 || (fake && write_all(fd, "\n", 1) < 0))
    return berr_sys(err, errno, "write \"%s\" to %s", value, p);
  return 0;
}

bool cg_read_int(const char *dir, const char *file, int64_t *out) {
  _cleanup_free_ char *p = path_join(dir, file), *text = NULL;
  if (read_file(p, &text, NULL, NULL) < 0) return false;
  char *end;
  errno = 0;
  long long v = strtoll(text, &end, 10);
  if (errno || end == text) return false;
  *out = v;
  return true;
}

bool cg_file_exists(const char *dir, const char *file) {
  _cleanup_free_ char *p = path_join(dir, file);
  return access(p, F_OK) == 0;
}

/* ---- create ---- */

/* mkdir each missing level of dir, remembering the new ones (to remove them again on failure) */
static int mkdir_tracked(const char *dir, char ***made, struct berth_error **err) {
  if (mkdir(dir, 0755) == 0) {
    *made = strv_push(*made, dir);
    return 0;
  }
  if (errno == EEXIST) return 0;
  if (errno != ENOENT) return berr_sys(err, errno, "mkdir \"%s\"", dir);
  _cleanup_free_ char *parent = xstrdup(dir);
  char *sl = strrchr(parent, '/');
  if (!sl || sl == parent) return berr_sys(err, ENOENT, "mkdir \"%s\"", dir);
  *sl = '\0';
  int r = mkdir_tracked(parent, made, err);
  if (r < 0) return r;
  if (mkdir(dir, 0755) < 0 && errno != EEXIST) return berr_sys(err, errno, "mkdir \"%s\"", dir);
  *made = strv_push(*made, dir);
  return 0;
}

static int create_v2(const struct cg_ctx *ctx, const char *path, json_t *lx, char ***made, struct berth_error **err) {
  json_t *res = json_object_get(lx, "resources");
  _cleanup_free_ char *dir = cg_dir(ctx, NULL, path);
  int r = mkdir_tracked(dir, made, err);
  if (r == 0) r = cg_v2_enable(ctx, dir, err);
  if (r == 0) r = cg_v2_apply(ctx, dir, res, err);
  if (r == 0 && json_array_size(json_object_get(res, "devices")) && !ctx->fake) r = cg_bpf_devices_apply(dir, lx, err);
  return r;
}

static int create_v1(const struct cg_ctx *ctx, const char *path, json_t *lx, char ***made, struct berth_error **err) {
  json_t *unified = json_object_get(json_object_get(lx, "resources"), "unified");
  if (json_object_size(unified)) return berr(err, ENOTSUP, "linux.resources.unified needs cgroup v2 (this host has v1)");
  const char *ctrl;
  for (size_t k = 0; (ctrl = cg_v1_ctrl_name(k)); k++) {
    if (!cg_v1_needed(ctrl, lx)) continue;
    const struct cg_hier *h = cg_v1_hier(ctx, ctrl);
    if (!h && (strcmp(ctrl, "memory") == 0 || strcmp(ctrl, "pids") == 0)) continue; /* asked for nothing */
    if (!h) return berr(err, ENOTSUP, "linux.resources asks for the %s controller, which is not mounted", ctrl);
    _cleanup_free_ char *dir = cg_dir(ctx, h, path);
    int r = mkdir_tracked(dir, made, err);
    if (r == 0) r = cg_v1_apply(ctx, ctrl, h->mountpoint, dir, lx, err);
    if (r < 0) return r;
  }
  return 0;
}

/* a ".." component would leave the cgroup tree */
static bool has_dotdot(const char *path) {
  for (const char *p = path; (p = strstr(p, "..")); p += 2)
    if ((p == path || p[-1] == '/') && (p[2] == '\0' || p[2] == '/')) return true;
  return false;
}

int cg_create(const struct cg_ctx *ctx, const char *path, json_t *lx, struct berth_error **err) {
  if (strchr(path, ':')) return berr(err, EINVAL, "systemd cgroup paths (\"%s\") are not supported yet", path);
  if (!*path || has_dotdot(path)) return berr(err, EINVAL, "invalid cgroupsPath \"%s\"", path);
  _cleanup_strv_ char **made = NULL;
  int r = cg_check_resources(json_object_get(lx, "resources"), err);
  if (r == 0) r = ctx->mode == CG_V2 ? create_v2(ctx, path, lx, &made, err) : create_v1(ctx, path, lx, &made, err);
  if (r < 0) {
    /* leave nothing behind: remove what this call made, deepest first */
    for (size_t i = strv_len(made); i-- > 0;) rmdir(made[i]);
    return berr_prefix(err, "cgroup");
  }
  return 0;
}

int rt_cgroup_create(const char *path, json_t *lx, struct berth_error **err) {
  _cleanup_cg_ctx_ struct cg_ctx ctx;
  cg_ctx_host(&ctx);
  return cg_create(&ctx, path, lx, err);
}

/* ---- destroy, join, pids ---- */

static int rmdir_retry(const char *dir, struct berth_error **err) {
  /* a task that has just died may still be leaving the cgroup: EBUSY for a moment */
  for (int i = 0; i < 1000; i++) {
    if (rmdir(dir) == 0 || errno == ENOENT) return 0;
    if (errno != EBUSY) break;
    nanosleep(&(struct timespec){.tv_nsec = 2 * 1000 * 1000}, NULL);
  }
  return berr_sys(err, errno, "remove cgroup \"%s\"", dir);
}

/* rmdir_tree: dir and the cgroups a process of the container made below it (a nested runtime,
 * systemd in the container), deepest first; without this one child cgroup keeps dir busy forever */
static int rmdir_tree(const char *dir, int depth, struct berth_error **err) {
  _cleanup_closedir_ DIR *d = depth < 32 ? opendir(dir) : NULL;
  struct dirent *de;
  while (d && (de = readdir(d))) {
    if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
    _cleanup_free_ char *sub = path_join(dir, de->d_name);
    rmdir_tree(sub, depth + 1, NULL); /* a failure shows as dir's own EBUSY below */
  }
  return rmdir_retry(dir, err);
}

int cg_destroy(const struct cg_ctx *ctx, const char *path, struct berth_error **err) {
  if (ctx->mode == CG_V2) {
    _cleanup_free_ char *dir = cg_dir(ctx, NULL, path);
    return rmdir_tree(dir, 0, err);
  }
  int ret = 0;
  for (const struct cg_hier *p = ctx->hiers; p->mountpoint; p++) {
    _cleanup_free_ char *dir = cg_dir(ctx, p, path);
    /* every hierarchy, also those `update` added; the first error is the one reported */
    int r = rmdir_tree(dir, 0, ret == 0 ? err : NULL);
    if (ret == 0) ret = r;
  }
  return ret;
}

int rt_cgroup_destroy(const char *path, struct berth_error **err) {
  _cleanup_cg_ctx_ struct cg_ctx ctx;
  cg_ctx_host(&ctx);
  return cg_destroy(&ctx, path, err);
}

/* moving a whole process (cgroup.procs) write-locks a global percpu rwsem: an RCU grace period,
 * ~10 ms here; a single-threaded process moving itself by writing "0" to v1's tasks skips that
 * lock (kernel >= 6.1), so the init and exec'd processes join their cgroups themselves */
int rt_cgroup_join_self(const char *path, struct berth_error **err) {
  _cleanup_cg_ctx_ struct cg_ctx ctx;
  cg_ctx_host(&ctx);
  if (ctx.mode == CG_V2) {
    _cleanup_free_ char *dir = cg_dir(&ctx, NULL, path);
    return cg_write(&ctx, dir, "cgroup.procs", "0", err);
  }
  for (struct cg_hier *p = ctx.hiers; p->mountpoint; p++) {
    if (!*p->controllers) continue; /* the hybrid's cgroup2 tree: nothing made there */
    _cleanup_free_ char *dir = cg_dir(&ctx, p, path);
    if (access(dir, F_OK) < 0) continue;
    int r = cg_write(&ctx, dir, "tasks", "0", err);
    if (r < 0) return berr_prefix(err, "join cgroup");
  }
  return 0;
}

/* read_procs: append dir/cgroup.procs to pids; false when the cgroup does not exist */
static bool read_procs(const char *dir, pid_t **pids, size_t *n) {
  _cleanup_free_ char *file = path_join(dir, "cgroup.procs");
  _cleanup_fclose_ FILE *f = fopen(file, "re");
  int pid;
  if (!f) return false;
  while (fscanf(f, "%d", &pid) == 1) {
    *pids = xrealloc(*pids, (*n + 1) * sizeof(pid_t));
    (*pids)[(*n)++] = pid;
  }
  return true;
}

int cg_pids(const struct cg_ctx *ctx, const char *path, pid_t **pids, size_t *n) {
  *pids = NULL;
  *n = 0;
  if (ctx->mode == CG_V2) {
    _cleanup_free_ char *dir = cg_dir(ctx, NULL, path);
    return read_procs(dir, pids, n) ? 0 : -ENOENT;
  }
  /* v1: the pids or memory cgroup first; without one (a container with only cpu or blkio
   * settings) any other non-empty one (a cgroup just made by update or pause is still empty), or
   * kill --all and delete would fall back to killing the init alone and leave its children */
  for (int pass = 0; pass < 2; pass++) {
    for (const struct cg_hier *p = ctx->hiers; p->mountpoint; p++) {
      if (!*p->controllers) continue; /* the hybrid's cgroup2 tree: nothing made there */
      bool preferred = has_controller(p, "pids") || has_controller(p, "memory");
      if (preferred != (pass == 0)) continue;
      _cleanup_free_ char *dir = cg_dir(ctx, p, path);
      if (read_procs(dir, pids, n) && (preferred || *n)) return 0;
    }
  }
  return -ENOENT;
}

int rt_cgroup_pids(const char *path, pid_t **pids, size_t *n) {
  _cleanup_cg_ctx_ struct cg_ctx ctx;
  cg_ctx_host(&ctx);
  return cg_pids(&ctx, path, pids, n);
}

/* in_procs: pid is listed in dir/cgroup.procs */
static bool in_procs(const char *dir, pid_t pid) {
  _cleanup_free_ char *file = path_join(dir, "cgroup.procs");
  _cleanup_fclose_ FILE *f = fopen(file, "re");
  int p;
  while (f && fscanf(f, "%d", &p) == 1)
    if (p == pid) return true;
  return false;
}

/* the container's processes are not in the v1 hierarchies create skipped (freezer, cpu ... the run
 * path stays short): move them into dir, again until no newcomer is left */
int cg_v1_move_pids(const struct cg_ctx *ctx, const char *path, const char *dir, struct berth_error **err) {
  _cleanup_strv_ char **made = NULL;
  int r = mkdir_tracked(dir, &made, err);
  for (int round = 0; r == 0 && round < 100; round++) {
    _cleanup_free_ pid_t *pids = NULL;
    size_t n = 0, moved = 0;
    if (cg_pids(ctx, path, &pids, &n) < 0) return berr(err, ENOENT, "the container's cgroup \"%s\" is gone", path);
    for (size_t i = 0; i < n; i++) {
      if (in_procs(dir, pids[i])) continue;
      char text[24];
      snprintf(text, sizeof(text), "%d", (int)pids[i]);
      _cleanup_berr_ struct berth_error *e = NULL;
      if (cg_write(ctx, dir, "cgroup.procs", text, &e) == 0) moved++; /* ESRCH: it exited meanwhile */
    }
    if (moved == 0) return 0;
  }
  return r < 0 ? r : berr(err, EAGAIN, "processes of \"%s\" keep forking: cannot move them all to \"%s\"", path, dir);
}

/* ---- freezer (pause/resume) ---- */

/* wait_state: poll file in dir until it contains want (the kernel freezes tasks asynchronously) */
static int wait_state(const char *dir, const char *file, const char *want, const char *retry_value,
                      struct berth_error **err) {
  _cleanup_free_ char *p = path_join(dir, file);
  for (int i = 0; i < 2000; i++) {
    _cleanup_free_ char *text = NULL;
    if (read_file(p, &text, NULL, err) < 0) return -EIO;
    if (strstr(text, want)) return 0;
    if (retry_value && cg_write(NULL, dir, file, retry_value, err) < 0) return -EIO;
    nanosleep(&(struct timespec){.tv_nsec = 1000 * 1000}, NULL);
  }
  return berr(err, ETIMEDOUT, "%s did not become \"%s\"", p, want);
}

static int freeze_v2(const struct cg_ctx *ctx, const char *path, bool freeze, struct berth_error **err) {
  _cleanup_free_ char *dir = cg_dir(ctx, NULL, path);
  _cleanup_free_ char *file = path_join(dir, "cgroup.freeze");
  _cleanup_free_ char *now = NULL;
  /* thawing what is not frozen (every delete asks): one read, no write */
  if (!freeze && (read_file(file, &now, NULL, NULL) < 0 || now[0] != '1')) return 0;
  int r = cg_write(ctx, dir, "cgroup.freeze", freeze ? "1" : "0", err);
  return r < 0 ? r : wait_state(dir, "cgroup.events", freeze ? "frozen 1" : "frozen 0", NULL, err);
}

int rt_cgroup_freeze(const char *path, bool freeze, struct berth_error **err) {
  _cleanup_cg_ctx_ struct cg_ctx ctx;
  cg_ctx_host(&ctx);
  if (ctx.mode == CG_V2) return freeze_v2(&ctx, path, freeze, err);
  const struct cg_hier *h = cg_v1_hier(&ctx, "freezer");
  if (!h) return berr(err, ENOTSUP, "no cgroup freezer hierarchy is mounted: pause is not possible");
  _cleanup_free_ char *dir = cg_dir(&ctx, h, path);
  if (!freeze) {
    if (access(dir, F_OK) < 0) return 0; /* never frozen */
    int r = cg_write(&ctx, dir, "freezer.state", "THAWED", err);
    return r < 0 ? r : wait_state(dir, "freezer.state", "THAWED", NULL, err);
  }
  int r = cg_v1_move_pids(&ctx, path, dir, err);
  if (r == 0) r = cg_write(&ctx, dir, "freezer.state", "FROZEN", err);
  /* FREEZING can stick while a task is busy in the kernel: writing FROZEN again retries */
  if (r == 0) r = wait_state(dir, "freezer.state", "FROZEN", "FROZEN", err);
  if (r < 0) cg_write(&ctx, dir, "freezer.state", "THAWED", NULL);
  return r;
}

/* ---- the "cgroup" mount type ---- */

static int bind_hierarchy(int rootfd, const char *dest, const struct cg_hier *p, unsigned long flags,
                          struct berth_error **err) {
  _cleanup_free_ char *own = own_cgroup(p->controllers);
  if (!own) return 0; /* a hierarchy we are not in (or a second cgroup2 mount): nothing to show */
  _cleanup_free_ char *src = path_join(p->mountpoint, own);
  const char *name = strrchr(p->mountpoint, '/') + 1;
  _cleanup_free_ char *target = xasprintf("%s/%s", dest, name);
  _cleanup_close_ int fd = rt_open_in_root(rootfd, target, true, false, err);
  if (fd < 0) return fd;
  char t[64];
  snprintf(t, sizeof(t), "/proc/self/fd/%d", fd);
  if (mount(src, t, NULL, MS_BIND | MS_REC, NULL) < 0) return berr_sys(err, errno, "bind cgroup \"%s\"", src);
  close(take_fd(&fd));
  if ((fd = rt_open_in_root(rootfd, target, false, false, err)) < 0) return fd;
  snprintf(t, sizeof(t), "/proc/self/fd/%d", fd);
  unsigned long f = MS_BIND | MS_REMOUNT | (flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC));
  if (mount(NULL, t, NULL, f, NULL) < 0) return berr_sys(err, errno, "remount cgroup \"%s\"", target);
  /* "cpu,cpuacct" is also reachable as cpu and cpuacct, as on the host */
  if (strchr(name, ',')) {
    _cleanup_free_ char *copy = xstrdup(name);
    _cleanup_close_ int dfd = rt_open_in_root(rootfd, dest, false, false, err);
    char d[64], *save = NULL;
    snprintf(d, sizeof(d), "/proc/self/fd/%d", dfd);
    _cleanup_close_ int dirfd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    for (char *tk = strtok_r(copy, ",", &save); tk && dirfd >= 0; tk = strtok_r(NULL, ",", &save)) symlinkat(name, dirfd, tk);
  }
  return 0;
}

int rt_mount_cgroupfs(int rootfd, const char *dest, unsigned long flags, struct berth_error **err) {
  _cleanup_close_ int fd = rt_open_in_root(rootfd, dest, true, false, err);
  if (fd < 0) return fd;
  char t[64];
  snprintf(t, sizeof(t), "/proc/self/fd/%d", fd);
  _cleanup_cg_ctx_ struct cg_ctx ctx;
  cg_ctx_host(&ctx);
  if (ctx.mode == CG_V2) {
    if (mount("cgroup2", t, "cgroup2", flags, NULL) < 0) return berr_sys(err, errno, "mount cgroup2 on \"%s\"", dest);
    return 0;
  }
  /* v1 (or hybrid): a tmpfs holding a bind mount of our own cgroup in each hierarchy */
  if (mount("tmpfs", t, "tmpfs", (flags & ~MS_RDONLY) | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755") < 0)
    return berr_sys(err, errno, "mount tmpfs on \"%s\"", dest);
  for (const struct cg_hier *p = ctx.hiers; p->mountpoint; p++) {
    if (strncmp(p->mountpoint, "/sys/fs/cgroup/", 15) != 0) continue;
    int r = bind_hierarchy(rootfd, dest, p, flags, err);
    if (r < 0) return r;
  }
  if (flags & MS_RDONLY) {
    close(take_fd(&fd));
    if ((fd = rt_open_in_root(rootfd, dest, false, false, err)) < 0) return fd;
    snprintf(t, sizeof(t), "/proc/self/fd/%d", fd);
    if (mount(NULL, t, NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755") < 0)
      return berr_sys(err, errno, "remount \"%s\" read-only", dest);
  }
  return 0;
}

