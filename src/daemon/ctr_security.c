/* ctr_security.c - HostConfig security options and resource limits: Docker's checks at create and
 * their effect on the OCI spec (caps, seccomp, privileged, devices, tmpfs, rlimits, cgroups, init) */
#include "common/fs.h"
#include "common/xalloc.h"
#include "daemon/ctr_security.h"
#include "runtime/spec.h"
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define MIN_MEMORY (6 * 1024 * 1024) /* moby linuxMinMemory */

static json_int_t int_of(const json_t *hc, const char *k) { return json_integer_value(json_object_get(hc, k)); }

/* ---- create-time checks (moby verifyPlatformContainerResources), 400 with Docker's words ---- */

static int check_memory(const json_t *hc, struct berth_error **err) {
  json_int_t mem = int_of(hc, "Memory"), swap = int_of(hc, "MemorySwap"), res = int_of(hc, "MemoryReservation");
  if (mem != 0 && mem < MIN_MEMORY) return berr(err, EINVAL, "Minimum memory limit allowed is 6MB");
  if (mem > 0 && swap > 0 && swap < mem)
    return berr(err, EINVAL, "Minimum memoryswap limit should be larger than memory limit, see usage");
  if (mem == 0 && swap > 0)
    return berr(err, EINVAL, "You should always set the Memory limit when using Memoryswap limit, see usage");
  /* Docker 20+ on kernels without kernel memory accounting: refused here, at create, rather
   * than silently dropped or failing only at start */
  if (int_of(hc, "KernelMemory") != 0)
    return berr(err, EINVAL, "Kernel memory limits are not supported: the kernel no longer accounts kernel memory separately");
  json_t *sw = json_object_get(hc, "MemorySwappiness");
  if (json_is_integer(sw) && json_integer_value(sw) != -1 &&
      (json_integer_value(sw) < 0 || json_integer_value(sw) > 100))
    return berr(err, EINVAL, "Invalid value: %lld, valid memory swappiness range is 0-100",
                (long long)json_integer_value(sw));
  if (res > 0 && res < MIN_MEMORY) return berr(err, EINVAL, "Minimum memory reservation allowed is 6MB");
  if (mem > 0 && res > 0 && mem < res)
    return berr(err, EINVAL, "Minimum memory limit can not be less than memory reservation limit, see usage");
  if (int_of(hc, "ShmSize") < 0) return berr(err, EINVAL, "SHM size can not be less than 0");
  json_int_t oom = int_of(hc, "OomScoreAdj");
  if (oom < -1000 || oom > 1000)
    return berr(err, EINVAL, "Invalid value %lld, range for oom score adj is [-1000, 1000]", (long long)oom);
  return 0;
}

/* cpuset_ok: "0-2,4" whose every cpu is below n */
static bool cpuset_ok(const char *s, long n, bool *avail) {
  *avail = true;
  _cleanup_free_ char *c = xstrdup(s);
  for (char *save = NULL, *t = strtok_r(c, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    char *end;
    long a = strtol(t, &end, 10), b = a;
    if (end == t || a < 0) return false;
    if (*end == '-') {
      char *e2;
      b = strtol(end + 1, &e2, 10);
      if (e2 == end + 1 || *e2 || b < a) return false;
    } else if (*end) {
      return false;
    }
    if (b >= n) *avail = false;
  }
  return true;
}

static int check_cpuset(const char *val, const char *what, long n, struct berth_error **err) {
  bool avail;
  if (!val || !*val) return 0;
  if (!cpuset_ok(val, n, &avail)) return berr(err, EINVAL, "Invalid value %s for cpuset %s", val, what);
  if (!avail)
    return berr(err, EINVAL, "Requested %s are not available - requested %s, available: 0-%ld",
                strcmp(what, "cpus") == 0 ? "CPUs" : "memory nodes", val, n - 1);
  return 0;
}

static int check_cpu(const json_t *hc, struct berth_error **err) {
  json_int_t nano = int_of(hc, "NanoCpus"), period = int_of(hc, "CpuPeriod"), quota = int_of(hc, "CpuQuota");
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  if (nano > 0 && period > 0)
    return berr(err, EINVAL, "Conflicting options: Nano CPUs and CPU Period cannot both be set");
  if (nano > 0 && quota > 0)
    return berr(err, EINVAL, "Conflicting options: Nano CPUs and CPU Quota cannot both be set");
  if (nano < 0 || nano > (json_int_t)ncpu * 1000000000LL)
    return berr(err, EINVAL, "Range of CPUs is from 0.01 to %ld.00, as there are only %ld CPUs available", ncpu, ncpu);
  if (period != 0 && (period < 1000 || period > 1000000))
    return berr(err, EINVAL, "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)");
  if (quota > 0 && quota < 1000) return berr(err, EINVAL, "CPU cfs quota can not be less than 1ms (i.e. 1000)");
  int r = check_cpuset(json_string_value(json_object_get(hc, "CpusetCpus")), "cpus", ncpu, err);
  if (r == 0) r = check_cpuset(json_string_value(json_object_get(hc, "CpusetMems")), "mems", 1, err);
  return r;
}

static int check_caps(const json_t *hc, const char *field, struct berth_error **err) {
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(hc, field), i, v) {
    const char *s = json_string_value(v) ? json_string_value(v) : "";
    _cleanup_free_ char *n = ctr_cap_normalize(s);
    if (n) continue;
    /* Docker names the capability as normalized: upper case with the CAP_ prefix */
    _cleanup_free_ char *up = strncasecmp(s, "CAP_", 4) == 0 ? xstrdup(s) : xasprintf("CAP_%s", s);
    for (char *p = up; *p; p++)
      *p = (char)toupper((unsigned char)*p);
    return berr(err, EINVAL, "invalid %s: unknown capability: \"%s\"", field, up);
  }
  return 0;
}

