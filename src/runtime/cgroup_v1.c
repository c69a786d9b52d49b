/* cgroup_v1.c - linux.resources written to cgroup v1 controllers, one writer per controller */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "common/fs.h"
#include "common/xalloc.h"
#include "runtime/cgroup.h"

#define RES(lx) json_object_get((lx), "resources")

static int write_int(const struct cg_ctx *ctx, const char *dir, const char *file, int64_t v, struct berth_error **err) {
  char text[32];
  snprintf(text, sizeof(text), "%" PRId64, v);
  return cg_write(ctx, dir, file, text, err);
}

/* ---- memory ---- */

static int set_swap(const struct cg_ctx *ctx, const char *dir, int64_t swap, struct berth_error **err) {
  if (swap == 0) return 0;
  /* no memsw file: the kernel runs without swap accounting; Docker and runc then drop the limit */
  if (!cg_file_exists(dir, "memory.memsw.limit_in_bytes")) return 0;
  return write_int(ctx, dir, "memory.memsw.limit_in_bytes", swap, err);
}

/* memsw must stay >= limit after each write: raising both writes swap first, lowering limit first */
static int memory_limits(const struct cg_ctx *ctx, const char *dir, json_t *mem, struct berth_error **err) {
  int64_t limit = 0, swap = 0, cur = 0;
  cg_int(mem, "limit", &limit);
  cg_int(mem, "swap", &swap);
  if (limit == -1 && swap == 0) swap = -1; /* unlimited memory: unlimited swap too */
  int r = cg_check_usage(dir, "memory.usage_in_bytes", mem, err);
  if (r < 0) return r;
  bool swap_first = limit != 0 && swap != 0 && (swap == -1 || (cg_read_int(dir, "memory.limit_in_bytes", &cur) && cur < swap));
  r = swap_first ? set_swap(ctx, dir, swap, err) : 0;
  if (r == 0 && limit != 0) r = write_int(ctx, dir, "memory.limit_in_bytes", limit, err);
  if (r == 0 && !swap_first) r = set_swap(ctx, dir, swap, err);
  return r;
}

static int apply_memory(const struct cg_ctx *ctx, const char *mount, const char *dir, json_t *lx, struct berth_error **err) {
  json_t *mem = json_object_get(RES(lx), "memory");
  int64_t v;
  int r = memory_limits(ctx, dir, mem, err);
  if (r == 0 && cg_int(mem, "reservation", &v) && v != 0) r = write_int(ctx, dir, "memory.soft_limit_in_bytes", v, err);
  /* memory.kmem.limit_in_bytes: kernels since 5.16 accept and ignore it, older ones refuse a limit
   * once tasks have joined (EBUSY) or without kmem accounting; runc 1.1 ignores it: best effort */
  if (r == 0 && cg_int(mem, "kernel", &v) && v != 0 && cg_file_exists(dir, "memory.kmem.limit_in_bytes"))
    write_int(ctx, dir, "memory.kmem.limit_in_bytes", v, NULL);
  if (r == 0 && json_is_boolean(json_object_get(mem, "useHierarchy")))
    r = cg_write(ctx, dir, "memory.use_hierarchy", json_is_true(json_object_get(mem, "useHierarchy")) ? "1" : "0", err);
  if (r == 0 && cg_int(mem, "kernelTCP", &v) && v != 0) r = write_int(ctx, dir, "memory.kmem.tcp.limit_in_bytes", v, err);
  if (r == 0 && cg_int(mem, "swappiness", &v) && v >= 0) r = write_int(ctx, dir, "memory.swappiness", v, err);
  if (r == 0 && json_is_true(json_object_get(mem, "disableOOMKiller"))) r = cg_write(ctx, dir, "memory.oom_control", "1", err);
  (void)mount;
  return r;
}

/* ---- pids ---- */

static int apply_pids(const struct cg_ctx *ctx, const char *mount, const char *dir, json_t *lx, struct berth_error **err) {
  int64_t v;
  (void)mount;
  if (!cg_int(json_object_get(RES(lx), "pids"), "limit", &v)) return 0;
  return v > 0 ? write_int(ctx, dir, "pids.max", v, err) : cg_write(ctx, dir, "pids.max", "max", err);
}

/* ---- cpu ---- */

struct int_file {
  const char *key, *file;
  bool zero_is_set; /* false: 0 means "not set" (Docker writes 0 for unset) */
};
static const struct int_file cpu_files[] = {
    {"shares", "cpu.shares", false},          {"period", "cpu.cfs_period_us", false},
    {"quota", "cpu.cfs_quota_us", false},     {"burst", "cpu.cfs_burst_us", true},
    {"realtimePeriod", "cpu.rt_period_us", false}, {"realtimeRuntime", "cpu.rt_runtime_us", false},
    {"idle", "cpu.idle", true},
};

