/* test_health.c - the health check rules: create-time checks, the merge with the image's
 * HEALTHCHECK, the probe command, the state machine (retries, start period, log of 5) and Go's
 * duration text; and the rules of `update` (ctr_update_merge) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "common/xalloc.h"
#include "daemon/daemon.h"
#include "daemon/health.h"

#define S INT64_C(1000000000)

static json_t *j(const char *text) {
  json_t *v = json_loads(text, 0, NULL);
  assert_non_null(v);
  return v;
}

static void check_msg(const char *hc_text, const char *want) {
  json_t *hc = j(hc_text);
  struct berth_error *err = NULL;
  int r = health_config_check(hc, &err);
  if (!want) {
    assert_int_equal(r, 0);
  } else {
    assert_true(r < 0);
    assert_string_equal(berr_msg(err), want);
  }
  berr_free(err);
  json_decref(hc);
}

static void test_check(void **state) {
  (void)state;
  check_msg("{\"Test\":[\"CMD-SHELL\",\"true\"],\"Interval\":1000000}", NULL);
  check_msg("{\"Test\":[\"NONE\"]}", NULL);
  check_msg("{\"Interval\":999}", "Interval in Healthcheck cannot be less than 1ms");
  check_msg("{\"Timeout\":-5}", "Timeout in Healthcheck cannot be less than 1ms");
  check_msg("{\"StartPeriod\":10}", "StartPeriod in Healthcheck cannot be less than 1ms");
  check_msg("{\"Retries\":-1}", "Retries in Healthcheck cannot be negative");
  check_msg("{\"Test\":\"true\"}", "invalid JSON: Healthcheck.Test must be a list of strings");
}

static void test_merge(void **state) {
  (void)state;
  json_t *img = j("{\"Test\":[\"CMD\",\"/ok\"],\"Interval\":5000000000,\"Retries\":7}");
  json_t *user = j("{\"Interval\":2000000000}");
  json_t *m = health_config_merge(user, img);
  /* the container's non-zero fields win, the image fills the rest */
  assert_string_equal(json_string_value(json_array_get(json_object_get(m, "Test"), 1)), "/ok");
  assert_int_equal(json_integer_value(json_object_get(m, "Interval")), 2000000000);
  assert_int_equal(json_integer_value(json_object_get(m, "Retries")), 7);
  json_decref(m);
  m = health_config_merge(NULL, img);
  assert_true(json_equal(m, img));
  json_decref(m);
  assert_null(health_config_merge(NULL, NULL));
  json_t *none = j("{\"Test\":[\"NONE\"]}");
  m = health_config_merge(none, img);
  assert_string_equal(json_string_value(json_array_get(json_object_get(m, "Test"), 0)), "NONE");
  json_decref(m);
  json_decref(none);
  json_decref(user);
  json_decref(img);
}

static void test_parse(void **state) {
  (void)state;
  struct health_config c;
  json_t *hc = j("{\"Test\":[\"CMD-SHELL\",\"exit 1\"]}");
  health_config_parse(hc, &c);
  assert_non_null(c.argv);
  assert_string_equal(c.argv[0], "/bin/sh");
  assert_string_equal(c.argv[1], "-c");
  assert_string_equal(c.argv[2], "exit 1");
  assert_null(c.argv[3]);
  assert_true(c.interval_ns == 30 * S && c.timeout_ns == 30 * S && c.start_period_ns == 0);
  assert_int_equal(c.retries, 3);
  health_config_clear(&c);
  json_decref(hc);
  hc = j("{\"Test\":[\"CMD\",\"/bin/check\",\"-v\"],\"Interval\":1000000000,\"Retries\":1}");
  health_config_parse(hc, &c);
  assert_string_equal(c.argv[0], "/bin/check");
  assert_string_equal(c.argv[1], "-v");
  assert_true(c.interval_ns == S);
  assert_int_equal(c.retries, 1);
  health_config_clear(&c);
  json_decref(hc);
  static const char *const none[] = {"{\"Test\":[\"NONE\"]}", "{\"Test\":[]}", "{}", "{\"Test\":[\"CMD\"]}",
                                     "{\"Test\":[\"BOGUS\",\"x\"]}"};
  for (size_t i = 0; i < ARRAY_SIZE(none); i++) {
    hc = j(none[i]);
    health_config_parse(hc, &c);
    assert_null(c.argv);
    json_decref(hc);
  }
  health_config_parse(NULL, &c);
  assert_null(c.argv);
}

