/* test_lifecycle.c - restart policy decisions and backoff, event filters, json-file log options */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include "common/xalloc.h"
#include "daemon/daemon.h"
#include <errno.h>

static struct restart_policy pol(const char *name, int max) {
  struct restart_policy p;
  struct berth_error *err = NULL;
  assert_int_equal(restart_policy_parse(name, max, &p, &err), 0);
  return p;
}

static void test_policy_parse(void **state) {
  (void)state;
  struct restart_policy p;
  struct berth_error *err = NULL;
  assert_int_equal(pol("", 0).kind, RESTART_NO);
  assert_int_equal(pol("no", 0).kind, RESTART_NO);
  assert_int_equal(pol("always", 0).kind, RESTART_ALWAYS);
  assert_int_equal(pol("unless-stopped", 0).kind, RESTART_UNLESS_STOPPED);
  assert_int_equal(pol("on-failure", 3).max_retry, 3);
  assert_int_equal(restart_policy_parse("sometimes", 0, &p, &err), -EINVAL);
  berr_free(err);
  err = NULL;
  assert_int_equal(restart_policy_parse("always", 2, &p, &err), -EINVAL);
  berr_free(err);
}

static void test_decide(void **state) {
  (void)state;
  int64_t delay = 0;
  struct restart_policy no = pol("no", 0), always = pol("always", 0), onf = pol("on-failure", 2),
                        us = pol("unless-stopped", 0);
  assert_false(restart_decide(&no, 1, 0, false, false, 0, &delay));
  assert_true(restart_decide(&always, 0, 0, false, false, 0, &delay));
  assert_int_equal(delay, 100);
  /* on-failure: only non-zero exits, at most N restarts */
  delay = 0;
  assert_false(restart_decide(&onf, 0, 0, false, false, 0, &delay));
  assert_true(restart_decide(&onf, 3, 0, false, false, 0, &delay));
  assert_true(restart_decide(&onf, 3, 1, false, false, 0, &delay));
  assert_false(restart_decide(&onf, 3, 2, false, false, 0, &delay));
  /* a manual stop cancels every policy at the exit */
  assert_false(restart_decide(&always, 137, 0, true, false, 0, &delay));
  assert_false(restart_decide(&us, 137, 0, true, false, 0, &delay));
  /* at daemon start: always comes back even after a manual stop; unless-stopped does not */
  assert_true(restart_decide(&always, 137, 0, true, true, 0, &delay));
  assert_false(restart_decide(&us, 137, 0, true, true, 0, &delay));
  assert_true(restart_decide(&us, 0, 0, false, true, 0, &delay));
}

static void test_backoff(void **state) {
  (void)state;
  struct restart_policy always = pol("always", 0);
  int64_t delay = 0;
  int64_t want[] = {100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 60000, 60000};
  for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
    assert_true(restart_decide(&always, 1, (int)i, false, false, 50, &delay));
    assert_int_equal(delay, want[i]);
  }
  /* 10 s of running resets it */
  assert_true(restart_decide(&always, 1, 12, false, false, 10000, &delay));
  assert_int_equal(delay, 100);
}

static json_t *ev(const char *type, const char *action, const char *id, const char *name, const char *image) {
  return json_pack("{s:s, s:s, s:{s:s, s:{s:s, s:s, s:s}}}", "Type", type, "Action", action, "Actor", "ID", id,
                   "Attributes", "name", name, "image", image, "com.x", "1");
}

static void test_event_filters(void **state) {
  (void)state;
  json_t *e = ev("container", "start", "0123456789abcdef0123", "web", "busybox");
  json_t *f = json_pack("{s:[s]}", "container", "web");
  assert_true(events_match(f, e));
  json_decref(f);
  f = json_pack("{s:[s], s:[s,s]}", "container", "0123456789ab", "event", "die", "start");
  assert_true(events_match(f, e));
  json_decref(f);
  f = json_pack("{s:[s]}", "event", "die");
  assert_false(events_match(f, e));
  json_decref(f);
  f = json_pack("{s:[s], s:[s]}", "image", "busybox", "type", "container");
  assert_true(events_match(f, e));
  json_decref(f);
  f = json_pack("{s:[s]}", "label", "com.x=1");
  assert_true(events_match(f, e));
  json_decref(f);
  f = json_pack("{s:[s]}", "label", "com.x=2");
  assert_false(events_match(f, e));
  json_decref(f);
  f = json_pack("{s:[s]}", "type", "image");
  assert_false(events_match(f, e));
  json_decref(f);
  json_decref(e);
}

static void test_log_opts(void **state) {
  (void)state;
  int64_t n;
  assert_int_equal(ctr_log_parse_size("10m", &n), 0);
  assert_int_equal(n, 10LL << 20);
  assert_int_equal(ctr_log_parse_size("1k", &n), 0);
  assert_int_equal(n, 1024);
  assert_int_equal(ctr_log_parse_size("2GB", &n), 0);
  assert_int_equal(n, 2LL << 30);
  assert_int_equal(ctr_log_parse_size("100", &n), 0);
  assert_int_equal(n, 100);
  assert_int_equal(ctr_log_parse_size("-1", &n), 0);
  assert_int_equal(n, 0);
  assert_int_equal(ctr_log_parse_size("10x", &n), -EINVAL);
  struct ctr_log_limits l;
  struct berth_error *err = NULL;
  assert_int_equal(ctr_log_limits(NULL, NULL, &l, &err), 0);
  assert_int_equal(l.max_size, 20LL << 20);
  assert_int_equal(l.max_file, 3);
  char *dopts[] = {"max-size=5m", "max-file=2", NULL};
  json_t *hc = json_pack("{s:{s:s, s:{s:s}}}", "LogConfig", "Type", "json-file", "Config", "max-size", "1m");
  assert_int_equal(ctr_log_limits(hc, dopts, &l, &err), 0);
  assert_int_equal(l.max_size, 1LL << 20);
  assert_int_equal(l.max_file, 2);
  json_decref(hc);
  hc = json_pack("{s:{s:{s:s}}}", "LogConfig", "Config", "colour", "blue");
  assert_int_equal(ctr_log_limits(hc, NULL, &l, &err), -EINVAL);
  berr_free(err);
  json_decref(hc);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_policy_parse), cmocka_unit_test(test_decide), cmocka_unit_test(test_backoff),
      cmocka_unit_test(test_event_filters), cmocka_unit_test(test_log_opts),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
