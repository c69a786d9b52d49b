/* test_common.c - unit tests for src/common and src/api (pure parts) */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "api/api.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/fs.h"
#include "common/ids.h"
#include "common/strv.h"
#include "common/timeutil.h"
#include "common/xalloc.h"

static void test_berr(void **state) {
  struct berth_error *err = NULL;
  assert_int_equal(berr(&err, ENOENT, "No such container: %s", "abc"), -ENOENT);
  assert_string_equal(err->msg, "No such container: abc");
  /* a second error does not overwrite the first (the failure site wins) */
  assert_int_equal(berr(&err, EINVAL, "other"), -EINVAL);
  assert_string_equal(err->msg, "No such container: abc");
  assert_int_equal(berr_prefix(&err, "start %s", "x"), -ENOENT);
  assert_string_equal(err->msg, "start x: No such container: abc");
  berr_clear(&err);
  assert_null(err);
  assert_int_equal(berr_sys(&err, EACCES, "open \"%s\"", "/f"), -EACCES);
  assert_string_equal(err->msg, "open \"/f\": Permission denied");
  berr_clear(&err);
  assert_int_equal(berr(NULL, 0, "no error object"), -EIO);
}

static void test_json_string(void **state) {
  _cleanup_buf_ struct buf b = {0};
  buf_json_string(&b, "a\"b\\c\n\t\x01", 8);
  assert_string_equal(b.p, "\"a\\\"b\\\\c\\n\\t\\u0001\"");
  buf_reset(&b);
  buf_json_string(&b, "h\xc3\xa9llo", 6); /* valid UTF-8 kept */
  assert_string_equal(b.p, "\"h\xc3\xa9llo\"");
  buf_reset(&b);
  buf_json_string(&b, "x\xff" "y", 3); /* invalid byte -> U+FFFD */
  assert_string_equal(b.p, "\"x\xef\xbf\xbdy\"");
  buf_reset(&b);
  buf_json_string(&b, "\xed\xa0\x80", 3); /* surrogates are not valid UTF-8 */
  assert_string_equal(b.p, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
}

static void test_ids(void **state) {
  char id[65], id2[65];
  id_random(id);
  id_random(id2);
  assert_int_equal(strlen(id), 64);
  assert_true(id_is_hex(id, 64));
  assert_string_not_equal(id, id2);
  assert_false(id_is_hex("abcg", 0));
  assert_false(id_is_hex("ABC", 0));
  assert_true(id_is_hex("abc", 0));
  assert_false(id_is_hex("", 0));
  char name[64];
  for (int i = 0; i < 50; i++) {
    name_random(name, sizeof(name), i % 2);
    assert_true(name_is_valid(name));
    assert_non_null(strchr(name, '_'));
  }
  assert_true(name_is_valid("/web-1.x_y"));
  assert_false(name_is_valid("a"));
  assert_false(name_is_valid("-abc"));
  assert_false(name_is_valid("a b"));
  assert_false(name_is_valid("a/b"));
}

static void test_time(void **state) {
  struct timespec ts = {.tv_sec = 1465112478, .tv_nsec = 123400000};
  char b[64];
  time_format_rfc3339nano(&ts, b, sizeof(b));
  assert_string_equal(b, "2016-06-05T07:41:18.1234Z");
  ts.tv_nsec = 0;
  time_format_rfc3339nano(&ts, b, sizeof(b));
  assert_string_equal(b, "2016-06-05T07:41:18Z");
  struct timespec p;
  assert_int_equal(time_parse_rfc3339("2016-06-05T07:41:18.1234Z", &p), 0);
  assert_int_equal(p.tv_sec, 1465112478);
  assert_int_equal(p.tv_nsec, 123400000);
  assert_int_equal(time_parse_rfc3339("2016-06-05T09:41:18+02:00", &p), 0);
  assert_int_equal(p.tv_sec, 1465112478);
  assert_int_equal(time_parse_rfc3339("yesterday", &p), -EINVAL);
  time_human_duration(0, b, sizeof(b));
  assert_string_equal(b, "Less than a second");
  time_human_duration(45, b, sizeof(b));
  assert_string_equal(b, "45 seconds");
  time_human_duration(90, b, sizeof(b));
  assert_string_equal(b, "About a minute");
  time_human_duration(3 * 3600, b, sizeof(b));
  assert_string_equal(b, "3 hours");
  time_human_duration(3 * 86400, b, sizeof(b));
  assert_string_equal(b, "3 days");
}

static void test_go_duration(void **state) {
  int64_t ns = 1;
  assert_int_equal(time_parse_go_duration("0", &ns), 0);
  assert_int_equal(ns, 0);
  assert_int_equal(time_parse_go_duration("1m30s", &ns), 0);
  assert_int_equal(ns, 90000000000LL);
  assert_int_equal(time_parse_go_duration("500ms", &ns), 0);
  assert_int_equal(ns, 500000000LL);
  assert_int_equal(time_parse_go_duration("1.5h", &ns), 0);
  assert_int_equal(ns, 5400000000000LL);
  assert_int_equal(time_parse_go_duration("-2s", &ns), 0);
  assert_int_equal(ns, -2000000000LL);
  assert_int_equal(time_parse_go_duration("3\xc2\xb5s", &ns), 0);
  assert_int_equal(ns, 3000);
  assert_int_equal(time_parse_go_duration("", &ns), -EINVAL);
  assert_int_equal(time_parse_go_duration("10", &ns), -EINVAL); /* Go wants a unit */
  assert_int_equal(time_parse_go_duration("5x", &ns), -EINVAL);
  assert_int_equal(time_parse_go_duration("s", &ns), -EINVAL);
}

static void test_tree_size(void **state) {
  char tmpl[] = "/tmp/berth-ts-XXXXXX";
  assert_non_null(mkdtemp(tmpl));
  _cleanup_free_ char *sub = xasprintf("%s/a/b", tmpl), *f1 = xasprintf("%s/x", tmpl), *f2 = xasprintf("%s/a/b/y", tmpl),
                      *ln = xasprintf("%s/a/l", tmpl);
  assert_int_equal(mkdir_p(sub, 0755, NULL), 0);
  assert_int_equal(write_file_atomic(f1, "12345", 5, 0644, 0, NULL), 0);
  assert_int_equal(write_file_atomic(f2, "123", 3, 0644, 0, NULL), 0);
  assert_int_equal(symlink("/", ln), 0); /* counts its own 1 byte, never what it points at */
  assert_int_equal(fs_tree_size(tmpl), 9);
  assert_int_equal(fs_tree_size(f1), 5);
  assert_int_equal(fs_tree_size("/nonexistent/berth"), 0);
  rm_rf(tmpl, NULL);
}

static void test_fs(void **state) {
  char tmpl[] = "/tmp/berth-test-XXXXXX";
  assert_non_null(mkdtemp(tmpl));
  _cleanup_free_ char *deep = path_join(tmpl, "a/b/c");
  assert_int_equal(mkdir_p(deep, 0755, NULL), 0);
  assert_int_equal(mkdir_p(deep, 0755, NULL), 0);
  _cleanup_free_ char *f = path_join(deep, "file");
  assert_int_equal(write_file_atomic(f, "hello", 5, 0644, 1, NULL), 0);
  _cleanup_free_ char *data = NULL;
  size_t len = 0;
  assert_int_equal(read_file(f, &data, &len, NULL), 0);
  assert_int_equal(len, 5);
  assert_string_equal(data, "hello");
  /* rm_rf must not follow a symlink out of the tree */
  char outside[] = "/tmp/berth-test-out-XXXXXX";
  assert_non_null(mkdtemp(outside));
  _cleanup_free_ char *victim = path_join(outside, "keep");
  assert_int_equal(write_file_atomic(victim, "x", 1, 0644, 0, NULL), 0);
  _cleanup_free_ char *link = path_join(tmpl, "a/link");
  assert_int_equal(symlink(outside, link), 0);
  assert_int_equal(rm_rf(tmpl, NULL), 0);
  assert_int_equal(access(tmpl, F_OK), -1);
  assert_int_equal(access(victim, F_OK), 0);
  assert_int_equal(rm_rf(outside, NULL), 0);
  assert_int_equal(rm_rf("/tmp/berth-test-does-not-exist", NULL), 0);
  struct berth_error *err = NULL;
  assert_int_equal(read_file("/nonexistent/x", &data, &len, &err), -ENOENT);
  assert_non_null(strstr(err->msg, "/nonexistent/x"));
  berr_clear(&err);
}

static void test_strv(void **state) {
  _cleanup_strv_ char **v = NULL;
  assert_int_equal(strv_len(v), 0);
  v = strv_push(v, "a");
  v = strv_push(v, "b");
  assert_int_equal(strv_len(v), 2);
  assert_string_equal(v[1], "b");
  assert_null(v[2]);
}

struct collected {
  struct buf out, err;
};
static void collect(enum api_stream s, const char *data, size_t len, void *ctx) {
  struct collected *c = ctx;
  buf_append(s == API_STREAM_STDERR ? &c->err : &c->out, data, len);
}

static void test_frames(void **state) {
  _cleanup_buf_ struct buf b = {0};
  api_frame_append(&b, API_STREAM_STDOUT, "hello\n", 6);
  api_frame_append(&b, API_STREAM_STDERR, "oops\n", 5);
  api_frame_append(&b, API_STREAM_STDOUT, "world\n", 6);
  assert_int_equal(b.len, 8 * 3 + 17);
  assert_int_equal((unsigned char)b.p[0], 1);
  assert_int_equal((unsigned char)b.p[7], 6);
  /* feed one byte at a time: the decoder must keep state across calls */
  struct collected c = {0};
  struct api_deframer d = {0};
  for (size_t i = 0; i < b.len; i++) assert_int_equal(api_deframe(&d, b.p + i, 1, collect, &c), 0);
  assert_string_equal(c.out.p, "hello\nworld\n");
  assert_string_equal(c.err.p, "oops\n");
  buf_free(&c.out);
  buf_free(&c.err);
  struct api_deframer d2 = {0};
  const char bad[8] = {9, 0, 0, 0, 0, 0, 0, 1};
  assert_int_equal(api_deframe(&d2, bad, 8, collect, &c), -EPROTO);
}

static void test_api_misc(void **state) {
  assert_int_equal(api_http_status(ENOENT), 404);
  assert_int_equal(api_http_status(EEXIST), 409);
  assert_int_equal(api_http_status(EINVAL), 400);
  assert_int_equal(api_http_status(EIO), 500);
  assert_true(api_version_cmp("1.41", "1.41") == 0);
  assert_true(api_version_cmp("1.9", "1.41") < 0);
  assert_true(api_version_cmp("1.47", "1.41") > 0);
  assert_true(api_version_cmp("2.0", "1.41") > 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_berr),   cmocka_unit_test(test_json_string), cmocka_unit_test(test_ids),
      cmocka_unit_test(test_time),   cmocka_unit_test(test_fs),          cmocka_unit_test(test_strv),
      cmocka_unit_test(test_frames), cmocka_unit_test(test_api_misc), cmocka_unit_test(test_go_duration), cmocka_unit_test(test_tree_size),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
