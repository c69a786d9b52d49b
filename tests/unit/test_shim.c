/* test_shim.c - unit tests for the shim's json-file log encoder */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "shim/logline.h"

#define T "2024-01-02T03:04:05.123456789Z"

static struct logline_stream *stream(const char *name) {
  struct logline_stream *s = calloc(1, sizeof(*s));
  s->name = name;
  s->pending = malloc(LOGLINE_MAX);
  return s;
}

static void test_encode_plain(void **state) {
  struct buf b = {0};
  logline_encode(&b, "stdout", "hello", 5, 1, T);
  assert_string_equal(b.p, "{\"log\":\"hello\\n\",\"stream\":\"stdout\",\"time\":\"" T "\"}\n");
  buf_free(&b);
}

static void test_encode_escapes(void **state) {
  struct buf b = {0};
  const char in[] = "a\"b\\c\td\re\x01\x7f\xc3\xa9\xff";
  logline_encode(&b, "stderr", in, sizeof(in) - 1, 0, T);
  assert_string_equal(b.p, "{\"log\":\"a\\\"b\\\\c\\td\\re\\u0001\x7f\xc3\xa9\xef\xbf\xbd\",\"stream\":\"stderr\","
                           "\"time\":\"" T "\"}\n");
  buf_free(&b);
}

static void test_feed_lines(void **state) {
  struct logline_stream *s = stream("stdout");
  struct buf b = {0};
  logline_feed(s, "one\n\ntwo\nthr", 12, T, &b);
  assert_string_equal(b.p, "{\"log\":\"one\\n\",\"stream\":\"stdout\",\"time\":\"" T "\"}\n"
                           "{\"log\":\"\\n\",\"stream\":\"stdout\",\"time\":\"" T "\"}\n"
                           "{\"log\":\"two\\n\",\"stream\":\"stdout\",\"time\":\"" T "\"}\n");
  assert_int_equal(s->len, 3);
  buf_reset(&b);
  logline_feed(s, "ee", 2, T, &b);
  assert_int_equal(b.len, 0);
  logline_feed(s, "\nfour", 5, T, &b);
  assert_string_equal(b.p, "{\"log\":\"three\\n\",\"stream\":\"stdout\",\"time\":\"" T "\"}\n");
  buf_reset(&b);
  logline_flush(s, T, &b);
  assert_string_equal(b.p, "{\"log\":\"four\",\"stream\":\"stdout\",\"time\":\"" T "\"}\n");
  buf_reset(&b);
  logline_flush(s, T, &b); /* nothing left */
  assert_int_equal(b.len, 0);
  buf_free(&b);
  free(s->pending);
  free(s);
}

/* count_entries: number of log entries, and how many end their text with "\n" */
static void count_entries(const char *p, int *entries, int *complete, size_t *text) {
  *entries = *complete = 0;
  *text = 0;
  for (const char *l = p; *l; l = strchr(l, '\n') + 1) {
    const char *start = l + strlen("{\"log\":\"");
    const char *end = strstr(l, "\",\"stream\"");
    (*entries)++;
    if (end - start >= 2 && end[-2] == '\\' && end[-1] == 'n') {
      (*complete)++;
      *text += (size_t)(end - start) - 2;
    } else {
      *text += (size_t)(end - start);
    }
  }
}

static void test_split_long_line(void **state) {
  /* like Docker: 40000 bytes and "\n" are 16384 + 16384 (partial) + 7232 "\n" */
  struct logline_stream *s = stream("stdout");
  struct buf b = {0};
  size_t n = 40000;
  char *data = malloc(n + 1);
  memset(data, 'x', n);
  data[n] = '\n';
  logline_feed(s, data, 1000, T, &b); /* held back in pieces too */
  logline_feed(s, data + 1000, n + 1 - 1000, T, &b);
  int entries, complete;
  size_t text;
  count_entries(b.p, &entries, &complete, &text);
  assert_int_equal(entries, 3);
  assert_int_equal(complete, 1);
  assert_int_equal(text, n);
  assert_int_equal(s->len, 0);
  const char *second = strchr(b.p, '\n') + 1;
  assert_int_equal(strstr(b.p, "\",\"stream\"") - b.p - 8, LOGLINE_MAX);
  assert_int_equal(strstr(second, "\",\"stream\"") - second - 8, LOGLINE_MAX);
  free(data);
  buf_free(&b);
  free(s->pending);
  free(s);
}

static void test_exact_buffer(void **state) {
  /* a line of exactly 16384 bytes fills the buffer: partial entry, then an empty line */
  struct logline_stream *s = stream("stderr");
  struct buf b = {0};
  char *data = malloc(LOGLINE_MAX + 1);
  memset(data, 'y', LOGLINE_MAX);
  data[LOGLINE_MAX] = '\n';
  logline_feed(s, data, LOGLINE_MAX + 1, T, &b);
  int entries, complete;
  size_t text;
  count_entries(b.p, &entries, &complete, &text);
  assert_int_equal(entries, 2);
  assert_int_equal(complete, 1);
  assert_int_equal(text, LOGLINE_MAX);
  buf_reset(&b);
  /* one byte less is a single complete line */
  logline_feed(s, data + 1, LOGLINE_MAX, T, &b);
  count_entries(b.p, &entries, &complete, &text);
  assert_int_equal(entries, 1);
  assert_int_equal(complete, 1);
  free(data);
  buf_free(&b);
  free(s->pending);
  free(s);
}

static void test_utf8_across_chunks(void **state) {
  /* a multibyte character split between two reads must stay whole when the line completes */
  struct logline_stream *s = stream("stdout");
  struct buf b = {0};
  logline_feed(s, "caf\xc3", 4, T, &b);
  logline_feed(s, "\xa9\n", 2, T, &b);
  assert_string_equal(b.p, "{\"log\":\"caf\xc3\xa9\\n\",\"stream\":\"stdout\",\"time\":\"" T "\"}\n");
  buf_free(&b);
  free(s->pending);
  free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_encode_plain),     cmocka_unit_test(test_encode_escapes),
      cmocka_unit_test(test_feed_lines),       cmocka_unit_test(test_split_long_line),
      cmocka_unit_test(test_exact_buffer),     cmocka_unit_test(test_utf8_across_chunks),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
