/* cgroup_res.c - linux.resources checks, v1->v2 value conversions and the ordered device rules */
#include <errno.h>
#include <string.h>
#include "common/xalloc.h"
#include "runtime/cgroup.h"

bool cg_int(json_t *obj, const char *key, int64_t *out) {
  json_t *v = json_object_get(obj, key);
  if (!json_is_integer(v)) return false;
  *out = (int64_t)json_integer_value(v);
  return true;
}

/* the values runc refuses before touching any file, with the same sentences */
int cg_check_resources(json_t *res, struct berth_error **err) {
  json_t *mem = json_object_get(res, "memory");
  int64_t limit = 0, swap = 0, sw, shares;
  bool has_limit = cg_int(mem, "limit", &limit), has_swap = cg_int(mem, "swap", &swap);
  if (has_limit && has_swap && limit > 0 && swap > 0 && swap < limit)
    return berr(err, EINVAL, "memory+swap limit (%lld) should be bigger than memory limit (%lld)", (long long)swap,
                (long long)limit);
  if (cg_int(mem, "swappiness", &sw) && sw > 100)
    return berr(err, EINVAL, "invalid memory swappiness %lld: the valid range is 0-100", (long long)sw);
  if (cg_int(json_object_get(res, "cpu"), "shares", &shares) && shares < 0)
    return berr(err, EINVAL, "invalid cpu shares %lld", (long long)shares);
  return 0;
}

/* memory.checkBeforeUpdate: a limit below what the cgroup already uses is refused, not OOM-killed */
int cg_check_usage(const char *dir, const char *usage_file, json_t *mem, struct berth_error **err) {
  int64_t limit, used;
  if (!json_is_true(json_object_get(mem, "checkBeforeUpdate")) || !cg_int(mem, "limit", &limit) || limit <= 0) return 0;
  if (!cg_read_int(dir, usage_file, &used) || used <= limit) return 0;
  return berr(err, EBUSY, "memory limit %lld is below the current usage %lld", (long long)limit, (long long)used);
}

uint64_t cg_shares_to_weight(uint64_t shares) {
  if (shares == 0) return 0;
  if (shares < 2) shares = 2;
  if (shares > 262144) shares = 262144;
  return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t cg_blkio_to_io_weight(uint64_t weight) {
  if (weight == 0) return 0;
  if (weight < 10) weight = 10;
  if (weight > 1000) weight = 1000;
  return 1 + (weight - 10) * 9999 / 990;
}

/* v1's memsw is memory plus swap, v2's swap.max is swap alone; -1 stays "max" and a limit set to
 * unlimited with no swap given makes swap unlimited too, as on v1 */
int cg_swap_v2(int64_t swap, int64_t limit, int64_t *out, struct berth_error **err) {
  if (limit == -1 && swap == 0) {
    *out = -1;
    return 0;
  }
  if (swap == -1 || swap == 0) {
    *out = swap;
    return 0;
  }
  if (limit <= 0) return berr(err, EINVAL, "memory swap limit %lld needs a memory limit", (long long)swap);
  if (swap < limit)
    return berr(err, EINVAL, "memory+swap limit (%lld) should be bigger than memory limit (%lld)", (long long)swap,
                (long long)limit);
  *out = swap - limit;
  return 0;
}

static int parse_access(const char *s, unsigned *out, struct berth_error **err) {
  static const struct { char c; unsigned bit; } bits[] = {{'r', CG_DEV_READ}, {'w', CG_DEV_WRITE}, {'m', CG_DEV_MKNOD}};
  *out = 0;
  if (!s || !*s) {
    *out = CG_DEV_READ | CG_DEV_WRITE | CG_DEV_MKNOD;
    return 0;
  }
  for (; *s; s++) {
    size_t i = 0;
    while (i < ARRAY_SIZE(bits) && bits[i].c != *s) i++;
    if (i == ARRAY_SIZE(bits)) return berr(err, EINVAL, "invalid device access \"%c\" (want r, w, m)", *s);
    *out |= bits[i].bit;
  }
  return 0;
}

static int parse_rule(json_t *d, bool allow, struct cg_dev_rule *r, struct berth_error **err) {
  const char *type = json_string_value(json_object_get(d, "type"));
  *r = (struct cg_dev_rule){.allow = allow, .type = 'a', .major = -1, .minor = -1};
  if (type && *type) {
    if (strlen(type) != 1 || !strchr("abcpu", type[0])) return berr(err, EINVAL, "invalid device type \"%s\"", type);
    /* "u" (unbuffered char) and "p" (fifo) nodes: the kernel's device cgroup knows only b and c */
    r->type = type[0] == 'u' ? 'c' : type[0];
  }
  if (r->type == 'p') r->type = 'c';
  cg_int(d, "major", &r->major);
  cg_int(d, "minor", &r->minor);
  if (r->major < -1 || r->minor < -1) return berr(err, EINVAL, "invalid device number %lld:%lld", (long long)r->major, (long long)r->minor);
  return parse_access(json_string_value(json_object_get(d, "access")), &r->access, err);
}

/* what runc allows whatever linux.resources.devices says: the nodes the runtime itself makes in
 * /dev, mknod of anything (harmless without read or write), and the ptys */
static const struct cg_dev_rule default_allow[] = {
    {true, 'c', -1, -1, CG_DEV_MKNOD},  {true, 'b', -1, -1, CG_DEV_MKNOD}, {true, 'c', 1, 3, 7},
    {true, 'c', 1, 5, 7},  {true, 'c', 1, 7, 7}, {true, 'c', 1, 8, 7},  {true, 'c', 1, 9, 7},
    {true, 'c', 5, 0, 7},  {true, 'c', 5, 1, 7}, {true, 'c', 5, 2, 7},  {true, 'c', 136, -1, 7},
};

int cg_dev_rules(json_t *lx, struct cg_dev_rule **out, size_t *n, struct berth_error **err) {
  json_t *user = json_object_get(json_object_get(lx, "resources"), "devices"), *nodes = json_object_get(lx, "devices");
  size_t cap = json_array_size(user) + ARRAY_SIZE(default_allow) + json_array_size(nodes), k = 0, i;
  _cleanup_free_ struct cg_dev_rule *rules = xcalloc(cap ? cap : 1, sizeof(*rules));
  json_t *d;
  json_array_foreach(user, i, d) {
    int r = parse_rule(d, json_is_true(json_object_get(d, "allow")), &rules[k++], err);
    if (r < 0) return berr_prefix(err, "linux.resources.devices[%zu]", i);
  }
  for (i = 0; i < ARRAY_SIZE(default_allow); i++) rules[k++] = default_allow[i];
  json_array_foreach(nodes, i, d) {
    struct cg_dev_rule *r = &rules[k];
    const char *t = json_string_value(json_object_get(d, "type"));
    if (t && strcmp(t, "p") == 0) continue; /* a fifo: no device cgroup rule */
    if (parse_rule(d, true, r, err) < 0) return berr_prefix(err, "linux.devices[%zu]", i);
    if (r->major < 0 || r->minor < 0 || r->type == 'a') continue; /* not a node: nothing to allow */
    r->access = CG_DEV_READ | CG_DEV_WRITE | CG_DEV_MKNOD;
    k++;
  }
  *out = take_ptr(&rules);
  *n = k;
  return 0;
}