static struct health_result result(int64_t start, int code, const char *out) {
  return (struct health_result){start, start + 1000, code, xstrdup(out)};
}

static void test_state_machine(void **state) {
  (void)state;
  struct health_config c = {.interval_ns = S, .timeout_ns = S, .start_period_ns = 10 * S, .retries = 2};
  struct health_state s = {.status = HEALTH_STARTING};
  int64_t t0 = 1000 * S;
  /* failures inside the start period, while starting, do not count */
  struct health_result r = result(t0 + S, 1, "no");
  assert_false(health_apply(&s, &c, t0, &r));
  assert_int_equal(s.failing_streak, 0);
  assert_int_equal(s.status, HEALTH_STARTING);
  /* after it, they do: unhealthy at the retries-th */
  r = result(t0 + 11 * S, 1, "no");
  assert_false(health_apply(&s, &c, t0, &r));
  assert_int_equal(s.failing_streak, 1);
  r = result(t0 + 12 * S, 1, "no");
  assert_true(health_apply(&s, &c, t0, &r));
  assert_int_equal(s.status, HEALTH_UNHEALTHY);
  /* one success: healthy, streak reset */
  r = result(t0 + 13 * S, 0, "ok");
  assert_true(health_apply(&s, &c, t0, &r));
  assert_int_equal(s.status, HEALTH_HEALTHY);
  assert_int_equal(s.failing_streak, 0);
  /* a healthy container fails within the start period: counts (it is not starting any more) */
  c.start_period_ns = 100 * S;
  r = result(t0 + 14 * S, -1, "timeout");
  assert_false(health_apply(&s, &c, t0, &r));
  assert_int_equal(s.failing_streak, 1);
  assert_int_equal(s.status, HEALTH_HEALTHY);
  /* the log keeps the last five, oldest first */
  for (int i = 0; i < 3; i++) {
    r = result(t0 + (20 + i) * S, 0, "later");
    health_apply(&s, &c, t0, &r);
  }
  assert_int_equal(s.nlog, HEALTH_LOG_MAX);
  assert_int_equal(s.log[0].exit_code, 0);
  assert_true(s.log[0].start_ns == t0 + 13 * S);
  assert_int_equal(s.log[1].exit_code, -1);
  assert_string_equal(s.log[4].output, "later");
  health_state_clear(&s);
}

static void test_json_roundtrip(void **state) {
  (void)state;
  struct health_config c = {.retries = 3};
  struct health_state s = {.status = HEALTH_STARTING};
  struct health_result r = result(1700000000 * S + 5, 0, "fine\n");
  health_apply(&s, &c, 0, &r);
  json_t *js = health_state_json(&s);
  assert_string_equal(json_string_value(json_object_get(js, "Status")), "healthy");
  json_t *e = json_array_get(json_object_get(js, "Log"), 0);
  assert_string_equal(json_string_value(json_object_get(e, "Output")), "fine\n");
  assert_string_equal(json_string_value(json_object_get(e, "Start")), "2023-11-14T22:13:20.000000005Z");
  struct health_state back = {0};
  health_state_load(js, &back);
  assert_int_equal(back.status, HEALTH_HEALTHY);
  assert_int_equal(back.nlog, 1);
  assert_true(back.log[0].start_ns == 1700000000 * S + 5);
  assert_string_equal(back.log[0].output, "fine\n");
  json_decref(js);
  health_state_clear(&s);
  health_state_clear(&back);
  assert_string_equal(health_status_name(HEALTH_NONE), "none");
  assert_string_equal(health_status_name(HEALTH_UNHEALTHY), "unhealthy");
}

