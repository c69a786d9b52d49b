/* cgroup.c - the container's cgroups (v1 memory/pids/cpu, or v2) and its read-only cgroupfs view */
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
#include "runtime/runtime.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

struct hier {
  char *mountpoint;
  char *controllers; /* "memory", "cpu,cpuacct", "name=systemd"; "" for cgroup2 */
};

static void hiers_free(struct hier *h) {
  for (struct hier *p = h; p && p->mountpoint; p++) {
    free(p->mountpoint);
    free(p->controllers);
  }
  free(h);
}
static inline void cleanup_hiersp(struct hier **h) { hiers_free(*h); }
#define _cleanup_hiers_ __attribute__((cleanup(cleanup_hiersp)))

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
static struct hier *hiers_load(void) {
  _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
  struct hier *h = xcalloc(1, sizeof(*h));
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
    h = xrealloc(h, (n + 2) * sizeof(*h));
    h[n].mountpoint = xstrdup(mp);
    h[n].controllers = v2 ? xstrdup("") : controllers_of(sopts);
    h[++n] = (struct hier){0};
  }
  return h;
}

static bool has_controller(const struct hier *h, const char *ctrl) {
  _cleanup_free_ char *copy = xstrdup(h->controllers);
  char *save = NULL;
  for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
    if (strcmp(t, ctrl) == 0) return true;
  return false;
}

static bool unified_only(void) {
  struct statfs sf;
  return statfs("/sys/fs/cgroup", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;
}

static int write_at(const char *dir, const char *file, const char *value, struct berth_error **err) {
  _cleanup_free_ char *p = path_join(dir, file);
  _cleanup_close_ int fd = open(p, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write_all(fd, value, strlen(value)) < 0) return berr_sys(err, errno, "write \"%s\" to %s", value, p);
  return 0;
}

struct res_file {
  const char *ctrl;      /* v1 controller */
  const char *group, *key;
  const char *v1file, *v2file;
};
/* linux.resources fields this runtime applies; cpu.shares differs in v2 (weight), left to v1 */
static const struct res_file res_files[] = {
    {"memory", "memory", "limit", "memory.limit_in_bytes", "memory.max"},
    {"memory", "memory", "reservation", "memory.soft_limit_in_bytes", "memory.low"},
    {"memory", "memory", "swap", "memory.memsw.limit_in_bytes", NULL},
    {"pids", "pids", "limit", "pids.max", "pids.max"},
    {"cpu", "cpu", "shares", "cpu.shares", NULL},
    {"cpu", "cpu", "period", "cpu.cfs_period_us", NULL},
    {"cpu", "cpu", "quota", "cpu.cfs_quota_us", NULL},
};

static int apply_resources(const char *dir, const char *ctrl, bool v2, json_t *res, struct berth_error **err) {
  for (size_t i = 0; i < ARRAY_SIZE(res_files); i++) {
    const struct res_file *rf = &res_files[i];
    json_t *v = json_object_get(json_object_get(res, rf->group), rf->key);
    const char *file = v2 ? rf->v2file : rf->v1file;
    if (!json_is_integer(v) || !file || (!v2 && strcmp(rf->ctrl, ctrl) != 0)) continue;
    json_int_t n = json_integer_value(v);
    /* Docker writes 0 for "not set" (cpu.shares 0 would even be refused by the kernel) */
    if (n == 0 && strcmp(rf->group, "pids") != 0) continue;
    char text[32];
    if (strcmp(rf->group, "pids") == 0 && n <= 0) snprintf(text, sizeof(text), "max");
    else if (n < 0) snprintf(text, sizeof(text), "%s", v2 ? "max" : "-1");
    else snprintf(text, sizeof(text), "%lld", (long long)n);
    _cleanup_free_ char *path = path_join(dir, file);
    if (strcmp(rf->key, "swap") == 0 && access(path, F_OK) < 0) continue; /* swap accounting is off */
    int r = write_at(dir, file, text, err);
    if (r < 0) return r;
  }
  return 0;
}

static int device_rule(const char *dir, json_t *d, bool allow, struct berth_error **err) {
  const char *type = json_string_value(json_object_get(d, "type"));
  const char *access = json_string_value(json_object_get(d, "access"));
  json_t *maj = json_object_get(d, "major"), *min = json_object_get(d, "minor");
  char majs[24] = "*", mins[24] = "*", rule[96];
  if (json_is_integer(maj) && json_integer_value(maj) >= 0) snprintf(majs, sizeof(majs), "%lld", (long long)json_integer_value(maj));
  if (json_is_integer(min) && json_integer_value(min) >= 0) snprintf(mins, sizeof(mins), "%lld", (long long)json_integer_value(min));
  snprintf(rule, sizeof(rule), "%s %s:%s %s", type && *type ? type : "a", majs, mins, access && *access ? access : "rwm");
  return write_at(dir, allow ? "devices.allow" : "devices.deny", rule, err);
}

/* the nodes the runtime itself makes in /dev (and mknod of anything, which is harmless without
 * read/write), as runc allows them whatever linux.resources.devices says */
static const char *const default_allow[] = {
    "c *:* m",   "b *:* m",   "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm",   "c 1:8 rwm",
    "c 1:9 rwm", "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm",
};

/* linux.resources.devices in order, then the defaults and the nodes of linux.devices */
static int apply_devices(const char *dir, json_t *lx, struct berth_error **err) {
  size_t i;
  json_t *d;
  json_array_foreach(json_object_get(json_object_get(lx, "resources"), "devices"), i, d) {
    int r = device_rule(dir, d, json_is_true(json_object_get(d, "allow")), err);
    if (r < 0) return r;
  }
  for (i = 0; i < ARRAY_SIZE(default_allow); i++) {
    int r = write_at(dir, "devices.allow", default_allow[i], err);
    if (r < 0) return r;
  }
  json_array_foreach(json_object_get(lx, "devices"), i, d) {
    int r = device_rule(dir, d, true, err);
    if (r < 0) return r;
  }
  return 0;
}

/* a new v1 cpuset cgroup starts with no cpus and no mems (nothing could join it): each level
 * below the mount point gets its parent's, then the container's own are written */
static int apply_cpuset(const char *mount, const char *dir, json_t *cpu, struct berth_error **err) {
  static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
  for (const char *sl = dir + strlen(mount); sl && *sl; sl = strchr(sl + 1, '/')) {
    _cleanup_free_ char *level = xstrndup(dir, (size_t)(strchr(sl + 1, '/') ? strchr(sl + 1, '/') - dir : (long)strlen(dir)));
    _cleanup_free_ char *parent = xstrdup(level);
    *strrchr(parent, '/') = '\0';
    for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
      _cleanup_free_ char *mine = NULL, *theirs = NULL, *mp = path_join(level, files[i]), *pp = path_join(parent, files[i]);
      if (read_file(mp, &mine, NULL, NULL) == 0 && mine[0] != '\n' && mine[0]) continue;
      int r = read_file(pp, &theirs, NULL, err);
      if (r == 0) r = write_at(level, files[i], theirs, err);
      if (r < 0) return r;
    }
  }
  const char *cpus = json_string_value(json_object_get(cpu, "cpus")), *mems = json_string_value(json_object_get(cpu, "mems"));
  int r = cpus && *cpus ? write_at(dir, "cpuset.cpus", cpus, err) : 0;
  if (r == 0 && mems && *mems) r = write_at(dir, "cpuset.mems", mems, err);
  return r;
}

