/* ctr_sec_spec.c - HostConfig's security options and resource limits folded into the OCI spec the
 * way moby's oci_linux.go does (capabilities, seccomp, privileged, devices, tmpfs, rlimits, init) */
#include "common/fs.h"
#include "common/syscalls.h"
#include "common/xalloc.h"
#include "daemon/ctr_security.h"
#include "runtime/spec.h"
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define INIT_IN_CONTAINER "/sbin/docker-init"

/* what SecurityOpt asks for, parsed (the values were checked at create) */
struct sec_opts {
  bool nnp;
  const char *seccomp; /* NULL: Docker's default profile; "unconfined"; or a profile's JSON */
  const char *apparmor;
};

static json_t *obj(json_t *parent, const char *key) {
  json_t *o = json_object_get(parent, key);
  if (!json_is_object(o)) {
    o = json_object();
    json_object_set_new(parent, key, o);
  }
  return o;
}

static json_t *arr(json_t *parent, const char *key) {
  json_t *a = json_object_get(parent, key);
  if (!json_is_array(a)) {
    a = json_array();
    json_object_set_new(parent, key, a);
  }
  return a;
}

static json_int_t int_of(const json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

static bool truthy(const char *v) {
  return strcmp(v, "1") == 0 || strcasecmp(v, "t") == 0 || strcasecmp(v, "true") == 0;
}

static void parse_opts(const json_t *hc, struct sec_opts *o) {
  *o = (struct sec_opts){0};
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(hc, "SecurityOpt"), i, v) {
    const char *s = json_string_value(v);
    if (!s) continue;
    if (strcmp(s, "no-new-privileges") == 0) {
      o->nnp = true;
      continue;
    }
    const char *sep = strchr(s, '=') ? strchr(s, '=') : strchr(s, ':');
    if (!sep) continue;
    size_t kl = (size_t)(sep - s);
    if (kl == strlen("no-new-privileges") && strncmp(s, "no-new-privileges", kl) == 0)
      o->nnp = truthy(sep + 1);
    else if (kl == strlen("seccomp") && strncmp(s, "seccomp", kl) == 0)
      o->seccomp = strcmp(sep + 1, "builtin") ? sep + 1 : NULL;
    else if (kl == strlen("apparmor") && strncmp(s, "apparmor", kl) == 0)
      o->apparmor = sep + 1;
  }
}

static bool str_in(const json_t *a, const char *s) {
  size_t i;
  json_t *v;
  json_array_foreach((json_t *)a, i, v) if (strcmp(json_string_value(v), s) == 0) return true;
  return false;
}

static json_t *normalized(const json_t *list) {
  json_t *out = json_array();
  size_t i;
  json_t *v;
  json_array_foreach((json_t *)list, i, v) {
    char *n = json_string_value(v) ? ctr_cap_normalize(json_string_value(v)) : NULL;
    if (n && !str_in(out, n)) json_array_append_new(out, json_string(n));
    free(n);
  }
  return out;
}

/* tweak_caps: moby caps.TweakCapabilities: ALL in CapAdd starts from every capability, ALL in
 * CapDrop from nothing, else the defaults less CapDrop plus CapAdd */
static json_t *tweak_caps(const json_t *basics, const json_t *hc, bool privileged) {
  if (privileged) return ctr_cap_all();
  _cleanup_json_ json_t *add = normalized(json_object_get(hc, "CapAdd"));
  _cleanup_json_ json_t *drop = normalized(json_object_get(hc, "CapDrop"));
  json_t *caps = json_array();
  size_t i;
  json_t *v;
  if (str_in(add, "ALL")) {
    _cleanup_json_ json_t *all = ctr_cap_all();
    json_array_foreach(all, i, v) if (!str_in(drop, json_string_value(v))) json_array_append(caps, v);
    return caps;
  }
  if (!str_in(drop, "ALL"))
    json_array_foreach((json_t *)basics, i, v) if (!str_in(drop, json_string_value(v))) json_array_append(caps, v);
  json_array_foreach(add, i, v) if (!str_in(caps, json_string_value(v))) json_array_append(caps, v);
  return caps;
}

/* apply_caps: moby oci.SetCapabilities: a non-root user gets only the bounding set, as execve
 * would leave it; returns the bounding set (borrowed) for the seccomp filter */
