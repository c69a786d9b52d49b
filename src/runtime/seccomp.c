/* seccomp.c - linux.seccomp of config.json translated to a libseccomp filter */
#include <errno.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include "common/xalloc.h"
#include "runtime/runtime.h"

struct rt_seccomp {
  scmp_filter_ctx ctx;
};

static const struct {
  const char *name;
  uint32_t action;
} actions[] = {
    {"SCMP_ACT_KILL", SCMP_ACT_KILL_THREAD},          {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD},
    {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS}, {"SCMP_ACT_TRAP", SCMP_ACT_TRAP},
    {"SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0)},            {"SCMP_ACT_TRACE", SCMP_ACT_TRACE(0)},
    {"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW},               {"SCMP_ACT_LOG", SCMP_ACT_LOG},
};
static const struct {
  const char *name;
  enum scmp_compare op;
} ops[] = {
    {"SCMP_CMP_NE", SCMP_CMP_NE}, {"SCMP_CMP_LT", SCMP_CMP_LT}, {"SCMP_CMP_LE", SCMP_CMP_LE},
    {"SCMP_CMP_EQ", SCMP_CMP_EQ}, {"SCMP_CMP_GE", SCMP_CMP_GE}, {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};

/* errnoRet defaults to EPERM, as in runc */
static int parse_action(const char *name, json_t *errno_ret, uint32_t *out, struct berth_error **err) {
  if (!name) return berr(err, EINVAL, "linux.seccomp: missing action");
  for (size_t i = 0; i < ARRAY_SIZE(actions); i++) {
    if (strcmp(name, actions[i].name) != 0) continue;
    uint32_t ret = json_is_integer(errno_ret) ? (uint32_t)json_integer_value(errno_ret) : EPERM;
    if (actions[i].action == SCMP_ACT_ERRNO(0)) *out = SCMP_ACT_ERRNO(ret);
    else if (actions[i].action == SCMP_ACT_TRACE(0)) *out = SCMP_ACT_TRACE(ret);
    else *out = actions[i].action;
    return 0;
  }
  return berr(err, EINVAL, "linux.seccomp: action \"%s\" is not supported", name);
}

static int parse_args(json_t *args, struct scmp_arg_cmp *out, unsigned *n, struct berth_error **err) {
  size_t i, k;
  json_t *a;
  *n = 0;
  json_array_foreach(args, i, a) {
    const char *op = json_string_value(json_object_get(a, "op"));
    for (k = 0; k < ARRAY_SIZE(ops); k++)
      if (op && strcmp(op, ops[k].name) == 0) break;
    if (k == ARRAY_SIZE(ops) || i >= 6) return berr(err, EINVAL, "linux.seccomp: bad argument rule (op \"%s\")", op ? op : "");
    out[i] = (struct scmp_arg_cmp){.arg = (unsigned)json_integer_value(json_object_get(a, "index")), .op = ops[k].op,
                                   .datum_a = (scmp_datum_t)json_integer_value(json_object_get(a, "value")),
                                   .datum_b = (scmp_datum_t)json_integer_value(json_object_get(a, "valueTwo"))};
    *n = (unsigned)i + 1;
  }
  return 0;
}

static int add_rule(scmp_filter_ctx ctx, uint32_t def, json_t *rule, struct berth_error **err) {
  uint32_t action;
  int r = parse_action(json_string_value(json_object_get(rule, "action")), json_object_get(rule, "errnoRet"), &action, err);
  if (r < 0) return r;
  if (action == def) return 0; /* libseccomp refuses rules that repeat the default */
  struct scmp_arg_cmp args[6];
  unsigned nargs;
  if ((r = parse_args(json_object_get(rule, "args"), args, &nargs, err)) < 0) return r;
  size_t i;
  json_t *name;
  json_array_foreach(json_object_get(rule, "names"), i, name) {
    int nr = seccomp_syscall_resolve_name(json_string_value(name));
    if (nr == __NR_SCMP_ERROR) continue; /* not a syscall on this architecture or libseccomp */
    r = seccomp_rule_add_array(ctx, action, nr, nargs, args);
    if (r < 0) return berr_sys(err, -r, "linux.seccomp: add rule for \"%s\"", json_string_value(name));
  }
  return 0;
}

static int add_arches(scmp_filter_ctx ctx, json_t *arches, struct berth_error **err) {
  size_t i;
  json_t *a;
  json_array_foreach(arches, i, a) {
    const char *name = json_string_value(a);
    /* "SCMP_ARCH_X86_64" -> "x86_64" as libseccomp names them */
    _cleanup_free_ char *low = xstrdup(name && strncmp(name, "SCMP_ARCH_", 10) == 0 ? name + 10 : "");
    for (char *p = low; *p; p++) *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
    uint32_t arch = seccomp_arch_resolve_name(low);
    if (!arch) continue; /* unknown to libseccomp: nothing can run with it here anyway */
    int r = seccomp_arch_add(ctx, arch);
    if (r < 0 && r != -EEXIST) return berr_sys(err, -r, "linux.seccomp: add architecture %s", name);
  }
  return 0;
}

int rt_seccomp_prepare(json_t *sc, bool nnp, struct rt_seccomp **out, struct berth_error **err) {
  uint32_t def;
  if (json_object_get(sc, "listenerPath")) return berr(err, EINVAL, "linux.seccomp.listenerPath is not supported yet");
  int r = parse_action(json_string_value(json_object_get(sc, "defaultAction")), json_object_get(sc, "defaultErrnoRet"), &def, err);
  if (r < 0) return r;
  scmp_filter_ctx ctx = seccomp_init(def);
  if (!ctx) return berr(err, EINVAL, "linux.seccomp: seccomp_init failed");
  seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, nnp ? 1 : 0);
  r = add_arches(ctx, json_object_get(sc, "architectures"), err);
  size_t i;
  json_t *rule;
  json_array_foreach(json_object_get(sc, "syscalls"), i, rule) {
    if (r < 0) break;
    r = add_rule(ctx, def, rule, err);
  }
  if (r < 0) {
    seccomp_release(ctx);
    return r;
  }
  *out = xmalloc(sizeof(**out));
  (*out)->ctx = ctx;
  return 0;
}

int rt_seccomp_load(struct rt_seccomp *s, struct berth_error **err) {
  int r = seccomp_load(s->ctx);
  if (r < 0) return berr_sys(err, -r, "load the seccomp filter");
  return 0;
}

void rt_seccomp_free(struct rt_seccomp *s) {
  if (!s) return;
  seccomp_release(s->ctx);
  free(s);
}
