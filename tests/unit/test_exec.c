/* test_exec.c - unit tests of exec, resize, pause and top's pure parts: ps output filtering,
 * exec environment merging, the exec table and ExecIDs */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "common/xalloc.h"
#include "daemon/exec_int.h"

static const char ps_ef[] =
    "UID          PID    PPID  C STIME TTY          TIME CMD\n"
    "root           1       0  0 02:00 ?        00:00:01 /sbin/init\n"
    "root         100      50  0 02:01 ?        00:00:00 sleep 600\n"
    "root         101     100  0 02:01 pts/0    00:00:00 sh -c echo a  b\n";

static void test_top_parse(void **state) {
  char *text = xstrdup(ps_ef);
  pid_t pids[] = {100, 101};
  json_t *out = NULL;
  struct berth_error *err = NULL;
  assert_int_equal(ctr_top_parse(text, pids, 2, &out, &err), 0);
  json_t *titles = json_object_get(out, "Titles"), *procs = json_object_get(out, "Processes");
  assert_int_equal(json_array_size(titles), 8);
  assert_string_equal(json_string_value(json_array_get(titles, 7)), "CMD");
  assert_int_equal(json_array_size(procs), 2); /* the host's init is not the container's */
  json_t *row = json_array_get(procs, 1);
  assert_int_equal(json_array_size(row), 8);
  assert_string_equal(json_string_value(json_array_get(row, 1)), "101");
  /* a command's arguments merge into the last column, single-spaced as Docker's strings.Fields */
  assert_string_equal(json_string_value(json_array_get(row, 7)), "sh -c echo a b");
  json_decref(out);
  free(text);
}

static void test_top_parse_no_pid(void **state) {
  char *text = xstrdup("USER COMMAND\nroot sleep\n");
  json_t *out = NULL;
  struct berth_error *err = NULL;
  pid_t pid = 1;
  assert_int_equal(ctr_top_parse(text, &pid, 1, &out, &err), -EIO);
  assert_string_equal(berr_msg(err), "Couldn't find PID field in ps output");
  berr_free(err);
  free(text);
  text = xstrdup("");
  err = NULL;
  assert_int_equal(ctr_top_parse(text, &pid, 1, &out, &err), -EIO);
  berr_free(err);
  free(text);
}

static void test_env_set(void **state) {
  json_t *env = json_pack("[s, s, s]", "PATH=/bin", "HOME=/root", "FOO=1");
  exec_env_set(env, "FOO=2");
  exec_env_set(env, "TERM=xterm");
  exec_env_set(env, "HOME");     /* no '=': removed */
  exec_env_set(env, "FOOBAR=x"); /* a longer name is another variable */
  exec_env_set(env, "NOPE");     /* removing what is not there changes nothing */
  assert_int_equal(json_array_size(env), 4);
  assert_string_equal(json_string_value(json_array_get(env, 0)), "PATH=/bin");
  assert_string_equal(json_string_value(json_array_get(env, 1)), "FOO=2");
  assert_string_equal(json_string_value(json_array_get(env, 2)), "TERM=xterm");
  assert_string_equal(json_string_value(json_array_get(env, 3)), "FOOBAR=x");
  json_decref(env);
}

static void test_exec_table(void **state) {
  struct daemon d = {0};
  d.execs = exec_table_new();
  assert_true(json_is_null(exec_ids_json(&d, "c1")));
  struct exec_inst *a = xcalloc(1, sizeof(*a)), *b = xcalloc(1, sizeof(*b));
  strcpy(a->id, "aaa");
  strcpy(a->ctr_id, "c1");
  strcpy(b->id, "bbb");
  strcpy(b->ctr_id, "c1");
  b->started = true; /* ended: no longer in ExecIDs */
  b->has_exit = true;
  a->next = b;
  d.execs->list = a;
  json_t *ids = exec_ids_json(&d, "c1");
  assert_int_equal(json_array_size(ids), 1);
  assert_string_equal(json_string_value(json_array_get(ids, 0)), "aaa");
  json_decref(ids);
  assert_true(json_is_null(exec_ids_json(&d, "c2")));
  struct exec_inst *got = exec_get(d.execs, "bbb");
  assert_ptr_equal(got, b);
  assert_int_equal(b->refs, 1);
  exec_put(d.execs, got);
  assert_int_equal(b->refs, 0);
  assert_null(exec_get(d.execs, "bb"));
  exec_table_free(d.execs);
}

static void test_parse_keys(void **state) {
  unsigned char k[16];
  size_t n = 0;
  assert_int_equal(exec_parse_keys(NULL, k, sizeof(k), &n), 0); /* Docker's default */
  assert_int_equal(n, 2);
  assert_int_equal(k[0], 0x10);
  assert_int_equal(k[1], 0x11);
  assert_int_equal(exec_parse_keys("ctrl-a,x,ctrl-@,ctrl-_,ctrl-\\", k, sizeof(k), &n), 0);
  assert_int_equal(n, 5);
  assert_int_equal(k[0], 1);
  assert_int_equal(k[1], 'x');
  assert_int_equal(k[2], 0);
  assert_int_equal(k[3], 31);
  assert_int_equal(k[4], 28);
  assert_int_equal(exec_parse_keys("ctrl-1", k, sizeof(k), &n), -EINVAL);
  assert_int_equal(exec_parse_keys("xy", k, sizeof(k), &n), -EINVAL);
  assert_int_equal(exec_parse_keys(",", k, sizeof(k), &n), -EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_top_parse), cmocka_unit_test(test_top_parse_no_pid), cmocka_unit_test(test_env_set),
      cmocka_unit_test(test_exec_table), cmocka_unit_test(test_parse_keys),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
