/* test_storage.c - graph drivers: selection, layers, container mounts, a 125-layer overlay chain
 * (runs as root: it mounts) */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "common/fs.h"
#include "common/xalloc.h"
#include "storage/storage.h"
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *make_root(void) {
  char *d = xstrdup("/var/tmp/berth-storage-test-XXXXXX");
  assert_non_null(mkdtemp(d));
  return d;
}

static void write_text(const char *dir, const char *name, const char *text) {
  _cleanup_free_ char *p = path_join(dir, name);
  assert_int_equal(write_file_atomic(p, text, strlen(text), 0644, 0, NULL), 0);
}

static char *read_text(const char *dir, const char *name) {
  _cleanup_free_ char *p = path_join(dir, name);
  char *out = NULL;
  if (read_file(p, &out, NULL, NULL) < 0) return NULL;
  return out;
}

static char *chain(int i) { return xasprintf("sha256:%064x", i + 1); }

/* make_layer: layer i holds "f<i>" and "common" = "<i>"; committed as chain(i) */
static void make_layer(struct storage *s, int i, const char *parent) {
  _cleanup_free_ char *tmp = NULL;
  struct berth_error *err = NULL;
  assert_int_equal(storage_layer_begin(s, parent, &tmp, &err), 0);
  char name[32], text[32];
  snprintf(name, sizeof(name), "f%d", i);
  snprintf(text, sizeof(text), "%d", i);
  write_text(tmp, name, text);
  write_text(tmp, "common", text);
  _cleanup_free_ char *id = chain(i);
  assert_int_equal(storage_layer_commit(s, tmp, id, &err), 0);
  assert_true(storage_layer_exists(s, id));
}

static void check_chain(const char *driver, int n) {
  _cleanup_free_ char *root = make_root();
  struct storage *s = NULL;
  struct berth_error *err = NULL;
  int r = storage_open(root, driver, &s, &err);
  if (r < 0) fail_msg("storage_open %s: %s", driver, berr_msg(err));
  /* the overlay driver answers to "overlay" and shows Docker's name for it */
  assert_string_equal(storage_driver_name(s), strcmp(driver, "overlay") == 0 ? "overlay2" : driver);
  char **ids = xcalloc((size_t)n + 1, sizeof(char *));
  for (int i = 0; i < n; i++) {
    ids[i] = chain(i);
    make_layer(s, i, i ? ids[i - 1] : NULL);
  }
  _cleanup_free_ char *ctr = path_join(root, "containers/c1");
  r = storage_container_create(s, ctr, ids, &err);
  if (r < 0) fail_msg("create: %s", berr_msg(err));
  r = storage_container_mount(s, ctr, ids, &err);
  if (r < 0) fail_msg("mount %d layers: %s", n, berr_msg(err));
  assert_int_equal(storage_container_mount(s, ctr, ids, &err), 0); /* idempotent */
  _cleanup_free_ char *rootfs = path_join(ctr, "rootfs");
  _cleanup_free_ char *top = read_text(rootfs, "common");
  char want[32];
  snprintf(want, sizeof(want), "%d", n - 1);
  assert_non_null(top);
  assert_string_equal(top, want);
  _cleanup_free_ char *f0 = read_text(rootfs, "f0");
  assert_non_null(f0);
  assert_string_equal(f0, "0");
  /* the container's writes stay in the container */
  write_text(rootfs, "new", "x");
  _cleanup_free_ char *layer_top = storage_layer_path(s, ids[n - 1]);
  _cleanup_free_ char *leak = read_text(layer_top, "new");
  assert_null(leak);
  json_t *gd = storage_graph_driver_json(s, ctr, ids);
  assert_string_equal(json_string_value(json_object_get(gd, "Name")), storage_driver_name(s));
  json_decref(gd);
  assert_int_equal(storage_container_umount(s, ctr, &err), 0);
  assert_int_equal(storage_container_umount(s, ctr, &err), 0); /* not mounted is fine */
  assert_int_equal(storage_container_remove(s, ctr, &err), 0);
  char **listed = NULL;
  assert_int_equal(storage_layer_list(s, &listed, &err), 0);
  size_t cnt = 0;
  while (listed[cnt]) cnt++;
  assert_int_equal(cnt, (size_t)n);
  for (int i = 0; i < n; i++) {
    assert_int_equal(storage_layer_remove(s, ids[i], &err), 0);
    assert_false(storage_layer_exists(s, ids[i]));
    free(ids[i]);
    free(listed[i]);
  }
  free(listed);
  free(ids);
  storage_close(s);
  assert_int_equal(rm_rf(root, NULL), 0);
}

static void test_overlay_two(void **state) { check_chain("overlay", 2); }
static void test_overlay_125(void **state) { check_chain("overlay", 125); }
static void test_vfs_three(void **state) { check_chain("vfs", 3); }

static void test_auto_and_backing(void **state) {
  _cleanup_free_ char *root = make_root();
  struct storage *s = NULL;
  struct berth_error *err = NULL;
  assert_int_equal(storage_open(root, NULL, &s, &err), 0);
  const char *d = storage_driver_name(s);
  assert_true(strcmp(d, "overlay2") == 0 || strcmp(d, "vfs") == 0);
  assert_true(storage_backing_fs(s)[0] != '\0');
  storage_close(s);
  assert_int_equal(storage_open(root, "btrfs", &s, &err), -EINVAL);
  berr_clear(&err);
  assert_int_equal(rm_rf(root, NULL), 0);
}

static void test_abort_and_leftovers(void **state) {
  _cleanup_free_ char *root = make_root();
  struct storage *s = NULL;
  struct berth_error *err = NULL;
  assert_int_equal(storage_open(root, "overlay", &s, &err), 0);
  _cleanup_free_ char *tmp = NULL, *tmp2 = NULL;
  assert_int_equal(storage_layer_begin(s, NULL, &tmp, &err), 0);
  storage_layer_abort(s, tmp);
  assert_int_not_equal(access(tmp, F_OK), 0);
  assert_int_equal(storage_layer_begin(s, NULL, &tmp2, &err), 0); /* "crash": left behind */
  assert_int_equal(storage_layer_commit(s, tmp2, "sha256:../../etc", &err), -EINVAL);
  berr_clear(&err);
  assert_int_equal(storage_layer_begin(s, "sha256:nothex", &tmp, &err), -EINVAL);
  berr_clear(&err);
  storage_close(s);
  assert_int_equal(storage_open(root, "overlay", &s, &err), 0); /* reopening removes it */
  assert_int_not_equal(access(tmp2, F_OK), 0);
  storage_close(s);
  assert_int_equal(rm_rf(root, NULL), 0);
}

int main(void) {
  if (geteuid() != 0) {
    fprintf(stderr, "test_storage needs root (mounts): skipped\n");
    return 77;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_auto_and_backing), cmocka_unit_test(test_overlay_two),
      cmocka_unit_test(test_overlay_125),      cmocka_unit_test(test_vfs_three),
      cmocka_unit_test(test_abort_and_leftovers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