static bool apparmor_enabled(void) {
  _cleanup_free_ char *t = NULL;
  _cleanup_berr_ struct berth_error *e = NULL;
  return read_file("/sys/module/apparmor/parameters/enabled", &t, NULL, &e) == 0 && t[0] == 'Y';
}

/* check_security_opt: moby parseSecurityOpt; label needs SELinux, which berth does not drive */
static int check_security_opt(const char *opt, struct berth_error **err) {
  if (strcmp(opt, "no-new-privileges") == 0) return 0;
  const char *sep = strchr(opt, '=') ? strchr(opt, '=') : strchr(opt, ':');
  if (!sep) return berr(err, EINVAL, "invalid --security-opt 1: \"%s\"", opt);
  _cleanup_free_ char *key = xstrndup(opt, (size_t)(sep - opt));
  const char *v = sep + 1;
  if (strcmp(key, "no-new-privileges") == 0) {
    static const char *const bools[] = {"1", "t", "T", "TRUE",  "true",  "True",
                                        "0", "f", "F", "FALSE", "false", "False"};
    for (size_t i = 0; i < ARRAY_SIZE(bools); i++)
      if (strcmp(v, bools[i]) == 0) return 0;
  } else if (strcmp(key, "seccomp") == 0) {
    if (strcmp(v, "unconfined") == 0 || strcmp(v, "builtin") == 0) return 0;
    json_error_t je;
    _cleanup_json_ json_t *p = json_loads(v, 0, &je);
    if (!p) return berr(err, EINVAL, "decoding seccomp profile failed: %s", je.text);
    return 0;
  } else if (strcmp(key, "apparmor") == 0) {
    if (strcmp(v, "unconfined") == 0 || apparmor_enabled()) return 0;
    return berr(err, EINVAL, "apparmor=%s: AppArmor is not enabled on this host, so the profile cannot be applied", v);
  } else if (strcmp(key, "label") == 0) {
    return berr(err, EINVAL, "label=%s: SELinux labels are not supported by berth (SELinux is not driven)", v);
  }
  return berr(err, EINVAL, "invalid --security-opt 2: \"%s\"", opt);
}

/* namespaced sysctls (runc's validator): IPC ones, fs.mqueue.*, and net.* outside the host netns */
static int check_sysctls(const json_t *hc, struct berth_error **err) {
  static const char *const ipc[] = {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
                                    "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"};
  const char *net = json_string_value(json_object_get(hc, "NetworkMode"));
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)json_object_get(hc, "Sysctls"), k, v) {
    if (!json_is_string(v)) return berr(err, EINVAL, "sysctl %s: the value must be a string", k);
    bool ok = strncmp(k, "fs.mqueue.", 10) == 0;
    for (size_t i = 0; i < ARRAY_SIZE(ipc); i++)
      ok = ok || strcmp(k, ipc[i]) == 0;
    if (strncmp(k, "net.", 4) == 0) {
      if (net && strcmp(net, "host") == 0)
        return berr(err, EINVAL, "sysctl \"%s\" not allowed in host network namespace", k);
      ok = true;
    }
    if (!ok) return berr(err, EINVAL, "sysctl \"%s\" is not in a separate kernel namespace", k);
  }
  return 0;
}

