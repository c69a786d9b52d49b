/* test_runtime.c - unit tests of berth-runtime's spec, signal, mount-option and PATH handling (no root) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include "common/xalloc.h"
#include "runtime/runtime.h"
#include "runtime/spec.h"

static void test_default_spec_is_valid(void **state) {
  _cleanup_json_ json_t *spec = oci_spec_default();
  struct berth_error *err = NULL;
  assert_int_equal(oci_spec_validate(spec, &err), 0);
  assert_null(err);
  assert_string_equal(json_string_value(json_object_get(spec, "ociVersion")), "1.0.2");
  json_t *proc = json_object_get(spec, "process");
  assert_string_equal(json_string_value(json_array_get(json_object_get(proc, "args"), 0)), "sh");
  assert_int_equal(json_array_size(json_object_get(json_object_get(proc, "capabilities"), "bounding")), 14);
  assert_true(json_is_false(json_object_get(proc, "noNewPrivileges")));
  json_t *mounts = json_object_get(spec, "mounts");
  assert_int_equal(json_array_size(mounts), 7);
  assert_string_equal(json_string_value(json_object_get(json_array_get(mounts, 0), "destination")), "/proc");
  json_t *lx = json_object_get(spec, "linux");
  assert_int_equal(json_array_size(json_object_get(lx, "namespaces")), 5);
  assert_true(json_array_size(json_object_get(lx, "maskedPaths")) >= 10);
  assert_int_equal(json_array_size(json_object_get(lx, "readonlyPaths")), 5);
}

/* each broken spec must fail with a message naming the field */
static void expect_invalid(const char *json_text, const char *needle) {
  json_error_t jerr;
  _cleanup_json_ json_t *spec = json_loads(json_text, 0, &jerr);
  assert_non_null(spec);
  struct berth_error *err = NULL;
  assert_int_equal(oci_spec_validate(spec, &err), -EINVAL);
  assert_non_null(err);
  if (!strstr(err->msg, needle)) fail_msg("message \"%s\" lacks \"%s\"", err->msg, needle);
  berr_free(err);
}

#define BASE "\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"}"
static void test_validate_errors(void **state) {
  expect_invalid("[]", "JSON object");
  expect_invalid("{\"root\":{\"path\":\"r\"}}", "ociVersion");
  expect_invalid("{\"ociVersion\":\"2.0.0\",\"root\":{\"path\":\"r\"}}", "not supported");
  expect_invalid("{\"ociVersion\":\"1.0.2\"}", "root.path");
  expect_invalid("{" BASE "}", "process");
  expect_invalid("{" BASE ",\"process\":{\"args\":[],\"cwd\":\"/\"}}", "process.args");
  expect_invalid("{" BASE ",\"process\":{\"args\":[1],\"cwd\":\"/\"}}", "process.args[0]");
  expect_invalid("{" BASE ",\"process\":{\"args\":[\"sh\"],\"cwd\":\"tmp\"}}", "process.cwd");
  expect_invalid("{" BASE ",\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\",\"user\":{\"uid\":\"x\",\"gid\":0}}}", "process.user");
  expect_invalid("{" BASE ",\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\",\"capabilities\":{\"bounding\":[\"chown\"]}}}", "unknown capability");
  expect_invalid("{" BASE ",\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\",\"rlimits\":[{\"type\":\"RLIMIT_FOO\",\"soft\":1,\"hard\":1}]}}", "RLIMIT_FOO");
  expect_invalid("{" BASE ",\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"},\"mounts\":[{\"destination\":\"proc\"}]}", "mounts[0].destination");
  expect_invalid("{" BASE ",\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"},\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"pid\"}]}}", "listed twice");
  expect_invalid("{" BASE ",\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"},\"linux\":{\"namespaces\":[{\"type\":\"time2\"}]}}", "unknown namespace");
  expect_invalid("{" BASE ",\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"},\"linux\":{\"namespaces\":[{\"type\":\"network\",\"path\":\"x\"}]}}", "absolute");
#define PROC ",\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"}"
  expect_invalid("{" BASE PROC ",\"hooks\":[]}", "hooks must be an object");
  expect_invalid("{" BASE PROC ",\"hooks\":{\"prestop\":[]}}", "unknown hook kind \"prestop\"");
  expect_invalid("{" BASE PROC ",\"hooks\":{\"prestart\":[{\"path\":\"true\"}]}}", "hooks.prestart[0].path");
  expect_invalid("{" BASE PROC ",\"hooks\":{\"poststop\":[{\"path\":\"/bin/true\",\"args\":[1]}]}}", "hooks.poststop[0].args[0]");
  expect_invalid("{" BASE PROC ",\"hooks\":{\"poststart\":[{\"path\":\"/bin/true\",\"timeout\":0}]}}", "hooks.poststart[0].timeout");
}

