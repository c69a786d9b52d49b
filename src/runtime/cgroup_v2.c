/* cgroup_v2.c - linux.resources written to a cgroup v2 (unified) directory, and subtree_control */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "common/fs.h"
#include "common/xalloc.h"
#include "runtime/cgroup.h"

static int write_int(const struct cg_ctx *ctx, const char *dir, const char *file, int64_t v, struct berth_error **err) {
  char text[32];
  if (v < 0) snprintf(text, sizeof(text), "max");
  else snprintf(text, sizeof(text), "%" PRId64, v);
  return cg_write(ctx, dir, file, text, err);
}

/* has_token: word is one of the space-separated words of list, with or without a leading '+' */
static bool has_token(const char *list, const char *word) {
  size_t n = strlen(word);
  for (const char *p = list; p && *p;) {
    p += strspn(p, " \n+");
    if (strncmp(p, word, n) == 0 && (p[n] == '\0' || p[n] == ' ' || p[n] == '\n')) return true;
    p += strcspn(p, " \n");
  }
  return false;
}

/* one level: "+c" for each controller of the level's cgroup.controllers not yet in its subtree_control */
static int enable_level(const struct cg_ctx *ctx, const char *level, char **avail, struct berth_error **err) {
  _cleanup_free_ char *cpath = path_join(level, "cgroup.controllers"), *spath = path_join(level, "cgroup.subtree_control");
  _cleanup_free_ char *mine = NULL, *enabled = NULL;
  if (read_file(cpath, &mine, NULL, NULL) == 0) {
    free(*avail);
    *avail = take_ptr(&mine);
  }
  if (read_file(spath, &enabled, NULL, NULL) < 0) enabled = xstrdup("");
  _cleanup_free_ char *copy = xstrdup(*avail ? *avail : ""), *want = xstrdup("");
  char *save = NULL;
  for (char *t = strtok_r(copy, " \n", &save); t; t = strtok_r(NULL, " \n", &save)) {
    if (has_token(enabled, t)) continue;
    char *n = xasprintf("%s%s+%s", want, *want ? " " : "", t);
    free(want);
    want = n;
  }
  if (!*want || cg_write(ctx, level, "cgroup.subtree_control", want, NULL) == 0) return 0;
  /* one controller can refuse (cpu while a realtime task runs at this level): enable the others
   * one by one, as runc does; a file of a missing controller fails later with its own name */
  char *save2 = NULL;
  for (char *t = strtok_r(want, " ", &save2); t; t = strtok_r(NULL, " ", &save2))
    cg_write(ctx, level, "cgroup.subtree_control", t, NULL);
  (void)err;
  return 0;
}

int cg_v2_enable(const struct cg_ctx *ctx, const char *dir, struct berth_error **err) {
  size_t rootlen = strlen(ctx->root);
  _cleanup_free_ char *avail = NULL;
  if (strncmp(dir, ctx->root, rootlen) != 0) return berr(err, EINVAL, "cgroup \"%s\" is not under \"%s\"", dir, ctx->root);
  /* every level from the root down to dir's parent; dir itself holds processes, not children */
  for (const char *sl = dir + rootlen; sl;) {
    _cleanup_free_ char *level = xstrndup(dir, (size_t)(sl - dir));
    int r = enable_level(ctx, level, &avail, err);
    if (r < 0) return r;
    sl = strchr(sl + 1, '/');
  }
  return 0;
}

/* ---- memory, cpu, pids ---- */

static int apply_memory(const struct cg_ctx *ctx, const char *dir, json_t *mem, struct berth_error **err) {
  int64_t limit = 0, swap = 0, v, sw;
  bool has_limit = cg_int(mem, "limit", &limit);
  cg_int(mem, "swap", &swap);
  int r = cg_swap_v2(swap, limit, &sw, err);
  if (r == 0) r = cg_check_usage(dir, "memory.current", mem, err);
  if (r == 0 && has_limit && limit != 0) r = write_int(ctx, dir, "memory.max", limit, err);
  /* no memory.swap.max: the kernel runs without swap accounting; Docker then drops the limit */
  if (r == 0 && sw != 0 && cg_file_exists(dir, "memory.swap.max")) r = write_int(ctx, dir, "memory.swap.max", sw, err);
  if (r == 0 && cg_int(mem, "reservation", &v) && v != 0) r = write_int(ctx, dir, "memory.low", v, err);
  /* kernel, kernelTCP, swappiness and disableOOMKiller have no v2 files: ignored, as by runc */
  return r;
}

