/* test_store.c - store core: schema creation, pool, transactions, constraint errors */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "common/fs.h"
#include "common/xalloc.h"
#include "store/store.h"

static char dir[64];

static int setup(void **state) {
  strcpy(dir, "/tmp/berth-store-XXXXXX");
  if (!mkdtemp(dir)) return -1;
  return 0;
}
static int teardown(void **state) { return rm_rf(dir, NULL); }

static void test_open_and_reopen(void **state) {
  _cleanup_free_ char *path = path_join(dir, "berth.db");
  struct store *s = NULL;
  assert_int_equal(store_open(path, &s, NULL), 0);
  sqlite3 *db = store_acquire(s);
  assert_non_null(db);
  assert_int_equal(store_exec(db, "SELECT count(*) FROM containers", NULL), 0);
  store_release(s, db);
  store_close(s);
  /* opening again keeps the data and does not fail on the existing schema */
  assert_int_equal(store_open(path, &s, NULL), 0);
  store_close(s);
}

static void test_pool_and_tx(void **state) {
  _cleanup_free_ char *path = path_join(dir, "pool.db");
  struct store *s = NULL;
  struct berth_error *err = NULL;
  assert_int_equal(store_open(path, &s, NULL), 0);
  sqlite3 *a = store_acquire(s), *b = store_acquire(s);
  assert_non_null(a);
  assert_non_null(b);
  assert_ptr_not_equal(a, b);
  assert_int_equal(store_begin(a, NULL), 0);
  assert_int_equal(store_exec(a, "INSERT INTO meta(key, value) VALUES('k', 'v')", NULL), 0);
  store_rollback(a);
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(b, "SELECT count(*) FROM meta WHERE key = 'k'", -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  assert_int_equal(sqlite3_column_int(st, 0), 0); /* rolled back */
  sqlite3_finalize(st);
  assert_int_equal(store_exec(a, "INSERT INTO meta(key, value) VALUES('k', 'v')", NULL), 0);
  int rc = sqlite3_exec(b, "INSERT INTO meta(key, value) VALUES('k', 'w')", NULL, NULL, NULL);
  assert_int_equal(store_sqlite_err(b, rc, "insert", &err), -EEXIST);
  assert_non_null(strstr(err->msg, "insert"));
  berr_clear(&err);
  /* a connection released mid-transaction is rolled back, not returned dirty */
  assert_int_equal(store_begin(a, NULL), 0);
  store_release(s, a);
  store_release(s, b);
  sqlite3 *c = store_acquire(s);
  assert_true(sqlite3_get_autocommit(c));
  store_release(s, c);
  store_close(s);
}

static void test_bad_path(void **state) {
  struct store *s = NULL;
  struct berth_error *err = NULL;
  assert_true(store_open("/nonexistent-dir/x/berth.db", &s, &err) < 0);
  assert_non_null(strstr(err->msg, "/nonexistent-dir/x/berth.db"));
  berr_clear(&err);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_open_and_reopen), cmocka_unit_test(test_pool_and_tx), cmocka_unit_test(test_bad_path)};
  return cmocka_run_group_tests(tests, setup, teardown);
}