static int apply_cpu(const struct cg_ctx *ctx, const char *mount, const char *dir, json_t *lx, struct berth_error **err) {
  json_t *cpu = json_object_get(RES(lx), "cpu");
  (void)mount;
  for (size_t i = 0; i < ARRAY_SIZE(cpu_files); i++) {
    int64_t v;
    if (!cg_int(cpu, cpu_files[i].key, &v) || (v == 0 && !cpu_files[i].zero_is_set)) continue;
    /* realtime groups (CONFIG_RT_GROUP_SCHED), burst and idle are not in every kernel */
    if (!ctx->fake && !cg_file_exists(dir, cpu_files[i].file))
      return berr(err, ENOTSUP, "linux.resources.cpu.%s: this kernel has no %s", cpu_files[i].key, cpu_files[i].file);
    int r = write_int(ctx, dir, cpu_files[i].file, v, err);
    if (r == -EINVAL && strcmp(cpu_files[i].key, "realtimeRuntime") == 0)
      return berr_prefix(err, "the parent cgroups' cpu.rt_runtime_us must leave room for %lld", (long long)v);
    if (r < 0) return r;
  }
  return 0;
}

/* ---- cpuset ---- */

/* a new v1 cpuset cgroup starts with no cpus and no mems (nothing could join it): each level
 * below the mount point gets its parent's, then the container's own are written */
static int apply_cpuset(const struct cg_ctx *ctx, const char *mount, const char *dir, json_t *lx, struct berth_error **err) {
  static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
  json_t *cpu = json_object_get(RES(lx), "cpu");
  for (const char *sl = dir + strlen(mount); sl && *sl; sl = strchr(sl + 1, '/')) {
    const char *end = strchr(sl + 1, '/');
    _cleanup_free_ char *level = xstrndup(dir, end ? (size_t)(end - dir) : strlen(dir));
    _cleanup_free_ char *parent = xstrdup(level);
    *strrchr(parent, '/') = '\0';
    for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
      _cleanup_free_ char *mine = NULL, *theirs = NULL, *mp = path_join(level, files[i]), *pp = path_join(parent, files[i]);
      if (read_file(mp, &mine, NULL, NULL) == 0 && mine[0] != '\n' && mine[0]) continue;
      int r = read_file(pp, &theirs, NULL, err);
      theirs[r == 0 ? strcspn(theirs, "\n") : 0] = '\0';
      if (r == 0) r = cg_write(ctx, level, files[i], theirs, err);
      if (r < 0) return r;
    }
  }
  const char *cpus = json_string_value(json_object_get(cpu, "cpus")), *mems = json_string_value(json_object_get(cpu, "mems"));
  int r = cpus && *cpus ? cg_write(ctx, dir, "cpuset.cpus", cpus, err) : 0;
  if (r == 0 && mems && *mems) r = cg_write(ctx, dir, "cpuset.mems", mems, err);
  return r;
}

/* ---- devices ---- */

static int apply_devices(const struct cg_ctx *ctx, const char *mount, const char *dir, json_t *lx, struct berth_error **err) {
  _cleanup_free_ struct cg_dev_rule *rules = NULL;
  size_t n;
  (void)mount;
  int r = cg_dev_rules(lx, &rules, &n, err);
  for (size_t i = 0; r == 0 && i < n; i++) {
    char majs[24] = "*", mins[24] = "*", acc[4] = "", rule[96];
    if (rules[i].major >= 0) snprintf(majs, sizeof(majs), "%" PRId64, rules[i].major);
    if (rules[i].minor >= 0) snprintf(mins, sizeof(mins), "%" PRId64, rules[i].minor);
    snprintf(acc, sizeof(acc), "%s%s%s", rules[i].access & CG_DEV_READ ? "r" : "", rules[i].access & CG_DEV_WRITE ? "w" : "",
             rules[i].access & CG_DEV_MKNOD ? "m" : "");
    if (rules[i].type == 'a') snprintf(rule, sizeof(rule), "a");
    else snprintf(rule, sizeof(rule), "%c %s:%s %s", rules[i].type, majs, mins, acc);
    r = cg_write(ctx, dir, rules[i].allow ? "devices.allow" : "devices.deny", rule, err);
  }
  return r;
}

/* ---- blkio ---- */

