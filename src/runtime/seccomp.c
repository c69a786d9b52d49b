/* seccomp.c - linux.seccomp of config.json translated to a libseccomp filter */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include "common/fs.h"
#include "common/xalloc.h"
#include "runtime/runtime.h"

struct rt_seccomp {
  char *bpf; /* struct sock_filter[] as the kernel takes it */
  size_t len;
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

json_t *rt_seccomp_features(void) {
  /* the architectures libseccomp knows on x86 and arm hosts, by their OCI names */
  static const char *const arches[] = {"SCMP_ARCH_X86",     "SCMP_ARCH_X86_64", "SCMP_ARCH_X32",
                                       "SCMP_ARCH_ARM",     "SCMP_ARCH_AARCH64", "SCMP_ARCH_PPC64LE",
                                       "SCMP_ARCH_S390X",   "SCMP_ARCH_RISCV64"};
  json_t *a = json_array(), *o = json_array(), *ar = json_array();
  for (size_t i = 0; i < ARRAY_SIZE(actions); i++) json_array_append_new(a, json_string(actions[i].name));
  for (size_t i = 0; i < ARRAY_SIZE(ops); i++) json_array_append_new(o, json_string(ops[i].name));
  for (size_t i = 0; i < ARRAY_SIZE(arches); i++) json_array_append_new(ar, json_string(arches[i]));
  return json_pack("{s:b, s:o, s:o, s:o, s:[], s:[]}", "enabled", 1, "actions", a, "operators", o, "archs", ar,
                   "knownFlags", "supportedFlags");
}

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
    /* libseccomp takes one comparison per argument in a rule: conditions on the same argument
     * mean "any of them" (runc's reading), so each becomes a rule of its own */
    bool split = false;
    for (unsigned a = 0; a < nargs; a++)
      for (unsigned b = a + 1; b < nargs; b++) split = split || args[a].arg == args[b].arg;
    for (unsigned a = 0; r >= 0 && split && a < nargs; a++) r = seccomp_rule_add_array(ctx, action, nr, 1, &args[a]);
    if (!split) r = seccomp_rule_add_array(ctx, action, nr, nargs, args);
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

static int compile(json_t *sc, struct rt_seccomp *out, struct berth_error **err) {
  uint32_t def;
  if (json_object_get(sc, "listenerPath")) return berr(err, EINVAL, "linux.seccomp.listenerPath is not supported yet");
  int r = parse_action(json_string_value(json_object_get(sc, "defaultAction")), json_object_get(sc, "defaultErrnoRet"), &def, err);
  if (r < 0) return r;
  scmp_filter_ctx ctx = seccomp_init(def);
  if (!ctx) return berr(err, EINVAL, "linux.seccomp: seccomp_init failed");
  /* no_new_privs is set by the init itself when the spec asks for it */
  seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
  r = add_arches(ctx, json_object_get(sc, "architectures"), err);
  size_t i;
  json_t *rule;
  json_array_foreach(json_object_get(sc, "syscalls"), i, rule) {
    if (r < 0) break;
    r = add_rule(ctx, def, rule, err);
  }
  _cleanup_close_ int mfd = r < 0 ? -1 : memfd_create("seccomp-bpf", MFD_CLOEXEC);
  if (r == 0 && mfd < 0) r = berr_sys(err, errno, "memfd_create");
  if (r == 0 && (r = seccomp_export_bpf(ctx, mfd)) < 0) r = berr_sys(err, -r, "linux.seccomp: compile the filter");
  seccomp_release(ctx);
  if (r < 0) return r;
  char *bpf;
  size_t len;
  if (lseek(mfd, 0, SEEK_SET) < 0 || (r = read_all(mfd, &bpf, &len, 1 << 20)) < 0)
    return berr_sys(err, r < 0 ? -r : errno, "read the compiled seccomp filter");
  out->bpf = bpf;
  out->len = len;
  return 0;
}

static uint64_t fnv1a(const char *s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
  return h;
}

/* compiling Docker's profile costs ~9 ms, so the BPF is kept under --root/seccomp, named by a hash
 * of the profile and checked against the profile text itself: a hash collision cannot swap filters */
int rt_seccomp_prepare(json_t *sc, const char *cache_dir, struct rt_seccomp **out, struct berth_error **err) {
  const struct scmp_version *v = seccomp_version();
  _cleanup_free_ char *text = json_dumps(sc, JSON_COMPACT | JSON_SORT_KEYS);
  _cleanup_free_ char *key = xasprintf("%u.%u.%u %s", v->major, v->minor, v->micro, text);
  _cleanup_free_ char *base = xasprintf("%s/%016llx", cache_dir, (unsigned long long)fnv1a(key));
  _cleanup_free_ char *kpath = xasprintf("%s.key", base), *bpath = xasprintf("%s.bpf", base);
  _cleanup_free_ char *cached = NULL;
  struct rt_seccomp *s = xcalloc(1, sizeof(*s));
  if (read_file(kpath, &cached, NULL, NULL) == 0 && strcmp(cached, key) == 0 &&
      read_file(bpath, &s->bpf, &s->len, NULL) == 0 && s->len % sizeof(struct sock_filter) == 0 && s->len) {
    *out = s;
    return 0;
  }
  free(s->bpf);
  s->bpf = NULL;
  int r = compile(sc, s, err);
  if (r < 0) {
    free(s);
    return r;
  }
  /* a cache that cannot be written only costs time next run */
  if (mkdir(cache_dir, 0700) == 0 || errno == EEXIST) {
    if (write_file_atomic(bpath, s->bpf, s->len, 0600, 0, NULL) == 0)
      write_file_atomic(kpath, key, strlen(key), 0600, 0, NULL);
  }
  *out = s;
  return 0;
}

int rt_seccomp_load(struct rt_seccomp *s, struct berth_error **err) {
  struct sock_fprog prog = {.len = (unsigned short)(s->len / sizeof(struct sock_filter)), .filter = (struct sock_filter *)s->bpf};
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) return berr_sys(err, errno, "load the seccomp filter");
  return 0;
}

void rt_seccomp_free(struct rt_seccomp *s) {
  if (!s) return;
  free(s->bpf);
  free(s);
}
