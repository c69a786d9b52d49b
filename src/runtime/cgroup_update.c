/* cgroup_update.c - `berth-runtime update`: new linux.resources for a running container, like runc's */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "common/fs.h"
#include "common/xalloc.h"
#include "runtime/cgroup.h"
#include "runtime/spec.h"

enum flag_kind { F_INT, F_SIZE, F_STR };
struct update_flag {
  const char *name, *group, *key;
  enum flag_kind kind;
};
/* runc update's flags, each one field of linux.resources */
static const struct update_flag update_flags[] = {
    {"memory", "memory", "limit", F_SIZE},
    {"memory-reservation", "memory", "reservation", F_SIZE},
    {"memory-swap", "memory", "swap", F_SIZE},
    {"kernel-memory", "memory", "kernel", F_SIZE},
    {"kernel-memory-tcp", "memory", "kernelTCP", F_SIZE},
    {"cpu-share", "cpu", "shares", F_INT},
    {"cpu-period", "cpu", "period", F_INT},
    {"cpu-quota", "cpu", "quota", F_INT},
    {"cpu-rt-period", "cpu", "realtimePeriod", F_INT},
    {"cpu-rt-runtime", "cpu", "realtimeRuntime", F_INT},
    {"cpuset-cpus", "cpu", "cpus", F_STR},
    {"cpuset-mems", "cpu", "mems", F_STR},
    {"blkio-weight", "blockIO", "weight", F_INT},
    {"pids-limit", "pids", "limit", F_INT},
};

/* "512", "64k", "100m", "2g" (powers of 1024, like runc's RAMInBytes), "-1" */
static int parse_size(const char *s, bool units, int64_t *out) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || end == s) return -EINVAL;
  static const char units_list[] = "bkmgt";
  const char *u = *end && units ? strchr(units_list, end[0] | 0x20) : NULL;
  if (u) {
    for (long i = 0; i < u - units_list; i++) v *= 1024;
    end++;
    if ((*end | 0x20) == 'b' && u != units_list) end++;
  }
  if (*end) return -EINVAL;
  *out = v;
  return 0;
}

static json_t *group_of(json_t *res, const char *group) {
  json_t *g = json_object_get(res, group);
  if (!json_is_object(g)) json_object_set_new(res, group, g = json_object());
  return g;
}

static int set_flag(json_t *res, const struct update_flag *f, const char *value, struct berth_error **err) {
  int64_t v;
  if (f->kind != F_STR && parse_size(value, f->kind == F_SIZE, &v) < 0)
    return berr(err, EINVAL, "invalid value \"%s\" for --%s", value, f->name);
  json_object_set_new(group_of(res, f->group), f->key, f->kind == F_STR ? json_string(value) : json_integer(v));
  return 0;
}

static int load_resources(const char *file, json_t **out, struct berth_error **err) {
  json_error_t je;
  *out = strcmp(file, "-") == 0 ? json_loadf(stdin, 0, &je) : json_load_file(file, 0, &je);
  if (!*out) return berr(err, EINVAL, "read resources \"%s\": %s (line %d)", file, je.text, je.line);
  if (!json_is_object(*out)) return berr(err, EINVAL, "resources \"%s\" must be a JSON object (linux.resources)", file);
  return 0;
}

/* objects merge key by key, anything else (numbers, arrays) is replaced */
static void merge_into(json_t *dst, json_t *src) {
  const char *k;
  json_t *v;
  json_object_foreach(src, k, v) {
    json_t *d = json_object_get(dst, k);
    if (json_is_object(v) && json_is_object(d)) merge_into(d, v);
    else json_object_set(dst, k, v);
  }
}

/* the resources in effect: ROOT/ID/resources.json after an update, else the bundle's config.json */
static json_t *current_resources(const char *statedir, const char *bundle) {
  _cleanup_free_ char *rp = path_join(statedir, "resources.json"), *cp = path_join(bundle, "config.json");
  json_t *j = json_load_file(rp, 0, NULL);
  if (j) return j;
  _cleanup_json_ json_t *spec = json_load_file(cp, 0, NULL);
  json_t *res = json_object_get(json_object_get(spec, "linux"), "resources");
  return json_is_object(res) ? json_deep_copy(res) : json_object();
}

