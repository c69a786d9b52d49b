/* ctr_seccomp.c - Docker seccomp profiles (its default one and seccomp=FILE) into OCI linux.seccomp,
 * filtered by architecture, kernel version and the container's capabilities like moby does */
#include "common/xalloc.h"
#include "daemon/ctr_security.h"
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

/* Go's GOARCH name (what the profile's includes/excludes "arches" use) and libseccomp's name of
 * the native architecture (what archMap is keyed by) */
#if defined(__x86_64__)
#define GO_ARCH "amd64"
#define SCMP_NATIVE "SCMP_ARCH_X86_64"
#elif defined(__aarch64__)
#define GO_ARCH "arm64"
#define SCMP_NATIVE "SCMP_ARCH_AARCH64"
#elif defined(__i386__)
#define GO_ARCH "386"
#define SCMP_NATIVE "SCMP_ARCH_X86"
#elif defined(__arm__)
#define GO_ARCH "arm"
#define SCMP_NATIVE "SCMP_ARCH_ARM"
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define GO_ARCH "ppc64le"
#define SCMP_NATIVE "SCMP_ARCH_PPC64LE"
#elif defined(__s390x__)
#define GO_ARCH "s390x"
#define SCMP_NATIVE "SCMP_ARCH_S390X"
#elif defined(__riscv) && __riscv_xlen == 64
#define GO_ARCH "riscv64"
#define SCMP_NATIVE "SCMP_ARCH_RISCV64"
#else
#define GO_ARCH ""
#define SCMP_NATIVE ""
#endif

/* every capability by number (linux/capability.h), for names and for "ALL" */
static const char *const cap_names[] = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

char *ctr_cap_normalize(const char *name) {
  _cleanup_free_ char *up = xstrdup(name);
  for (char *p = up; *p; p++)
    *p = (char)toupper((unsigned char)*p);
  if (strcmp(up, "ALL") == 0) return take_ptr(&up);
  char *full = strncmp(up, "CAP_", 4) == 0 ? xstrdup(up) : xasprintf("CAP_%s", up);
  for (size_t i = 0; i < ARRAY_SIZE(cap_names); i++)
    if (strcmp(full, cap_names[i]) == 0) return full;
  free(full);
  return NULL;
}

json_t *ctr_cap_all(void) {
  long last = (long)ARRAY_SIZE(cap_names) - 1;
  FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
  if (f) {
    long k;
    if (fscanf(f, "%ld", &k) == 1 && k >= 0 && k < last) last = k;
    fclose(f);
  }
  /* and only those berthd holds itself (nested in a restricted container, the runtime could not
   * grant the others and the start would fail) */
  unsigned long long bnd = ~0ULL;
  char line[128];
  f = fopen("/proc/self/status", "re");
  while (f && fgets(line, sizeof(line), f))
    if (sscanf(line, "CapBnd: %llx", &bnd) == 1) break;
  if (f) fclose(f);
  json_t *a = json_array();
  for (long i = 0; i <= last; i++)
    if (bnd & (1ULL << i)) json_array_append_new(a, json_string(cap_names[i]));
  return a;
}

static bool str_in(const json_t *arr, const char *s) {
  size_t i;
  json_t *v;
  json_array_foreach((json_t *)arr, i, v) if (json_is_string(v) && strcmp(json_string_value(v), s) == 0) return true;
  return false;
}

/* kernel_at_least: the running kernel's "major.minor" >= want ("4.8") */
static bool kernel_at_least(const char *want) {
  struct utsname u;
  int km = 0, kn = 0, wm = 0, wn = 0;
  if (uname(&u) < 0 || sscanf(u.release, "%d.%d", &km, &kn) < 1) return true;
  if (sscanf(want, "%d.%d", &wm, &wn) < 1) return true;
  return km > wm || (km == wm && kn >= wn);
}