static int apply_cpu(const struct cg_ctx *ctx, const char *dir, json_t *cpu, struct berth_error **err) {
  int64_t shares, quota = 0, period = 0, v;
  if (cg_int(cpu, "realtimeRuntime", &v) && v != 0)
    return berr(err, ENOTSUP, "linux.resources.cpu.realtimeRuntime: cgroup v2 has no realtime cpu controller");
  if (cg_int(cpu, "realtimePeriod", &v) && v != 0)
    return berr(err, ENOTSUP, "linux.resources.cpu.realtimePeriod: cgroup v2 has no realtime cpu controller");
  int r = 0;
  if (cg_int(cpu, "shares", &shares) && shares != 0) r = write_int(ctx, dir, "cpu.weight", (int64_t)cg_shares_to_weight((uint64_t)shares), err);
  bool hq = cg_int(cpu, "quota", &quota), hp = cg_int(cpu, "period", &period);
  if (r == 0 && ((hq && quota != 0) || (hp && period != 0))) {
    char text[64] = "max";
    if (quota > 0) snprintf(text, sizeof(text), "%" PRId64, quota);
    if (period > 0) snprintf(text + strlen(text), sizeof(text) - strlen(text), " %" PRId64, period);
    r = cg_write(ctx, dir, "cpu.max", text, err);
  }
  if (r == 0 && cg_int(cpu, "burst", &v)) r = write_int(ctx, dir, "cpu.max.burst", v, err);
  if (r == 0 && cg_int(cpu, "idle", &v)) r = write_int(ctx, dir, "cpu.idle", v, err);
  const char *cpus = json_string_value(json_object_get(cpu, "cpus")), *mems = json_string_value(json_object_get(cpu, "mems"));
  if (r == 0 && cpus && *cpus) r = cg_write(ctx, dir, "cpuset.cpus", cpus, err);
  if (r == 0 && mems && *mems) r = cg_write(ctx, dir, "cpuset.mems", mems, err);
  return r;
}

static int apply_pids(const struct cg_ctx *ctx, const char *dir, json_t *pids, struct berth_error **err) {
  int64_t v;
  if (!cg_int(pids, "limit", &v)) return 0;
  return write_int(ctx, dir, "pids.max", v > 0 ? v : -1, err);
}

/* ---- io ---- */

static int io_lines(const struct cg_ctx *ctx, const char *dir, const char *file, json_t *arr, const char *key,
                    const char *fmt_key, bool bfq, struct berth_error **err) {
  size_t i;
  json_t *d;
  json_array_foreach(arr, i, d) {
    int64_t maj, min, v;
    if (!cg_int(d, key, &v)) continue;
    if (!cg_int(d, "major", &maj) || !cg_int(d, "minor", &min))
      return berr(err, EINVAL, "linux.resources.blockIO: a device entry needs major and minor");
    char line[128];
    if (fmt_key && v == 0) snprintf(line, sizeof(line), "%" PRId64 ":%" PRId64 " %s=max", maj, min, fmt_key);
    else if (fmt_key) snprintf(line, sizeof(line), "%" PRId64 ":%" PRId64 " %s=%" PRId64, maj, min, fmt_key, v);
    else snprintf(line, sizeof(line), "%" PRId64 ":%" PRId64 " %" PRIu64, maj, min, bfq ? (uint64_t)v : cg_blkio_to_io_weight((uint64_t)v));
    int r = cg_write(ctx, dir, file, line, err);
    if (r < 0) return r;
  }
  return 0;
}