static void test_hooks_valid_and_state(void **state) {
  json_error_t jerr;
  _cleanup_json_ json_t *spec = json_loads("{" BASE PROC ",\"linux\":{\"namespaces\":[{\"type\":\"time\"}]},"
                                           "\"hooks\":{\"createRuntime\":[{\"path\":\"/bin/true\",\"args\":[\"true\"],"
                                           "\"env\":[\"A=1\"],\"timeout\":5}],\"startContainer\":[]}}", 0, &jerr);
  assert_non_null(spec);
  struct berth_error *err = NULL;
  assert_int_equal(oci_spec_validate(spec, &err), 0);
  assert_int_equal(oci_namespace_clone_flag("time"), CLONE_NEWTIME);
  json_t *hooks = json_object_get(spec, "hooks");
  assert_true(rt_hooks_any(hooks, "createRuntime"));
  assert_false(rt_hooks_any(hooks, "startContainer"));
  assert_false(rt_hooks_any(hooks, "poststop"));
  _cleanup_json_ json_t *ann = json_pack("{s:s}", "k", "v");
  _cleanup_json_ json_t *st = rt_hook_state("c1", 7, "created", "/b", ann);
  assert_string_equal(json_string_value(json_object_get(st, "status")), "created");
  assert_int_equal(json_integer_value(json_object_get(st, "pid")), 7);
  assert_string_equal(json_string_value(json_object_get(json_object_get(st, "annotations"), "k")), "v");
  _cleanup_json_ json_t *st2 = rt_hook_state("c1", 0, "stopped", "/b", NULL);
  assert_true(json_is_object(json_object_get(st2, "annotations")));
}

static void test_features(void **state) {
  _cleanup_json_ json_t *f = rt_features();
  assert_string_equal(json_string_value(json_object_get(f, "ociVersionMin")), "1.0.0");
  assert_int_equal(json_array_size(json_object_get(f, "hooks")), 6);
  json_t *lx = json_object_get(f, "linux");
  bool time_ns = false, sys_admin = false;
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(lx, "namespaces"), i, v) time_ns |= strcmp(json_string_value(v), "time") == 0;
  json_array_foreach(json_object_get(lx, "capabilities"), i, v) sys_admin |= strcmp(json_string_value(v), "CAP_SYS_ADMIN") == 0;
  assert_true(time_ns);
  assert_true(sys_admin);
  assert_true(json_array_size(json_object_get(f, "mountOptions")) > 20);
  assert_true(json_is_true(json_object_get(json_object_get(lx, "seccomp"), "enabled")));
}

static void test_rlimit_and_ns_tables(void **state) {
  assert_int_equal(oci_rlimit_resource("RLIMIT_NOFILE"), RLIMIT_NOFILE);
  assert_int_equal(oci_rlimit_resource("NOFILE"), -1);
  assert_int_equal(oci_namespace_clone_flag("network"), CLONE_NEWNET);
  assert_int_equal(oci_namespace_clone_flag("net"), 0);
}

static void test_parse_signal(void **state) {
  assert_int_equal(signal_parse("TERM"), SIGTERM);
  assert_int_equal(signal_parse("SIGTERM"), SIGTERM);
  assert_int_equal(signal_parse("sigkill"), SIGKILL);
  assert_int_equal(signal_parse("KILL"), SIGKILL);
  assert_int_equal(signal_parse("9"), 9);
  assert_int_equal(signal_parse("15"), 15);
  assert_int_equal(signal_parse("SIGUSR1"), SIGUSR1);
  assert_int_equal(signal_parse("WINCH"), SIGWINCH);
  assert_int_equal(signal_parse("RTMIN"), SIGRTMIN);
  assert_int_equal(signal_parse("RTMIN+2"), SIGRTMIN + 2);
  assert_int_equal(signal_parse("SIGRTMAX-1"), SIGRTMAX - 1);
  assert_int_equal(signal_parse("NOPE"), -EINVAL);
  assert_int_equal(signal_parse(""), -EINVAL);
  assert_int_equal(signal_parse("0"), -EINVAL);
  assert_int_equal(signal_parse("9x"), -EINVAL);
  assert_int_equal(signal_parse("1000"), -EINVAL);
  assert_int_equal(signal_parse("RTMAX+1"), -EINVAL);
}