/* v1 memory settings that are not plain numbers of the res_files table */
static int apply_memory_v1(const char *dir, json_t *mem, struct berth_error **err) {
  json_t *sw = json_object_get(mem, "swappiness");
  char text[32];
  int r = 0;
  if (json_is_integer(sw) && json_integer_value(sw) >= 0 && json_integer_value(sw) <= 100) {
    snprintf(text, sizeof(text), "%lld", (long long)json_integer_value(sw));
    r = write_at(dir, "memory.swappiness", text, err);
  }
  if (r == 0 && json_is_true(json_object_get(mem, "disableOOMKiller"))) r = write_at(dir, "memory.oom_control", "1", err);
  return r;
}

static int prepare(const char *dir, const char *ctrl, bool v2, json_t *lx, struct berth_error **err) {
  json_t *res = json_object_get(lx, "resources");
  int r = mkdir_p(dir, 0755, err);
  if (r == 0 && ctrl && strcmp(ctrl, "devices") == 0) r = apply_devices(dir, lx, err);
  if (r == 0 && ctrl && strcmp(ctrl, "memory") == 0) r = apply_memory_v1(dir, json_object_get(res, "memory"), err);
  if (r == 0) r = apply_resources(dir, ctrl, v2, res, err);
  return r;
}

int rt_cgroup_create(const char *path, json_t *lx, struct berth_error **err) {
  json_t *res = json_object_get(lx, "resources");
  static const char *const v1_ctrls[] = {"memory", "pids", "devices", "cpu", "cpuset"};
  if (strchr(path, ':')) return berr(err, EINVAL, "systemd cgroup paths (\"%s\") are not supported yet", path);
  json_t *cpu = json_object_get(res, "cpu");
  bool cpuset = json_object_get(cpu, "cpus") || json_object_get(cpu, "mems");
  if (unified_only()) {
    if (cpuset) return berr(err, EINVAL, "linux.resources.cpu.cpus and .mems on cgroup v2 are not supported yet");
    if (json_array_size(json_object_get(res, "devices")))
      return berr(err, EINVAL, "linux.resources.devices on cgroup v2 (eBPF device filter) is not supported yet");
    _cleanup_free_ char *dir = path_join("/sys/fs/cgroup", path);
    /* controllers must be enabled down the tree for memory.max and pids.max to exist */
    write_at("/sys/fs/cgroup", "cgroup.subtree_control", "+memory +pids", NULL);
    int r = prepare(dir, NULL, true, lx, err);
    return r < 0 ? berr_prefix(err, "cgroup") : 0;
  }
  _cleanup_hiers_ struct hier *h = hiers_load();
  for (size_t k = 0; k < ARRAY_SIZE(v1_ctrls); k++) {
    /* cpu only when asked: each hierarchy costs a mkdir on the run path */
    if (strcmp(v1_ctrls[k], "cpu") == 0 && !json_object_get(res, "cpu")) continue;
    if (strcmp(v1_ctrls[k], "devices") == 0 && !json_object_get(res, "devices")) continue;
    if (strcmp(v1_ctrls[k], "cpuset") == 0 && !cpuset) continue;
    for (struct hier *p = h; p->mountpoint; p++) {
      if (!has_controller(p, v1_ctrls[k])) continue;
      _cleanup_free_ char *dir = path_join(p->mountpoint, path);
      int r = prepare(dir, v1_ctrls[k], false, lx, err);
      if (r == 0 && strcmp(v1_ctrls[k], "cpuset") == 0) r = apply_cpuset(p->mountpoint, dir, cpu, err);
      if (r < 0) return berr_prefix(err, "cgroup");
      break;
    }
  }
  return 0;
}

