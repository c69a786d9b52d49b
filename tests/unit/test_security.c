/* test_security.c - HostConfig security/resource checks and their OCI spec translation (no root) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>
#include "common/xalloc.h"
#include "daemon/ctr_security.h"
#include "runtime/spec.h"

static int adapt(const char *hc_text, char **msg) {
  _cleanup_json_ json_t *hc = json_loads(hc_text, 0, NULL);
  assert_non_null(hc);
  struct berth_error *e = NULL;
  int r = ctr_security_adapt(hc, &e);
  *msg = e ? xstrdup(e->msg) : NULL;
  berr_free(e);
  return r;
}

static void expect_refused(const char *hc_text, const char *want) {
  _cleanup_free_ char *msg = NULL;
  assert_int_equal(adapt(hc_text, &msg), -EINVAL);
  if (!strstr(msg, want)) fail_msg("%s: got \"%s\", want \"%s\"", hc_text, msg, want);
}

static void test_refusals(void **state) {
  (void)state;
  expect_refused("{\"Memory\":1024}", "Minimum memory limit allowed is 6MB");
  expect_refused("{\"Memory\":67108864,\"MemorySwap\":1048576}", "Minimum memoryswap limit should be larger");
  expect_refused("{\"MemorySwap\":67108864}", "You should always set the Memory limit");
  expect_refused("{\"MemorySwappiness\":101}", "valid memory swappiness range is 0-100");
  expect_refused("{\"NanoCpus\":1000000000,\"CpuPeriod\":100000}", "Nano CPUs and CPU Period");
  expect_refused("{\"CpuQuota\":10}", "CPU cfs quota can not be less than 1ms");
  expect_refused("{\"CpusetCpus\":\"a-b\"}", "Invalid value a-b for cpuset cpus");
  expect_refused("{\"OomScoreAdj\":-1001}", "range for oom score adj is [-1000, 1000]");
  expect_refused("{\"CapAdd\":[\"bogus\"]}", "invalid CapAdd: unknown capability: \"CAP_BOGUS\"");
  expect_refused("{\"SecurityOpt\":[\"nope\"]}", "invalid --security-opt 1: \"nope\"");
  expect_refused("{\"SecurityOpt\":[\"no-new-privileges=maybe\"]}", "invalid --security-opt 2");
  expect_refused("{\"SecurityOpt\":[\"seccomp={bad\"]}", "decoding seccomp profile failed");
  expect_refused("{\"Ulimits\":[{\"Name\":\"nofiles\",\"Soft\":1,\"Hard\":2}]}", "invalid ulimit type: nofiles");
  expect_refused("{\"Sysctls\":{\"kernel.panic\":\"1\"}}", "is not in a separate kernel namespace");
  expect_refused("{\"NetworkMode\":\"host\",\"Sysctls\":{\"net.ipv4.ip_forward\":\"1\"}}", "host network namespace");
  expect_refused("{\"UsernsMode\":\"private\"}", "invalid --userns");
  expect_refused("{\"CgroupnsMode\":\"x\"}", "invalid cgroup namespace mode: x");
}

static void test_adapt_defaults(void **state) {
  (void)state;
  _cleanup_json_ json_t *hc = json_pack("{s:I, s:[s,s], s:[s]}", "Memory", (json_int_t)64 << 20, "CapAdd", "net_admin",
                                        "CAP_SYS_TIME", "SecurityOpt", "no-new-privileges:true");
  struct berth_error *e = NULL;
  assert_int_equal(ctr_security_adapt(hc, &e), 0);
  assert_int_equal(json_integer_value(json_object_get(hc, "MemorySwap")), (json_int_t)128 << 20);
  assert_int_equal(json_integer_value(json_object_get(hc, "ShmSize")), 64 << 20);
}

static void test_cap_normalize(void **state) {
  (void)state;
  _cleanup_free_ char *a = ctr_cap_normalize("net_admin"), *b = ctr_cap_normalize("CAP_chown"),
                      *c = ctr_cap_normalize("all");
  assert_string_equal(a, "CAP_NET_ADMIN");
  assert_string_equal(b, "CAP_CHOWN");
  assert_string_equal(c, "ALL");
  assert_null(ctr_cap_normalize("CAP_NOPE"));
}

static bool has_name(json_t *sc, const char *name) {
  size_t i, j;
  json_t *rule, *n;
  json_array_foreach(json_object_get(sc, "syscalls"), i, rule)
      json_array_foreach(json_object_get(rule, "names"), j, n) {
    if (strcmp(json_string_value(n), name) == 0) return true;
  }
  return false;
}

/* the default profile allows mount, unshare and setns only with CAP_SYS_ADMIN */
static void test_default_profile_by_caps(void **state) {
  (void)state;
  _cleanup_json_ json_t *profile = json_loads(ctr_seccomp_default_json, 0, NULL);
  assert_non_null(profile);
  _cleanup_json_ json_t *few = json_pack("[s,s]", "CAP_CHOWN", "CAP_KILL");
  _cleanup_json_ json_t *admin = json_pack("[s,s]", "CAP_SYS_ADMIN", "CAP_SYS_PTRACE");
  json_t *a = NULL, *b = NULL;
  assert_int_equal(ctr_seccomp_convert(profile, few, &a, NULL), 0);
  assert_int_equal(ctr_seccomp_convert(profile, admin, &b, NULL), 0);
  assert_string_equal(json_string_value(json_object_get(a, "defaultAction")), "SCMP_ACT_ERRNO");
  assert_true(has_name(a, "read") && has_name(a, "clone"));
  assert_false(has_name(a, "mount") || has_name(a, "unshare") || has_name(a, "setns"));
  assert_true(has_name(b, "mount") && has_name(b, "unshare") && has_name(b, "setns"));
  /* ptrace: allowed to all on kernels >= 4.8 (the profile's minKernel rule) */
  assert_true(has_name(a, "ptrace"));
#if defined(__x86_64__)
  assert_true(has_name(a, "arch_prctl"));
  assert_false(has_name(a, "s390_pci_mmio_read"));
  assert_string_equal(json_string_value(json_array_get(json_object_get(a, "architectures"), 0)), "SCMP_ARCH_X86_64");
#endif
  json_decref(a);
  json_decref(b);
}