static void test_mount_options(void **state) {
  _cleanup_json_ json_t *o = json_pack("[s,s,s,s,s,s,s]", "nosuid", "strictatime", "mode=755", "size=65536k", "ro",
                                       "rw", "rslave");
  struct rt_mount_opts mo;
  rt_parse_mount_options(o, &mo);
  assert_int_equal(mo.flags, MS_NOSUID | MS_STRICTATIME);
  assert_true(mo.clear & MS_RDONLY);
  assert_int_equal(mo.propagation, MS_SLAVE | MS_REC);
  assert_string_equal(mo.data, "mode=755,size=65536k");
  free(mo.data);
  _cleanup_json_ json_t *b = json_pack("[s,s]", "rbind", "ro");
  rt_parse_mount_options(b, &mo);
  assert_int_equal(mo.flags, MS_BIND | MS_REC | MS_RDONLY);
  assert_string_equal(mo.data, "");
  free(mo.data);
}

static void test_find_executable(void **state) {
  char dir[] = "/tmp/test_runtime.XXXXXX";
  assert_non_null(mkdtemp(dir));
  _cleanup_free_ char *exe = xasprintf("%s/tool", dir);
  _cleanup_free_ char *plain = xasprintf("%s/notexec", dir);
  FILE *f = fopen(exe, "w");
  fclose(f);
  chmod(exe, 0755);
  f = fopen(plain, "w");
  fclose(f);
  chmod(plain, 0644);
  _cleanup_free_ char *path_env = xasprintf("/nonexistent:%s", dir);
  char *out = NULL;
  struct berth_error *err = NULL;
  assert_int_equal(rt_find_executable("tool", path_env, &out, &err), 0);
  assert_string_equal(out, exe);
  free(out);
  assert_int_equal(rt_find_executable("missing-tool", path_env, &out, &err), -ENOENT);
  assert_non_null(strstr(err->msg, "\"missing-tool\": executable file not found in $PATH"));
  berr_clear(&err);
  if (geteuid() != 0) { /* root may exec-check anything with an x bit; a 0644 file is refused for all */
    assert_int_equal(rt_find_executable("notexec", path_env, &out, &err), -ENOENT);
    berr_clear(&err);
  }
  assert_int_equal(rt_find_executable(plain, NULL, &out, &err), -EACCES);
  berr_clear(&err);
  assert_int_equal(rt_find_executable(exe, NULL, &out, &err), 0);
  free(out);
  unlink(exe);
  unlink(plain);
  rmdir(dir);
}

static void test_state_json(void **state) {
  struct rt_state st = {.id = "c1", .pid = 42, .bundle = "/b", .rootfs = "/b/rootfs", .created = "2024-01-01T00:00:00Z"};
  _cleanup_json_ json_t *j = rt_state_json(&st, RT_CREATED);
  assert_string_equal(json_string_value(json_object_get(j, "status")), "created");
  assert_int_equal(json_integer_value(json_object_get(j, "pid")), 42);
  assert_string_equal(json_string_value(json_object_get(j, "ociVersion")), OCI_VERSION);
  assert_true(json_is_object(json_object_get(j, "annotations")));
  _cleanup_json_ json_t *s = rt_state_json(&st, RT_STOPPED);
  assert_int_equal(json_integer_value(json_object_get(s, "pid")), 0);
  _cleanup_json_ json_t *p = rt_state_json(&st, RT_PAUSED);
  assert_string_equal(json_string_value(json_object_get(p, "status")), "paused");
  struct berth_error *err = NULL;
  assert_int_equal(rt_valid_id("../x", &err), -EINVAL);
  berr_clear(&err);
  assert_int_equal(rt_valid_id("..", &err), -EINVAL);
  berr_clear(&err);
  assert_int_equal(rt_valid_id("abc-1", &err), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_default_spec_is_valid), cmocka_unit_test(test_validate_errors),
      cmocka_unit_test(test_rlimit_and_ns_tables),  cmocka_unit_test(test_parse_signal),
      cmocka_unit_test(test_mount_options),         cmocka_unit_test(test_find_executable),
      cmocka_unit_test(test_state_json),            cmocka_unit_test(test_hooks_valid_and_state),
      cmocka_unit_test(test_features),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