static int rmdir_retry(const char *dir, struct berth_error **err) {
  /* a task that has just died may still be leaving the cgroup: EBUSY for a moment */
  for (int i = 0; i < 1000; i++) {
    if (rmdir(dir) == 0 || errno == ENOENT) return 0;
    if (errno != EBUSY) break;
    nanosleep(&(struct timespec){.tv_nsec = 2 * 1000 * 1000}, NULL);
  }
  return berr_sys(err, errno, "remove cgroup \"%s\"", dir);
}

int rt_cgroup_destroy(const char *path, struct berth_error **err) {
  _cleanup_hiers_ struct hier *h = hiers_load();
  int ret = 0;
  for (struct hier *p = h; p->mountpoint; p++) {
    _cleanup_free_ char *dir = path_join(p->mountpoint, path);
    int r = rmdir_retry(dir, err);
    if (ret == 0) ret = r;
  }
  return ret;
}

/* moving a whole process (cgroup.procs) write-locks a global percpu rwsem: an RCU grace period,
 * ~10 ms here; a single-threaded process moving itself by writing "0" to v1's tasks skips that
 * lock (kernel >= 6.1), so the init and exec'd processes join their cgroups themselves */
int rt_cgroup_join_self(const char *path, struct berth_error **err) {
  if (unified_only()) {
    _cleanup_free_ char *dir = path_join("/sys/fs/cgroup", path);
    return write_at(dir, "cgroup.procs", "0", err);
  }
  _cleanup_hiers_ struct hier *h = hiers_load();
  for (struct hier *p = h; p->mountpoint; p++) {
    if (!*p->controllers) continue; /* the hybrid's empty cgroup2 tree: nothing made there */
    _cleanup_free_ char *dir = path_join(p->mountpoint, path);
    if (access(dir, F_OK) < 0) continue;
    int r = write_at(dir, "tasks", "0", err);
    if (r < 0) return berr_prefix(err, "join cgroup");
  }
  return 0;
}

int rt_cgroup_pids(const char *path, pid_t **pids, size_t *n) {
  _cleanup_hiers_ struct hier *h = hiers_load();
  *pids = NULL;
  *n = 0;
  for (struct hier *p = h; p->mountpoint; p++) {
    if (!has_controller(p, "pids") && !has_controller(p, "memory") && *p->controllers) continue;
    _cleanup_free_ char *dir = path_join(p->mountpoint, path);
    _cleanup_free_ char *file = path_join(dir, "cgroup.procs");
    _cleanup_fclose_ FILE *f = fopen(file, "re");
    int pid;
    if (!f) continue;
    while (fscanf(f, "%d", &pid) == 1) {
      *pids = xrealloc(*pids, (*n + 1) * sizeof(pid_t));
      (*pids)[(*n)++] = pid;
    }
    return 0;
  }
  return -ENOENT;
}

/* our own cgroup in the hierarchy with these controllers, from /proc/self/cgroup */
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