/* v1: controllers create skipped get their cgroup now, with the container's processes moved in */
static int update_v1(const struct cg_ctx *ctx, const char *path, json_t *lx, struct berth_error **err) {
  const char *ctrl;
  for (size_t k = 0; (ctrl = cg_v1_ctrl_name(k)); k++) {
    if (!cg_v1_needed(ctrl, lx)) continue;
    const struct cg_hier *h = cg_v1_hier(ctx, ctrl);
    if (!h && (strcmp(ctrl, "memory") == 0 || strcmp(ctrl, "pids") == 0)) continue;
    if (!h) return berr(err, ENOTSUP, "the %s controller is not mounted", ctrl);
    _cleanup_free_ char *dir = cg_dir(ctx, h, path);
    bool fresh = access(dir, F_OK) < 0;
    int r = fresh ? mkdir_p(dir, 0755, err) : 0;
    /* settings first: a new cpuset must have cpus and mems before a process can join */
    if (r == 0) r = cg_v1_apply(ctx, ctrl, h->mountpoint, dir, lx, err);
    if (r == 0 && fresh) r = cg_v1_move_pids(ctx, path, dir, err);
    /* a cgroup made here but not filled would outlive a failed update (empty: rmdir succeeds) */
    if (r < 0 && fresh) rmdir(dir);
    if (r < 0) return r;
  }
  return 0;
}

int rt_cgroup_update(const struct cg_ctx *ctx, const char *path, json_t *res, json_t *merged, struct berth_error **err) {
  _cleanup_json_ json_t *apply = json_deep_copy(res);
  /* devices are not updated (as runc): the filter set at create stays */
  json_object_del(apply, "devices");
  int r = cg_check_resources(merged, err);
  if (r < 0) return r;
  if (ctx->mode == CG_V2) {
    /* v2's swap.max is swap alone: with either value changed, both come from the merged view */
    json_t *m = json_object_get(apply, "memory"), *mm = json_object_get(merged, "memory");
    if (json_object_get(m, "limit") || json_object_get(m, "swap")) {
      if (json_object_get(mm, "limit")) json_object_set(m, "limit", json_object_get(mm, "limit"));
      if (json_object_get(mm, "swap")) json_object_set(m, "swap", json_object_get(mm, "swap"));
    }
    _cleanup_free_ char *dir = cg_dir(ctx, NULL, path);
    return cg_v2_apply(ctx, dir, apply, err);
  }
  _cleanup_json_ json_t *lx = json_pack("{s:O}", "resources", apply);
  return update_v1(ctx, path, lx, err);
}

static int parse_update(int argc, char **argv, json_t *res, struct berth_error **err) {
  static const char usage[] = "usage: berth-runtime update [--resources FILE|-] [--memory N] [--cpu-quota N] ... ID";
  struct option opts[ARRAY_SIZE(update_flags) + 2];
  for (size_t i = 0; i < ARRAY_SIZE(update_flags); i++) opts[i] = (struct option){update_flags[i].name, required_argument, NULL, 1000 + (int)i};
  opts[ARRAY_SIZE(update_flags)] = (struct option){"resources", required_argument, NULL, 'r'};
  opts[ARRAY_SIZE(update_flags) + 1] = (struct option){0};
  _cleanup_json_ json_t *flags = json_object();
  const char *file = NULL;
  int ch;
  while ((ch = getopt_long(argc, argv, "r:", opts, NULL)) != -1) {
    if (ch == 'r') file = optarg;
    else if (ch >= 1000 && ch < 1000 + (int)ARRAY_SIZE(update_flags)) {
      int r = set_flag(flags, &update_flags[ch - 1000], optarg, err);
      if (r < 0) return r;
    } else return berr(err, EINVAL, "%s", usage);
  }
  if (optind != argc - 1) return berr(err, EINVAL, "%s", usage);
  if (file) {
    _cleanup_json_ json_t *j = NULL;
    int r = load_resources(file, &j, err);
    if (r < 0) return r;
    merge_into(res, j);
  }
  merge_into(res, flags); /* flags win over the file, as in runc */
  return 0;
}

int rt_cmd_update(const struct rt_opts *o, int argc, char **argv, struct berth_error **err) {
  _cleanup_json_ json_t *res = json_object();
  int r = parse_update(argc, argv, res, err);
  if (r < 0) return r;
  struct rt_state st;
  if ((r = rt_state_load(o, argv[optind], &st, err)) < 0) return r;
  _cleanup_free_ char *statedir = rt_statedir(o, st.id);
  if (rt_state_status(o, &st) == RT_STOPPED) r = berr(err, EINVAL, "container \"%s\" is not running", st.id);
  else if (!st.cgroup_path) r = berr(err, EINVAL, "container \"%s\" has no cgroup (linux.cgroupsPath)", st.id);
  _cleanup_json_ json_t *merged = r == 0 ? current_resources(statedir, st.bundle) : NULL;
  if (r == 0) {
    merge_into(merged, res);
    _cleanup_cg_ctx_ struct cg_ctx ctx;
    cg_ctx_host(&ctx);
    r = rt_cgroup_update(&ctx, st.cgroup_path, res, merged, err);
  }
  if (r == 0) {
    /* what is in effect now, for the next update (and anyone asking the state directory) */
    _cleanup_free_ char *text = json_dumps(merged, JSON_COMPACT), *rp = path_join(statedir, "resources.json");
    r = write_file_atomic(rp, text, strlen(text), 0600, 0, err);
  }
  rt_state_clear(&st);
  return r;
}