static json_t *apply_caps(json_t *spec, const json_t *hc, bool privileged) {
  json_t *proc = obj(spec, "process");
  json_t *old = obj(proc, "capabilities");
  json_t *caps = tweak_caps(json_object_get(old, "bounding"), hc, privileged);
  json_t *set = json_object();
  json_object_set(set, "bounding", caps);
  if (int_of(obj(proc, "user"), "uid") == 0) {
    json_object_set(set, "effective", caps);
    json_object_set(set, "permitted", caps);
  }
  json_decref(caps);
  json_object_set_new(proc, "capabilities", set);
  return json_object_get(set, "bounding");
}

static int apply_seccomp(json_t *spec, const json_t *bounding, const struct sec_opts *o, bool privileged,
                         struct berth_error **err) {
  if (privileged || (o->seccomp && strcmp(o->seccomp, "unconfined") == 0)) return 0;
  json_error_t je;
  _cleanup_json_ json_t *profile = json_loads(o->seccomp ? o->seccomp : ctr_seccomp_default_json, 0, &je);
  if (!profile) return berr(err, EINVAL, "decoding seccomp profile failed: %s", je.text);
  json_t *sc = NULL;
  int r = ctr_seccomp_convert(profile, bounding, &sc, err);
  if (r < 0) return r;
  json_object_set_new(obj(spec, "linux"), "seccomp", sc);
  return 0;
}

/* ---- devices: host nodes (one, a directory of them, or all of /dev when privileged) ---- */

static void add_device(json_t *lx, const char *in_ctr, const struct stat *st, const char *perm) {
  const char *type = S_ISBLK(st->st_mode) ? "b" : "c";
  json_int_t maj = major(st->st_rdev), min = minor(st->st_rdev);
  json_array_append_new(arr(lx, "devices"),
                        json_pack("{s:s, s:s, s:I, s:I, s:i, s:i, s:i}", "path", in_ctr, "type", type, "major", maj,
                                  "minor", min, "fileMode", (int)(st->st_mode & 07777), "uid", (int)st->st_uid, "gid",
                                  (int)st->st_gid));
  json_array_append_new(
      arr(obj(lx, "resources"), "devices"),
      json_pack("{s:b, s:s, s:I, s:I, s:s}", "allow", 1, "type", type, "major", maj, "minor", min, "access", perm));
}

/* runc's HostDevices skips these directories of /dev and the console */
static bool skip_dev_entry(const char *name) {
  static const char *const skip[] = {"pts",         "shm",   "fd",      "mqueue", ".lxc",
                                     ".lxd-mounts", ".udev", "console", "ptmx" /* the container's own is pts/ptmx */};
  for (size_t i = 0; i < ARRAY_SIZE(skip); i++)
    if (strcmp(name, skip[i]) == 0) return true;
  return name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

static void walk_devices(json_t *lx, const char *host, const char *in_ctr, const char *perm, int depth) {
  _cleanup_closedir_ DIR *d = opendir(host);
  if (!d || depth > 8) return;
  for (struct dirent *e; (e = readdir(d));) {
    if (skip_dev_entry(e->d_name)) continue;
    _cleanup_free_ char *hp = path_join(host, e->d_name);
    _cleanup_free_ char *cp = path_join(in_ctr, e->d_name);
    struct stat st;
    if (lstat(hp, &st) < 0) continue;
    if (S_ISDIR(st.st_mode))
      walk_devices(lx, hp, cp, perm, depth + 1);
    else if ((S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) && st.st_rdev != 0)
      add_device(lx, cp, &st, perm);
  }
}

static int apply_devices(json_t *spec, const json_t *hc, bool privileged, struct berth_error **err) {
  json_t *lx = obj(spec, "linux");
  if (privileged) {
    /* every host device, and a cgroup that allows them all */
    walk_devices(lx, "/dev", "/dev", "rwm", 0);
    json_object_set_new(obj(lx, "resources"), "devices", json_pack("[{s:b, s:s}]", "allow", 1, "access", "rwm"));
  }
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(hc, "Devices"), i, v) {
    const char *host = json_string_value(json_object_get(v, "PathOnHost"));
    const char *ctr = json_string_value(json_object_get(v, "PathInContainer"));
    const char *perm = json_string_value(json_object_get(v, "CgroupPermissions"));
    if (!ctr || !*ctr) ctr = host;
    if (!perm || !*perm) perm = "rwm";
    struct stat st;
    if (!host || stat(host, &st) < 0)
      return berr_sys(err, errno, "error gathering device information while adding custom device \"%s\"",
                      host ? host : "");
    if (S_ISDIR(st.st_mode))
      walk_devices(lx, host, ctr, perm, 0);
    else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
      add_device(lx, ctr, &st, perm);
    else
      return berr(err, EINVAL,
                  "error gathering device information while adding custom device \"%s\": not a device node", host);
  }
  return 0;
}