static const char *const ulimit_names[] = {"core",     "cpu",        "data",   "fsize", "locks", "memlock",
                                           "msgqueue", "nice",       "nofile", "nproc", "rss",   "rtprio",
                                           "rttime",   "sigpending", "stack",  "as"};

static bool ulimit_known(const char *n) {
  for (size_t i = 0; i < ARRAY_SIZE(ulimit_names); i++)
    if (strcmp(n, ulimit_names[i]) == 0) return true;
  return false;
}

static int check_lists(const json_t *hc, struct berth_error **err) {
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(hc, "Ulimits"), i, v) {
    const char *n = json_string_value(json_object_get(v, "Name"));
    if (!n || !ulimit_known(n)) return berr(err, EINVAL, "invalid ulimit type: %s", n ? n : "");
    if (int_of(v, "Soft") > int_of(v, "Hard"))
      return berr(err, EINVAL, "ulimit soft limit must be less than or equal to hard limit: %lld > %lld",
                  (long long)int_of(v, "Soft"), (long long)int_of(v, "Hard"));
  }
  json_array_foreach(json_object_get(hc, "Devices"), i, v) {
    const char *perm = json_string_value(json_object_get(v, "CgroupPermissions"));
    const char *host = json_string_value(json_object_get(v, "PathOnHost"));
    if (!host || host[0] != '/') return berr(err, EINVAL, "invalid device path %s", host ? host : "");
    if (perm && strspn(perm, "rwm") != strlen(perm)) /* "" means rwm */
      return berr(err, EINVAL, "invalid device cgroup permissions %s for %s", perm, host);
  }
  json_array_foreach(json_object_get(hc, "SecurityOpt"), i, v) {
    int r = check_security_opt(json_string_value(v) ? json_string_value(v) : "", err);
    if (r < 0) return r;
  }
  const char *k;
  json_object_foreach((json_t *)json_object_get(hc, "Tmpfs"), k, v) {
    if (k[0] != '/')
      return berr(err, EINVAL,
                  "invalid mount config for type \"tmpfs\": invalid mount path: '%s' mount path must be absolute", k);
    if (!json_is_string(v)) return berr(err, EINVAL, "invalid tmpfs options for %s: must be a string", k);
  }
  return check_sysctls(hc, err);
}

static int check_modes(const json_t *hc, struct berth_error **err) {
  const char *u = json_string_value(json_object_get(hc, "UsernsMode"));
  if (u && *u && strcmp(u, "host") != 0)
    return berr(err, EINVAL, "invalid --userns: \"%s\": only \"host\" is supported (berth does not remap users)", u);
  const char *c = json_string_value(json_object_get(hc, "CgroupnsMode"));
  if (c && *c && strcmp(c, "host") != 0 && strcmp(c, "private") != 0)
    return berr(err, EINVAL, "invalid cgroup namespace mode: %s", c);
  return 0;
}

int ctr_security_adapt(json_t *hc, struct berth_error **err) {
  int r = check_memory(hc, err);
  if (r == 0) r = check_cpu(hc, err);
  if (r == 0) r = check_caps(hc, "CapAdd", err);
  if (r == 0) r = check_caps(hc, "CapDrop", err);
  if (r == 0) r = check_lists(hc, err);
  if (r == 0) r = check_modes(hc, err);
  if (r < 0) return r;
  /* moby adaptContainerSettings: swap defaults to twice the limit; 64 MiB /dev/shm */
  if (int_of(hc, "Memory") > 0 && int_of(hc, "MemorySwap") == 0)
    json_object_set_new(hc, "MemorySwap", json_integer(2 * int_of(hc, "Memory")));
  if (int_of(hc, "ShmSize") == 0) json_object_set_new(hc, "ShmSize", json_integer(64 * 1024 * 1024));
  return 0;
}