static int bind_hierarchy(int rootfd, const char *dest, const struct hier *p, unsigned long flags,
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
  if (unified_only()) {
    if (mount("cgroup2", t, "cgroup2", flags, NULL) < 0) return berr_sys(err, errno, "mount cgroup2 on \"%s\"", dest);
    return 0;
  }
  /* v1 (or hybrid): a tmpfs holding a bind mount of our own cgroup in each hierarchy */
  if (mount("tmpfs", t, "tmpfs", (flags & ~MS_RDONLY) | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755") < 0)
    return berr_sys(err, errno, "mount tmpfs on \"%s\"", dest);
  _cleanup_hiers_ struct hier *h = hiers_load();
  for (struct hier *p = h; p->mountpoint; p++) {
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

/* ---- freezer (pause/resume) ---- */

/* in_procs: pid is listed in dir/cgroup.procs */
static bool in_procs(const char *dir, pid_t pid) {
  _cleanup_free_ char *file = path_join(dir, "cgroup.procs");
  _cleanup_fclose_ FILE *f = fopen(file, "re");
  int p;
  while (f && fscanf(f, "%d", &p) == 1)
    if (p == pid) return true;
  return false;
}

/* v1_freezer_join: the container's processes are not in a freezer cgroup (create skips that
 * hierarchy to keep the run path short): move them there, again until no newcomer is left */
static int v1_freezer_join(const char *path, const char *dir, struct berth_error **err) {
  int r = mkdir_p(dir, 0755, err);
  for (int round = 0; r == 0 && round < 100; round++) {
    _cleanup_free_ pid_t *pids = NULL;
    size_t n = 0, moved = 0;
    if (rt_cgroup_pids(path, &pids, &n) < 0) return berr(err, ENOENT, "the container's cgroup \"%s\" is gone", path);
    for (size_t i = 0; i < n; i++) {
      if (in_procs(dir, pids[i])) continue;
      char text[24];
      snprintf(text, sizeof(text), "%d", (int)pids[i]);
      _cleanup_berr_ struct berth_error *e = NULL;
      if (write_at(dir, "cgroup.procs", text, &e) == 0) moved++; /* ESRCH: it exited meanwhile */
    }
    if (moved == 0) return 0;
  }
  return r < 0 ? r : berr(err, EAGAIN, "processes of \"%s\" keep forking: cannot freeze them", path);
}

/* wait_state: poll file in dir until it contains want (the kernel freezes tasks asynchronously) */
static int wait_state(const char *dir, const char *file, const char *want, const char *retry_value,
                      struct berth_error **err) {
  _cleanup_free_ char *p = path_join(dir, file);
  for (int i = 0; i < 2000; i++) {
    _cleanup_free_ char *text = NULL;
    if (read_file(p, &text, NULL, err) < 0) return -EIO;
    if (strstr(text, want)) return 0;
    if (retry_value && write_at(dir, file, retry_value, err) < 0) return -EIO;
    nanosleep(&(struct timespec){.tv_nsec = 1000 * 1000}, NULL);
  }
  return berr(err, ETIMEDOUT, "%s did not become \"%s\"", p, want);
}

int rt_cgroup_freeze(const char *path, bool freeze, struct berth_error **err) {
  if (unified_only()) {
    _cleanup_free_ char *dir = path_join("/sys/fs/cgroup", path);
    _cleanup_free_ char *file = path_join(dir, "cgroup.freeze");
    _cleanup_free_ char *now = NULL;
    /* thawing what is not frozen (every delete asks): one read, no write */
    if (!freeze && (read_file(file, &now, NULL, NULL) < 0 || now[0] != '1')) return 0;
    int r = write_at(dir, "cgroup.freeze", freeze ? "1" : "0", err);
    return r < 0 ? r : wait_state(dir, "cgroup.events", freeze ? "frozen 1" : "frozen 0", NULL, err);
  }
  _cleanup_hiers_ struct hier *h = hiers_load();
  struct hier *p = h;
  while (p->mountpoint && !has_controller(p, "freezer")) p++;
  if (!p->mountpoint) return berr(err, ENOTSUP, "no cgroup freezer hierarchy is mounted: pause is not possible");
  _cleanup_free_ char *dir = path_join(p->mountpoint, path);
  if (!freeze) {
    if (access(dir, F_OK) < 0) return 0; /* never frozen */
    int r = write_at(dir, "freezer.state", "THAWED", err);
    return r < 0 ? r : wait_state(dir, "freezer.state", "THAWED", NULL, err);
  }
  int r = v1_freezer_join(path, dir, err);
  if (r == 0) r = write_at(dir, "freezer.state", "FROZEN", err);
  /* FREEZING can stick while a task is busy in the kernel: writing FROZEN again retries */
  if (r == 0) r = wait_state(dir, "freezer.state", "FROZEN", "FROZEN", err);
  if (r < 0) write_at(dir, "freezer.state", "THAWED", NULL);
  return r;
}