static int apply_io(const struct cg_ctx *ctx, const char *dir, json_t *io, struct berth_error **err) {
  static const struct { const char *key, *word; } throttle[] = {
      {"throttleReadBpsDevice", "rbps"}, {"throttleWriteBpsDevice", "wbps"},
      {"throttleReadIOPSDevice", "riops"}, {"throttleWriteIOPSDevice", "wiops"},
  };
  /* BFQ takes blkio's 10..1000 as is; io.weight is 1..10000 */
  bool bfq = cg_file_exists(dir, "io.bfq.weight");
  const char *wfile = bfq ? "io.bfq.weight" : "io.weight";
  int64_t w;
  int r = 0;
  if (cg_int(io, "weight", &w) && w != 0) {
    char text[32];
    snprintf(text, sizeof(text), "%" PRIu64, bfq ? (uint64_t)w : cg_blkio_to_io_weight((uint64_t)w));
    r = cg_write(ctx, dir, wfile, text, err);
  }
  /* leafWeight has no v2 counterpart: ignored, as by runc */
  if (r == 0) r = io_lines(ctx, dir, wfile, json_object_get(io, "weightDevice"), "weight", NULL, bfq, err);
  for (size_t i = 0; r == 0 && i < ARRAY_SIZE(throttle); i++)
    r = io_lines(ctx, dir, "io.max", json_object_get(io, throttle[i].key), "rate", throttle[i].word, bfq, err);
  return r;
}

/* ---- hugetlb, unified ---- */

static int apply_hugetlb(const struct cg_ctx *ctx, const char *dir, json_t *limits, struct berth_error **err) {
  size_t i;
  json_t *h;
  json_array_foreach(limits, i, h) {
    const char *size = json_string_value(json_object_get(h, "pageSize"));
    int64_t limit;
    if (!size || !*size || strchr(size, '/') || !cg_int(h, "limit", &limit))
      return berr(err, EINVAL, "linux.resources.hugepageLimits[%zu] needs pageSize and limit", i);
    _cleanup_free_ char *file = xasprintf("hugetlb.%s.max", size);
    int r = write_int(ctx, dir, file, limit, err);
    if (r < 0) return r;
  }
  return 0;
}

/* linux.resources.unified: file name -> value, written last so that it wins over the rest */
static int apply_unified(const struct cg_ctx *ctx, const char *dir, json_t *unified, struct berth_error **err) {
  const char *key;
  json_t *v;
  json_object_foreach(unified, key, v) {
    if (!json_is_string(v)) return berr(err, EINVAL, "linux.resources.unified[\"%s\"] must be a string", key);
    if (!*key || strchr(key, '/') || key[0] == '.' || !strchr(key, '.'))
      return berr(err, EINVAL, "linux.resources.unified: invalid cgroup file name \"%s\"", key);
    if (!ctx->fake && !cg_file_exists(dir, key))
      return berr(err, ENOENT, "linux.resources.unified: cgroup file \"%s\" does not exist (is its controller available?)", key);
    int r = cg_write(ctx, dir, key, json_string_value(v), err);
    if (r < 0) return r;
  }
  return 0;
}

int cg_v2_apply(const struct cg_ctx *ctx, const char *dir, json_t *res, struct berth_error **err) {
  int r = apply_memory(ctx, dir, json_object_get(res, "memory"), err);
  if (r == 0) r = apply_cpu(ctx, dir, json_object_get(res, "cpu"), err);
  if (r == 0) r = apply_pids(ctx, dir, json_object_get(res, "pids"), err);
  if (r == 0) r = apply_io(ctx, dir, json_object_get(res, "blockIO"), err);
  if (r == 0) r = apply_hugetlb(ctx, dir, json_object_get(res, "hugepageLimits"), err);
  if (r == 0) r = cg_rdma_apply(ctx, dir, json_object_get(res, "rdma"), err);
  /* network (net_cls, net_prio) has no v2 controller: ignored, as by runc */
  if (r == 0) r = apply_unified(ctx, dir, json_object_get(res, "unified"), err);
  return r;
}