static json_t *spec_for(const char *hc_text) {
  json_t *spec = oci_spec_default();
  _cleanup_json_ json_t *hc = json_loads(hc_text, 0, NULL);
  assert_non_null(hc);
  struct berth_error *e = NULL;
  int r = ctr_security_apply(spec, hc, "/nonexistent", &e);
  if (r < 0) fail_msg("apply %s: %s", hc_text, e->msg);
  return spec;
}

static void test_apply(void **state) {
  (void)state;
  _cleanup_json_ json_t *s =
      spec_for("{\"CapDrop\":[\"ALL\"],\"CapAdd\":[\"chown\"],\"SecurityOpt\":[\"no-new-privileges\"],"
               "\"Ulimits\":[{\"Name\":\"nofile\",\"Soft\":100,\"Hard\":200}],"
               "\"Tmpfs\":{\"/run\":\"rw,exec,size=64m\"},\"NanoCpus\":1500000000,"
               "\"PidsLimit\":10,\"ShmSize\":134217728,\"CgroupnsMode\":\"private\"}");
  json_t *proc = json_object_get(s, "process"), *lx = json_object_get(s, "linux");
  _cleanup_free_ char *caps =
      json_dumps(json_object_get(json_object_get(proc, "capabilities"), "effective"), JSON_COMPACT);
  assert_string_equal(caps, "[\"CAP_CHOWN\"]");
  assert_true(json_is_true(json_object_get(proc, "noNewPrivileges")));
  assert_non_null(json_object_get(lx, "seccomp"));
  _cleanup_free_ char *rl = json_dumps(json_object_get(proc, "rlimits"), JSON_COMPACT | JSON_SORT_KEYS);
  assert_string_equal(rl, "[{\"hard\":200,\"soft\":100,\"type\":\"RLIMIT_NOFILE\"}]");
  json_t *cpu = json_object_get(json_object_get(lx, "resources"), "cpu");
  assert_int_equal(json_integer_value(json_object_get(cpu, "quota")), 150000);
  assert_int_equal(json_integer_value(json_object_get(cpu, "period")), 100000);
  _cleanup_free_ char *mounts = json_dumps(json_object_get(s, "mounts"), JSON_COMPACT);
  assert_non_null(strstr(mounts, "\"destination\":\"/"
                                 "run\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":[\"nosuid\",\"nodev\","
                                 "\"rprivate\",\"rw\",\"exec\",\"size=64m\"]"));
  assert_non_null(strstr(mounts, "size=131072k"));
  _cleanup_free_ char *ns = json_dumps(json_object_get(lx, "namespaces"), JSON_COMPACT);
  assert_non_null(strstr(ns, "\"cgroup\""));

  _cleanup_json_ json_t *p = spec_for("{\"Privileged\":true}");
  lx = json_object_get(p, "linux");
  assert_null(json_object_get(lx, "seccomp"));
  assert_int_equal(json_array_size(json_object_get(lx, "maskedPaths")), 0);
  assert_int_equal(json_array_size(json_object_get(lx, "readonlyPaths")), 0);
  _cleanup_json_ json_t *u = spec_for("{\"SecurityOpt\":[\"seccomp=unconfined\"]}");
  assert_null(json_object_get(json_object_get(u, "linux"), "seccomp"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_refusals),      cmocka_unit_test(test_adapt_defaults),
      cmocka_unit_test(test_cap_normalize), cmocka_unit_test(test_default_profile_by_caps),
      cmocka_unit_test(test_apply),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