/* per-device lines "MAJ:MIN VALUE" of one array to one file */
static int device_lines(const struct cg_ctx *ctx, const char *dir, const char *file, json_t *arr, const char *key,
                        struct berth_error **err) {
  size_t i;
  json_t *d;
  json_array_foreach(arr, i, d) {
    int64_t maj = 0, min = 0, v;
    if (!cg_int(d, key, &v)) continue;
    if (!cg_int(d, "major", &maj) || !cg_int(d, "minor", &min))
      return berr(err, EINVAL, "linux.resources.blockIO: a device entry needs major and minor");
    char line[96];
    snprintf(line, sizeof(line), "%" PRId64 ":%" PRId64 " %" PRId64, maj, min, v);
    int r = cg_write(ctx, dir, file, line, err);
    if (r < 0) return r;
  }
  return 0;
}

static int apply_blkio(const struct cg_ctx *ctx, const char *mount, const char *dir, json_t *lx, struct berth_error **err) {
  static const struct { const char *key, *file; } throttle[] = {
      {"throttleReadBpsDevice", "blkio.throttle.read_bps_device"},
      {"throttleWriteBpsDevice", "blkio.throttle.write_bps_device"},
      {"throttleReadIOPSDevice", "blkio.throttle.read_iops_device"},
      {"throttleWriteIOPSDevice", "blkio.throttle.write_iops_device"},
  };
  json_t *io = json_object_get(RES(lx), "blockIO");
  int64_t v;
  (void)mount;
  /* CFQ's blkio.weight is gone from new kernels; BFQ's weight takes the same values */
  bool cfq = cg_file_exists(dir, "blkio.weight");
  int r = 0;
  if (cg_int(io, "weight", &v) && v != 0) r = write_int(ctx, dir, cfq ? "blkio.weight" : "blkio.bfq.weight", v, err);
  if (r == 0 && cg_int(io, "leafWeight", &v) && v != 0) {
    if (!cg_file_exists(dir, "blkio.leaf_weight"))
      return berr(err, ENOTSUP, "linux.resources.blockIO.leafWeight: this kernel has no blkio.leaf_weight");
    r = write_int(ctx, dir, "blkio.leaf_weight", v, err);
  }
  json_t *wd = json_object_get(io, "weightDevice");
  if (r == 0) r = device_lines(ctx, dir, cfq ? "blkio.weight_device" : "blkio.bfq.weight_device", wd, "weight", err);
  if (r == 0 && json_array_size(wd) && cfq) r = device_lines(ctx, dir, "blkio.leaf_weight_device", wd, "leafWeight", err);
  for (size_t i = 0; r == 0 && i < ARRAY_SIZE(throttle); i++)
    r = device_lines(ctx, dir, throttle[i].file, json_object_get(io, throttle[i].key), "rate", err);
  return r;
}

/* ---- hugetlb, net_cls, net_prio, rdma ---- */

static int apply_hugetlb(const struct cg_ctx *ctx, const char *mount, const char *dir, json_t *lx, struct berth_error **err) {
  size_t i;
  json_t *h;
  (void)mount;
  json_array_foreach(json_object_get(RES(lx), "hugepageLimits"), i, h) {
    const char *size = json_string_value(json_object_get(h, "pageSize"));
    int64_t limit;
    if (!size || !*size || strchr(size, '/') || !cg_int(h, "limit", &limit))
      return berr(err, EINVAL, "linux.resources.hugepageLimits[%zu] needs pageSize and limit", i);
    _cleanup_free_ char *file = xasprintf("hugetlb.%s.limit_in_bytes", size);
    int r = write_int(ctx, dir, file, limit, err);
    if (r < 0) return r;
  }
  return 0;
}

static int apply_net_cls(const struct cg_ctx *ctx, const char *mount, const char *dir, json_t *lx, struct berth_error **err) {
  int64_t id;
  (void)mount;
  if (!cg_int(json_object_get(RES(lx), "network"), "classID", &id)) return 0;
  return write_int(ctx, dir, "net_cls.classid", id, err);
}

static int apply_net_prio(const struct cg_ctx *ctx, const char *mount, const char *dir, json_t *lx, struct berth_error **err) {
  size_t i;
  json_t *p;
  (void)mount;
  json_array_foreach(json_object_get(json_object_get(RES(lx), "network"), "priorities"), i, p) {
    const char *name = json_string_value(json_object_get(p, "name"));
    int64_t prio = 0;
    if (!name || !*name || strchr(name, ' ') || !cg_int(p, "priority", &prio))
      return berr(err, EINVAL, "linux.resources.network.priorities[%zu] needs name and priority", i);
    _cleanup_free_ char *line = xasprintf("%s %" PRId64, name, prio);
    int r = cg_write(ctx, dir, "net_prio.ifpriomap", line, err);
    if (r < 0) return r;
  }
  return 0;
}

