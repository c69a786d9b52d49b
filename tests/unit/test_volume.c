/* test_volume.c - -v parsing (vol_bind_parse) and the mounts a container gets in its OCI spec */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "common/fs.h"
#include "common/xalloc.h"
#include "daemon/daemon.h"
#include "daemon/volumes.h"
#include <errno.h>
#include "runtime/spec.h"

static void parse_ok(const char *spec, const char *src, const char *dst, bool is_volume, bool rw, const char *prop) {
  struct vol_bind b;
  struct berth_error *err = NULL;
  assert_int_equal(vol_bind_parse(spec, &b, &err), 0);
  if (src) assert_string_equal(b.src, src);
  else assert_null(b.src);
  assert_string_equal(b.dst, dst);
  assert_int_equal(b.is_volume, is_volume);
  assert_int_equal(b.rw, rw);
  if (prop) assert_string_equal(b.propagation, prop);
  else assert_null(b.propagation);
  vol_bind_clear(&b);
}

static void parse_bad(const char *spec, const char *want) {
  struct vol_bind b;
  struct berth_error *err = NULL;
  assert_true(vol_bind_parse(spec, &b, &err) < 0);
  assert_non_null(strstr(berr_msg(err), want));
  berr_free(err);
}

static void test_parse(void **state) {
  (void)state;
  parse_ok("/webapp", NULL, "/webapp", true, true, NULL);
  parse_ok("/src/webapp:/opt/webapp", "/src/webapp", "/opt/webapp", false, true, "rprivate");
  parse_ok("/src/webapp/:/opt/webapp/:ro", "/src/webapp", "/opt/webapp", false, false, "rprivate");
  parse_ok("/h:/c:ro,rshared", "/h", "/c", false, false, "rshared");
  parse_ok("/h:/c:rw,z", "/h", "/c", false, true, "rprivate");
  parse_ok("data:/var/lib/data", "data", "/var/lib/data", true, true, NULL);
  parse_ok("data:/d:ro,nocopy", "data", "/d", true, false, NULL);
  parse_ok("/data:ro", NULL, "/data", true, false, NULL);
  parse_bad("/h:relative", "mount path must be absolute");
  parse_bad("/h:/", "destination can't be '/'");
  parse_bad("/h:/c:ro,rw", "invalid mode");
  parse_bad("/h:/c:bogus", "invalid mode");
  parse_bad("/a:/b:ro:x", "invalid volume specification");
  parse_bad("/h:/c:nocopy", "invalid mode");
  parse_bad("", "invalid volume specification");
}

/* a bind over /etc/hosts replaces berth's own; ro becomes an option; parents mount first */
static void test_spec(void **state) {
  (void)state;
  char tmpl[] = "/tmp/test_volume.XXXXXX";
  assert_non_null(mkdtemp(tmpl));
  const char *mounts = "[{\"Type\":\"bind\",\"Source\":\"/h/x\",\"Destination\":\"/data/x\",\"Mode\":\"\",\"RW\":true,"
                       "\"Propagation\":\"rprivate\"},"
                       "{\"Type\":\"bind\",\"Source\":\"/h/hosts\",\"Destination\":\"/etc/hosts\",\"Mode\":\"ro\","
                       "\"RW\":false,\"Propagation\":\"rprivate\"},"
                       "{\"Type\":\"bind\",\"Source\":\"/h\",\"Destination\":\"/data\",\"Mode\":\"\",\"RW\":true,"
                       "\"Propagation\":\"rslave\"}]";
  _cleanup_free_ char *p = path_join(tmpl, "mounts.json");
  struct berth_error *err = NULL;
  assert_int_equal(write_file_atomic(p, mounts, strlen(mounts), 0600, 0, &err), 0);
  json_t *spec = json_pack("{s:[{s:s, s:s, s:s}]}", "mounts", "destination", "/etc/hosts", "type", "bind", "source",
                           "/ctr/hosts");
  assert_int_equal(vol_spec_apply(spec, tmpl, &err), 0);
  json_t *m = json_object_get(spec, "mounts");
  assert_int_equal(json_array_size(m), 3);
  assert_string_equal(json_string_value(json_object_get(json_array_get(m, 0), "destination")), "/data");
  assert_string_equal(json_string_value(json_array_get(json_object_get(json_array_get(m, 0), "options"), 1)), "rslave");
  assert_string_equal(json_string_value(json_object_get(json_array_get(m, 1), "destination")), "/data/x");
  assert_string_equal(json_string_value(json_object_get(json_array_get(m, 2), "destination")), "/etc/hosts");
  assert_string_equal(json_string_value(json_object_get(json_array_get(m, 2), "source")), "/h/hosts");
  json_t *opts = json_object_get(json_array_get(m, 2), "options");
  assert_string_equal(json_string_value(json_array_get(opts, 2)), "ro");
  json_t *insp = vol_mounts_json(tmpl);
  assert_int_equal(json_array_size(insp), 3);
  json_decref(insp);
  json_decref(spec);
  rm_rf(tmpl, NULL);
  /* no mounts.json: nothing to do, Mounts is [] */
  json_t *empty = vol_mounts_json("/nonexistent");
  assert_int_equal(json_array_size(empty), 0);
  json_decref(empty);
}