/* ---- mounts: privileged /sys, tmpfs, /dev/shm size, berth-init ---- */

static void drop_option(json_t *m, const char *opt) {
  json_t *o = json_object_get(m, "options");
  for (size_t i = json_array_size(o); i-- > 0;)
    if (strcmp(json_string_value(json_array_get(o, i)), opt) == 0) json_array_remove(o, i);
}

static json_t *mount_at(json_t *spec, const char *dest) {
  size_t i;
  json_t *m;
  json_array_foreach(json_object_get(spec, "mounts"), i, m) {
    const char *d = json_string_value(json_object_get(m, "destination"));
    if (d && strcmp(d, dest) == 0) return m;
  }
  return NULL;
}

/* option_key: what a later tmpfs option overrides: "size" for size=, the flag's base for
 * noexec/exec, rw/ro as one, propagation modes as one */
static char *option_key(const char *o) {
  static const char *const prop[] = {"shared", "rshared", "private", "rprivate", "slave", "rslave"};
  for (size_t i = 0; i < ARRAY_SIZE(prop); i++)
    if (strcmp(o, prop[i]) == 0) return xstrdup("propagation");
  if (strcmp(o, "ro") == 0 || strcmp(o, "rw") == 0) return xstrdup("rw");
  const char *eq = strchr(o, '=');
  if (eq) return xstrndup(o, (size_t)(eq - o));
  if (strncmp(o, "no", 2) == 0 && strcmp(o, "nodev") != 0 && strcmp(o, "noexec") != 0 && strcmp(o, "nosuid") != 0 &&
      strcmp(o, "noatime") != 0 && strcmp(o, "nodiratime") != 0)
    return xstrdup(o);
  return xstrdup(strncmp(o, "no", 2) == 0 ? o + 2 : o);
}

/* tmpfs_options: moby's defaults (noexec, nosuid, nodev, rprivate), the given ones overriding */
static json_t *tmpfs_options(const char *given) {
  json_t *out = json_pack("[s,s,s,s]", "noexec", "nosuid", "nodev", "rprivate");
  _cleanup_free_ char *copy = xstrdup(given ? given : "");
  for (char *save = NULL, *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    _cleanup_free_ char *k = option_key(t);
    for (size_t i = json_array_size(out); i-- > 0;) {
      _cleanup_free_ char *k2 = option_key(json_string_value(json_array_get(out, i)));
      if (strcmp(k, k2) == 0) json_array_remove(out, i);
    }
    json_array_append_new(out, json_string(t));
  }
  return out;
}

static void apply_mounts(json_t *spec, const json_t *hc, bool privileged) {
  json_t *mounts = arr(spec, "mounts");
  if (privileged) {
    json_t *m = mount_at(spec, "/sys");
    if (m) drop_option(m, "ro");
    if ((m = mount_at(spec, "/sys/fs/cgroup"))) drop_option(m, "ro");
  }
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)json_object_get(hc, "Tmpfs"), k, v) {
    json_t *old = mount_at(spec, k);
    json_t *m = json_pack("{s:s, s:s, s:s, s:o}", "destination", k, "type", "tmpfs", "source", "tmpfs", "options",
                          tmpfs_options(json_string_value(v)));
    if (old)
      json_object_update(old, m);
    else
      json_array_append(mounts, m);
    json_decref(m);
  }
  json_int_t shm = int_of(hc, "ShmSize");
  json_t *m = mount_at(spec, "/dev/shm");
  if (shm > 0 && m && strcmp(json_string_value(json_object_get(m, "type")) ?: "", "tmpfs") == 0) {
    json_t *o = json_object_get(m, "options");
    for (size_t i = json_array_size(o); i-- > 0;)
      if (strncmp(json_string_value(json_array_get(o, i)), "size=", 5) == 0) json_array_remove(o, i);
    json_array_append_new(o, json_sprintf("size=%lldk", (long long)(shm + 1023) / 1024));
  }
}