/* rule_applies: moby's Loop over Syscalls: excludes first, then includes (all caps must be held) */
static bool rule_applies(const json_t *rule, const json_t *bounding) {
  const json_t *ex = json_object_get(rule, "excludes"), *in = json_object_get(rule, "includes");
  size_t i;
  json_t *v;
  if (str_in(json_object_get(ex, "arches"), GO_ARCH)) return false;
  json_array_foreach(json_object_get(ex, "caps"), i, v) if (str_in(bounding, json_string_value(v))) return false;
  const char *mk = json_string_value(json_object_get(ex, "minKernel"));
  if (mk && kernel_at_least(mk)) return false;
  json_t *ia = json_object_get(in, "arches");
  if (json_array_size(ia) > 0 && !str_in(ia, GO_ARCH)) return false;
  json_array_foreach(json_object_get(in, "caps"), i, v) if (!str_in(bounding, json_string_value(v))) return false;
  mk = json_string_value(json_object_get(in, "minKernel"));
  if (mk && !kernel_at_least(mk)) return false;
  return true;
}

static json_t *convert_rule(const json_t *rule) {
  json_t *names = json_object_get(rule, "names");
  const char *one = json_string_value(json_object_get(rule, "name"));
  json_t *r = json_object();
  if (json_is_array(names))
    json_object_set_new(r, "names", json_deep_copy(names));
  else
    json_object_set_new(r, "names", json_pack("[s]", one ? one : ""));
  json_object_set(r, "action", json_object_get(rule, "action"));
  static const char *const keep[] = {"errnoRet", "args"};
  for (size_t i = 0; i < ARRAY_SIZE(keep); i++) {
    json_t *v = json_object_get(rule, keep[i]);
    if (v && !json_is_null(v)) json_object_set(r, keep[i], v);
  }
  return r;
}

static json_t *architectures(const json_t *profile) {
  json_t *out = json_array();
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(profile, "architectures"), i, v) json_array_append(out, v);
  json_array_foreach(json_object_get(profile, "archMap"), i, v) {
    if (strcmp(json_string_value(json_object_get(v, "architecture")) ?: "", SCMP_NATIVE) != 0) continue;
    json_array_append(out, json_object_get(v, "architecture"));
    size_t j;
    json_t *s;
    json_array_foreach(json_object_get(v, "subArchitectures"), j, s) json_array_append(out, s);
  }
  return out;
}

int ctr_seccomp_convert(const json_t *profile, const json_t *bounding, json_t **out, struct berth_error **err) {
  *out = NULL;
  if (!json_is_object(profile)) return berr(err, EINVAL, "decoding seccomp profile failed: not a JSON object");
  const char *def = json_string_value(json_object_get(profile, "defaultAction"));
  if (!def) return berr(err, EINVAL, "decoding seccomp profile failed: defaultAction is required");
  if (json_array_size(json_object_get(profile, "architectures")) > 0 &&
      json_array_size(json_object_get(profile, "archMap")) > 0)
    return berr(err, EINVAL,
                "'architectures' and 'archMap' were specified in the seccomp profile, use either "
                "'architectures' or 'archMap'");
  json_t *sc = json_pack("{s:s, s:o}", "defaultAction", def, "architectures", architectures(profile));
  static const char *const keep[] = {"defaultErrnoRet", "flags", "listenerPath", "listenerMetadata"};
  for (size_t i = 0; i < ARRAY_SIZE(keep); i++) {
    json_t *v = json_object_get(profile, keep[i]);
    if (v && !json_is_null(v)) json_object_set(sc, keep[i], v);
  }
  json_t *calls = json_array();
  size_t i;
  json_t *rule;
  json_array_foreach(json_object_get(profile, "syscalls"), i, rule) {
    if (!json_is_object(rule)) continue;
    if (json_object_get(rule, "name") && json_array_size(json_object_get(rule, "names")) > 0) {
      json_decref(calls);
      json_decref(sc);
      return berr(err, EINVAL,
                  "'name' and 'names' were specified in the seccomp profile, use either 'name' or "
                  "'names'");
    }
    if (rule_applies(rule, bounding)) json_array_append_new(calls, convert_rule(rule));
  }
  json_object_set_new(sc, "syscalls", calls);
  *out = sc;
  return 0;
}