/* the volume store on a real database: create (named, anonymous, again), get, list, remove, prune */
static void test_store(void **state) {
  (void)state;
  char tmpl[] = "/tmp/test_volume.XXXXXX";
  assert_non_null(mkdtemp(tmpl));
  struct daemon d = {0};
  d.cfg.data_root = tmpl;
  _cleanup_free_ char *db = path_join(tmpl, "berth.db");
  struct berth_error *err = NULL;
  assert_int_equal(store_open(db, &d.store, &err), 0);
  json_t *v = NULL;
  assert_int_equal(vol_create(&d, "data1", NULL, NULL, &v, &err), 0);
  assert_string_equal(json_string_value(json_object_get(v, "Driver")), "local");
  _cleanup_free_ char *mp = path_join(tmpl, "volumes/data1/_data");
  assert_string_equal(json_string_value(json_object_get(v, "Mountpoint")), mp);
  assert_int_equal(access(mp, F_OK), 0);
  json_decref(v);
  assert_int_equal(vol_create(&d, "data1", NULL, NULL, NULL, &err), 0); /* again: fine */
  assert_int_equal(vol_create(&d, NULL, NULL, NULL, &v, &err), 0);
  assert_int_equal(strlen(json_string_value(json_object_get(v, "Name"))), 64);
  assert_non_null(json_object_get(json_object_get(v, "Labels"), "com.docker.volume.anonymous"));
  json_decref(v);
  assert_int_equal(vol_create(&d, "bad/name", NULL, NULL, NULL, &err), -EINVAL);
  berr_clear(&err);
  assert_int_equal(vol_list(&d, &v, &err), 0);
  assert_int_equal(json_array_size(v), 2);
  json_decref(v);
  /* label filters: all=true with label=keep! matches none, label!=keep takes data1 and the other */
  json_t *lab = json_pack("{s:s}", "keep", "yes");
  assert_int_equal(vol_create(&d, "labelled", lab, NULL, NULL, &err), 0);
  json_decref(lab);
  json_t *with = json_pack("[s]", "keep=no"), *without = json_pack("[s]", "keep");
  assert_int_equal(vol_prune(&d, true, with, NULL, &v, &err), 0);
  assert_int_equal(json_array_size(json_object_get(v, "VolumesDeleted")), 0);
  json_decref(v);
  assert_int_equal(vol_prune(&d, false, NULL, without, &v, &err), 0); /* the anonymous one only */
  assert_int_equal(json_array_size(json_object_get(v, "VolumesDeleted")), 1);
  json_decref(v);
  assert_int_equal(vol_get(&d, "labelled", &v, &err), 0); /* label! kept it */
  json_decref(v);
  json_decref(with);
  json_decref(without);
  assert_int_equal(vol_remove(&d, "labelled", false, &err), 0);
  assert_int_equal(vol_get(&d, "nosuch", &v, &err), -ENOENT);
  assert_non_null(strstr(berr_msg(err), "no such volume"));
  berr_clear(&err);
  assert_int_equal(vol_remove(&d, "nosuch", true, &err), 0);
  assert_int_equal(vol_remove(&d, "data1", false, &err), 0);
  assert_int_equal(access(mp, F_OK), -1);
  store_close(d.store);
  rm_rf(tmpl, NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_parse), cmocka_unit_test(test_spec),
                                     cmocka_unit_test(test_store)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