/* init_path: berth-init beside berthd, in the build tree, or installed in libexecdir */
static char *init_path(void) {
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n > 0) {
    self[n] = '\0';
    const char *dir = dirname(self);
    _cleanup_free_ char *beside = xasprintf("%s/berth-init", dir);
    if (access(beside, X_OK) == 0) return take_ptr(&beside);
    _cleanup_free_ char *tree = xasprintf("%s/../init/berth-init", dir);
    if (access(tree, X_OK) == 0) return realpath(tree, NULL);
  }
  return xasprintf("%s/berth-init", BERTH_LIBEXECDIR);
}

static int apply_init(json_t *spec, const json_t *hc, struct berth_error **err) {
  if (!json_is_true(json_object_get(hc, "Init"))) return 0;
  _cleanup_free_ char *path = init_path();
  if (access(path, X_OK) < 0) return berr_sys(err, errno, "--init: berth-init is not installed at %s", path);
  json_array_append_new(arr(spec, "mounts"),
                        json_pack("{s:s, s:s, s:s, s:[s,s,s]}", "destination", INIT_IN_CONTAINER, "type", "bind",
                                  "source", path, "options", "bind", "ro", "rprivate"));
  json_t *args = arr(obj(spec, "process"), "args");
  json_array_insert_new(args, 0, json_string("--"));
  json_array_insert_new(args, 0, json_string(INIT_IN_CONTAINER));
  return 0;
}

/* ---- process: rlimits, groups, oom score; linux: sysctls, resources, cgroup namespace ---- */

static void apply_rlimits(json_t *spec, const json_t *hc) {
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(hc, "Ulimits"), i, v) {
    _cleanup_free_ char *type = xasprintf("RLIMIT_%s", json_string_value(json_object_get(v, "Name")));
    for (char *p = type; *p; p++)
      *p = (char)toupper((unsigned char)*p);
    json_t *rl = arr(obj(spec, "process"), "rlimits");
    for (size_t j = json_array_size(rl); j-- > 0;)
      if (strcmp(json_string_value(json_object_get(json_array_get(rl, j), "type")) ?: "", type) == 0)
        json_array_remove(rl, j);
    json_array_append_new(
        rl, json_pack("{s:s, s:I, s:I}", "type", type, "hard", int_of(v, "Hard"), "soft", int_of(v, "Soft")));
  }
}

/* read_in_root: a file of the container's rootfs, resolved inside it (never following links out) */
static char *read_in_root(const char *rootfs, const char *path) {
  _cleanup_close_ int dfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return NULL;
  struct open_how how = {.flags = O_RDONLY | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT};
  _cleanup_close_ int fd = sys_openat2(dfd, path, &how);
  if (fd < 0) return NULL;
  char *text = NULL;
  if (read_all(fd, &text, NULL, 1 << 20) < 0) return NULL;
  return text;
}

/* group_gid: a /etc/group entry's gid by name */
static int group_gid(const char *groups, const char *name, long *gid) {
  _cleanup_free_ char *copy = xstrdup(groups ? groups : "");
  for (char *save = NULL, *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    char *c1 = strchr(l, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2) continue;
    *c1 = '\0';
    if (strcmp(l, name) == 0) {
      *gid = strtol(c2 + 1, NULL, 10);
      return 0;
    }
  }
  return -ENOENT;
}

static int apply_groups(json_t *spec, const json_t *hc, const char *rootfs, struct berth_error **err) {
  json_t *ga = json_object_get(hc, "GroupAdd");
  if (json_array_size(ga) == 0) return 0;
  _cleanup_free_ char *groups = read_in_root(rootfs, "/etc/group");
  json_t *gids = arr(obj(obj(spec, "process"), "user"), "additionalGids");
  size_t i;
  json_t *v;
  json_array_foreach(ga, i, v) {
    const char *g = json_string_value(v);
    char *end;
    long gid = g ? strtol(g, &end, 10) : 0;
    if (!g || !*g) continue;
    if (*end && group_gid(groups, g, &gid) < 0)
      return berr(err, EINVAL, "Unable to find group %s: no matching entries in group file", g);
    json_array_append_new(gids, json_integer(gid));
  }
  return 0;
}