/* rdma.max lines "DEVICE hca_handle=N hca_object=N" (v1 and v2 alike) */
int cg_rdma_apply(const struct cg_ctx *ctx, const char *dir, json_t *rdma, struct berth_error **err) {
  const char *dev;
  json_t *lim;
  json_object_foreach(rdma, dev, lim) {
    int64_t h, o;
    bool hh = cg_int(lim, "hcaHandles", &h), ho = cg_int(lim, "hcaObjects", &o);
    if (!hh && !ho) continue;
    char hs[48] = "", os[48] = "";
    if (hh) snprintf(hs, sizeof(hs), " hca_handle=%" PRId64, h);
    if (ho) snprintf(os, sizeof(os), " hca_object=%" PRId64, o);
    _cleanup_free_ char *line = xasprintf("%s%s%s", dev, hs, os);
    int r = cg_write(ctx, dir, "rdma.max", line, err);
    if (r < 0) return r;
  }
  return 0;
}

static int apply_rdma(const struct cg_ctx *ctx, const char *mount, const char *dir, json_t *lx, struct berth_error **err) {
  (void)mount;
  return cg_rdma_apply(ctx, dir, json_object_get(RES(lx), "rdma"), err);
}

/* ---- the table ---- */

static bool has(json_t *lx, const char *group, const char *key) {
  json_t *g = json_object_get(RES(lx), group);
  if (!key) return json_is_array(g) ? json_array_size(g) > 0 : json_is_object(g) && json_object_size(g) > 0;
  return json_object_get(g, key) != NULL;
}
static bool need_always(json_t *lx) { (void)lx; return true; }
static bool need_cpu(json_t *lx) {
  for (size_t i = 0; i < ARRAY_SIZE(cpu_files); i++)
    if (has(lx, "cpu", cpu_files[i].key)) return true;
  return false;
}
static bool need_cpuset(json_t *lx) { return has(lx, "cpu", "cpus") || has(lx, "cpu", "mems"); }
static bool need_devices(json_t *lx) { return has(lx, "devices", NULL); }
static bool need_blkio(json_t *lx) { return has(lx, "blockIO", NULL); }
static bool need_hugetlb(json_t *lx) { return has(lx, "hugepageLimits", NULL); }
static bool need_net_cls(json_t *lx) { return has(lx, "network", "classID"); }
static bool need_net_prio(json_t *lx) { return json_array_size(json_object_get(json_object_get(RES(lx), "network"), "priorities")) > 0; }
static bool need_rdma(json_t *lx) { return has(lx, "rdma", NULL); }

struct v1_ctrl {
  const char *name;
  bool (*needed)(json_t *lx); /* each hierarchy is a mkdir on the run path: only when asked */
  int (*apply)(const struct cg_ctx *ctx, const char *mount, const char *dir, json_t *lx, struct berth_error **err);
};
/* memory and pids always: they list the container's processes (kill --all, pause, top) */
static const struct v1_ctrl v1_ctrls[] = {
    {"memory", need_always, apply_memory},   {"pids", need_always, apply_pids},
    {"devices", need_devices, apply_devices}, {"cpu", need_cpu, apply_cpu},
    {"cpuset", need_cpuset, apply_cpuset},   {"blkio", need_blkio, apply_blkio},
    {"hugetlb", need_hugetlb, apply_hugetlb}, {"net_cls", need_net_cls, apply_net_cls},
    {"net_prio", need_net_prio, apply_net_prio}, {"rdma", need_rdma, apply_rdma},
};

static const struct v1_ctrl *find_ctrl(const char *name) {
  for (size_t i = 0; i < ARRAY_SIZE(v1_ctrls); i++)
    if (strcmp(v1_ctrls[i].name, name) == 0) return &v1_ctrls[i];
  return NULL;
}

const char *cg_v1_ctrl_name(size_t i) { return i < ARRAY_SIZE(v1_ctrls) ? v1_ctrls[i].name : NULL; }

bool cg_v1_needed(const char *ctrl, json_t *lx) {
  const struct v1_ctrl *c = find_ctrl(ctrl);
  return c && c->needed(lx);
}

int cg_v1_apply(const struct cg_ctx *ctx, const char *ctrl, const char *mount, const char *dir, json_t *lx,
                struct berth_error **err) {
  const struct v1_ctrl *c = find_ctrl(ctrl);
  if (!c) return berr(err, EINVAL, "unknown cgroup v1 controller \"%s\"", ctrl);
  return c->apply(ctx, mount, dir, lx, err);
}