static void test_go_duration(void **state) {
  (void)state;
  static const struct {
    int64_t ns;
    const char *text;
  } t[] = {{0, "0s"},           {30 * S, "30s"},         {90 * S, "1m30s"},        {3600 * S, "1h0m0s"},
           {1500000000, "1.5s"}, {500000000, "500ms"},   {1500000, "1.5ms"},       {2000, "2µs"},
           {999, "999ns"},       {3661 * S + 1, "1h1m1.000000001s"}};
  for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
    char buf[64];
    health_go_duration(t[i].ns, buf, sizeof(buf));
    assert_string_equal(buf, t[i].text);
  }
}

/* update: merge body over hc; want NULL for success, else the message */
static json_t *update(const char *hc_text, const char *body, bool running, const char *want) {
  json_t *hc = j(hc_text), *up = j(body), *warnings = json_array();
  struct berth_error *err = NULL;
  int r = ctr_update_merge(hc, up, running, false, warnings, &err);
  if (want) {
    assert_true(r < 0);
    assert_string_equal(berr_msg(err), want);
  } else {
    assert_int_equal(r, 0);
  }
  berr_free(err);
  json_decref(up);
  json_decref(warnings);
  return hc;
}

static void test_update_rules(void **state) {
  (void)state;
  /* zeros leave values alone; the rest replaces them */
  json_t *hc = update("{\"Memory\":104857600,\"MemorySwap\":209715200,\"CpuShares\":0}",
                      "{\"Memory\":0,\"CpuShares\":512,\"CpusetCpus\":\"\",\"PidsLimit\":null}", true, NULL);
  assert_int_equal(json_integer_value(json_object_get(hc, "Memory")), 104857600);
  assert_int_equal(json_integer_value(json_object_get(hc, "CpuShares")), 512);
  json_decref(hc);
  json_decref(update("{\"Memory\":104857600,\"MemorySwap\":209715200}", "{\"Memory\":314572800}", true,
                     "Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time"));
  json_decref(update("{}", "{\"Memory\":209715200,\"MemorySwap\":104857600}", true,
                     "Minimum memoryswap limit should be larger than memory limit, see usage"));
  json_decref(update("{\"NanoCpus\":500000000}", "{\"CpuQuota\":50000}", false,
                     "Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set"));
  json_decref(update("{}", "{\"KernelMemory\":10485760}", true,
                     "Can not update kernel memory to a running container, please stop it first."));
  json_decref(update("{\"AutoRemove\":true}", "{\"RestartPolicy\":{\"Name\":\"always\"}}", false,
                     "Restart policy cannot be updated because AutoRemove is enabled for the container"));
  json_decref(update("{}", "{\"BlkioWeight\":5}", false, "Range of blkio weight is from 10 to 1000"));
  /* a restart policy and unlimited pids (-1 is stored as null) */
  hc = update("{\"PidsLimit\":50}", "{\"RestartPolicy\":{\"Name\":\"on-failure\",\"MaximumRetryCount\":3},\"PidsLimit\":-1}",
              false, NULL);
  assert_true(json_is_null(json_object_get(hc, "PidsLimit")));
  assert_string_equal(json_string_value(json_object_get(json_object_get(hc, "RestartPolicy"), "Name")), "on-failure");
  json_decref(hc);
  /* no blkio weight in this kernel: dropped, with Docker's warning */
  json_t *warnings = json_array();
  hc = j("{}");
  json_t *up = j("{\"BlkioWeight\":300}");
  assert_int_equal(ctr_update_merge(hc, up, false, false, warnings, NULL), 0);
  assert_int_equal(json_integer_value(json_object_get(hc, "BlkioWeight")), 0);
  assert_int_equal(json_array_size(warnings), 1);
  json_decref(hc);
  json_decref(up);
  json_decref(warnings);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_check),         cmocka_unit_test(test_merge),          cmocka_unit_test(test_parse),
      cmocka_unit_test(test_state_machine), cmocka_unit_test(test_json_roundtrip), cmocka_unit_test(test_go_duration),
      cmocka_unit_test(test_update_rules),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