static bool have_swap_accounting(void) {
  return access("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", F_OK) == 0 ||
         access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0;
}

static void set_int(json_t *o, const char *k, json_int_t v) { json_object_set_new(o, k, json_integer(v)); }

static void apply_resources(json_t *spec, const json_t *hc) {
  json_t *res = obj(obj(spec, "linux"), "resources");
  json_int_t mem = int_of(hc, "Memory"), swap = int_of(hc, "MemorySwap"), resv = int_of(hc, "MemoryReservation");
  json_t *sw = json_object_get(hc, "MemorySwappiness");
  json_t *m = json_object_get(res, "memory");
  if (mem > 0 || resv > 0 || json_is_true(json_object_get(hc, "OomKillDisable")) ||
      (json_is_integer(sw) && json_integer_value(sw) >= 0)) {
    m = obj(res, "memory");
    if (mem > 0) set_int(m, "limit", mem);
    if (mem > 0 && swap != 0 && have_swap_accounting()) set_int(m, "swap", swap);
    if (resv > 0) set_int(m, "reservation", resv);
    if (json_is_integer(sw) && json_integer_value(sw) >= 0) set_int(m, "swappiness", json_integer_value(sw));
    if (json_is_true(json_object_get(hc, "OomKillDisable"))) json_object_set_new(m, "disableOOMKiller", json_true());
  }
  json_int_t nano = int_of(hc, "NanoCpus"), shares = int_of(hc, "CpuShares");
  json_int_t period = int_of(hc, "CpuPeriod"), quota = int_of(hc, "CpuQuota");
  const char *cpus = json_string_value(json_object_get(hc, "CpusetCpus"));
  const char *mems = json_string_value(json_object_get(hc, "CpusetMems"));
  json_int_t rt_period = int_of(hc, "CpuRealtimePeriod"), rt_runtime = int_of(hc, "CpuRealtimeRuntime");
  if (nano > 0) {
    /* --cpus: moby's 100 ms period and the matching quota */
    period = 100000;
    quota = nano * period / 1000000000LL;
  }
  if (shares || period || quota || (cpus && *cpus) || (mems && *mems) || rt_period || rt_runtime) {
    json_t *c = obj(res, "cpu");
    if (rt_period) set_int(c, "realtimePeriod", rt_period);
    if (rt_runtime) set_int(c, "realtimeRuntime", rt_runtime);
    if (shares) set_int(c, "shares", shares);
    if (period) set_int(c, "period", period);
    if (quota) set_int(c, "quota", quota);
    if (cpus && *cpus) json_object_set_new(c, "cpus", json_string(cpus));
    if (mems && *mems) json_object_set_new(c, "mems", json_string(mems));
  }
  json_t *pl = json_object_get(hc, "PidsLimit");
  if (json_is_integer(pl) && json_integer_value(pl) > 0) set_int(obj(res, "pids"), "limit", json_integer_value(pl));
}

/* Docker's {Path, Weight|Rate} device lists -> OCI blockIO entries by device number (moby stats the
 * path when the container starts, so a missing device fails the start) */
static int blkio_devices(json_t *io, const char *oci_key, const json_t *list, const char *hc_val, const char *oci_val,
                         struct berth_error **err) {
  size_t i;
  json_t *d;
  json_array_foreach(list, i, d) {
    const char *path = json_string_value(json_object_get(d, "Path"));
    struct stat st;
    if (!path || stat(path, &st) < 0) return berr_sys(err, path ? errno : EINVAL, "blkio device \"%s\"", path ? path : "");
    if (!S_ISBLK(st.st_mode)) return berr(err, EINVAL, "blkio device \"%s\" is not a block device", path);
    json_array_append_new(arr(io, oci_key), json_pack("{s:I, s:I, s:I}", "major", (json_int_t)major(st.st_rdev), "minor",
                                                      (json_int_t)minor(st.st_rdev), oci_val, int_of(d, hc_val)));
  }
  return 0;
}

/* BlkioWeight, BlkioWeightDevice and the four throttle lists -> linux.resources.blockIO */
static int apply_blkio(json_t *spec, const json_t *hc, struct berth_error **err) {
  static const struct { const char *hc, *oci, *hc_val, *oci_val; } lists[] = {
      {"BlkioWeightDevice", "weightDevice", "Weight", "weight"},
      {"BlkioDeviceReadBps", "throttleReadBpsDevice", "Rate", "rate"},
      {"BlkioDeviceWriteBps", "throttleWriteBpsDevice", "Rate", "rate"},
      {"BlkioDeviceReadIOps", "throttleReadIOPSDevice", "Rate", "rate"},
      {"BlkioDeviceWriteIOps", "throttleWriteIOPSDevice", "Rate", "rate"},
  };
  json_int_t w = int_of(hc, "BlkioWeight");
  bool any = w > 0;
  for (size_t i = 0; i < ARRAY_SIZE(lists); i++) any |= json_array_size(json_object_get(hc, lists[i].hc)) > 0;
  if (!any) return 0;
  json_t *io = obj(obj(obj(spec, "linux"), "resources"), "blockIO");
  if (w > 0) set_int(io, "weight", w);
  for (size_t i = 0; i < ARRAY_SIZE(lists); i++) {
    int r = blkio_devices(io, lists[i].oci, json_object_get(hc, lists[i].hc), lists[i].hc_val, lists[i].oci_val, err);
    if (r < 0) return r;
  }
  return 0;
}

static void apply_linux(json_t *spec, const json_t *hc, bool privileged) {
  json_t *lx = obj(spec, "linux");
  json_t *sysctls = json_object_get(hc, "Sysctls");
  if (json_object_size(sysctls) > 0) json_object_update(obj(lx, "sysctl"), sysctls);
  if (privileged) {
    json_object_set_new(lx, "maskedPaths", json_array());
    json_object_set_new(lx, "readonlyPaths", json_array());
  }
  const char *cgns = json_string_value(json_object_get(hc, "CgroupnsMode"));
  json_t *nss = arr(lx, "namespaces");
  size_t i;
  json_t *v;
  bool have = false;
  json_array_foreach(nss, i, v) have =
      have || strcmp(json_string_value(json_object_get(v, "type")) ?: "", "cgroup") == 0;
  if (cgns && strcmp(cgns, "private") == 0 && !have) json_array_append_new(nss, json_pack("{s:s}", "type", "cgroup"));
  json_int_t oom = int_of(hc, "OomScoreAdj");
  if (oom) set_int(obj(spec, "process"), "oomScoreAdj", oom);
}

int ctr_security_apply(json_t *spec, const json_t *hc, const char *rootfs, struct berth_error **err) {
  struct sec_opts o;
  parse_opts(hc, &o);
  bool privileged = json_is_true(json_object_get(hc, "Privileged"));
  json_t *bounding = apply_caps(spec, hc, privileged);
  int r = apply_seccomp(spec, bounding, &o, privileged, err);
  if (r < 0) return r;
  json_object_set_new(obj(spec, "process"), "noNewPrivileges", json_boolean(o.nnp));
  /* AppArmor: the checks at create refused a profile on hosts without it */
  if (o.apparmor && strcmp(o.apparmor, "unconfined") != 0)
    json_object_set_new(obj(spec, "process"), "apparmorProfile", json_string(o.apparmor));
  r = apply_devices(spec, hc, privileged, err);
  if (r < 0) return r;
  apply_mounts(spec, hc, privileged);
  apply_rlimits(spec, hc);
  r = apply_groups(spec, hc, rootfs, err);
  if (r < 0) return r;
  /* Docker 20+ on kernels without kernel memory accounting: refused, not silently dropped */
  if (int_of(hc, "KernelMemory") != 0)
    return berr(err, EINVAL, "Kernel memory limits are not supported: the kernel no longer accounts kernel memory separately");
  apply_resources(spec, hc);
  if ((r = apply_blkio(spec, hc, err)) < 0) return r;
  apply_linux(spec, hc, privileged);
  return apply_init(spec, hc, err);
}
