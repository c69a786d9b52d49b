/* test_daemon.c - unit tests of berthd's pure parts: routes, version prefix, create merging,
 * ps Status text, signal names, and container lookup by id, name and prefix */
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

static const char *route_of(const char *method, const char *path, struct req *r) {
  const struct route *rt = NULL;
  int rc = route_find(method, path, r, &rt);
  if (rc == -ENOENT) return "404";
  if (rc < 0) return "405";
  return rt->pattern;
}

static void test_routes(void **state) {
  struct req r = {0};
  assert_string_equal(route_of("GET", "/_ping", &r), "/_ping");
  assert_string_equal(route_of("HEAD", "/_ping", &r), "/_ping");
  assert_string_equal(route_of("POST", "/containers/abc/start", &r), "/containers/{id}/start");
  assert_string_equal(req_param(&r, "id"), "abc");
  assert_string_equal(route_of("DELETE", "/containers/abc", &r), "/containers/{id}");
  assert_string_equal(req_param(&r, "id"), "abc");
  assert_string_equal(route_of("GET", "/containers/json", &r), "/containers/json");
  assert_string_equal(route_of("GET", "/images/learn/tutorial/json", &r), "/images/{name*}/json");
  assert_string_equal(req_param(&r, "name"), "learn/tutorial");
  assert_string_equal(route_of("POST", "/images/localhost:5000/a/b:1/tag", &r), "/images/{name*}/tag");
  assert_string_equal(req_param(&r, "name"), "localhost:5000/a/b:1");
  assert_string_equal(route_of("GET", "/nope", &r), "404");
  assert_string_equal(route_of("GET", "/containers/abc/start", &r), "405");
  /* empty segments are dropped, as a cleaned path */
  assert_string_equal(route_of("GET", "/images//json", &r), "/images/json");
  req_clear_params(&r);
}

static void test_version_prefix(void **state) {
  char *v = NULL, *rest = NULL;
  struct berth_error *err = NULL;
  assert_int_equal(route_split_version("/v1.41/containers/json", &v, &rest, &err), 0);
  assert_string_equal(v, "1.41");
  assert_string_equal(rest, "/containers/json");
  free(v);
  free(rest);
  assert_int_equal(route_split_version("/_ping", &v, &rest, &err), 0);
  assert_null(v);
  assert_string_equal(rest, "/_ping");
  free(rest);
  assert_int_equal(route_split_version("/v1.24/info", &v, &rest, &err), 0);
  free(v);
  free(rest);
  assert_int_equal(route_split_version("/v1.99/info", &v, &rest, &err), -EINVAL);
  assert_non_null(strstr(err->msg, "too new"));
  berr_clear(&err);
  assert_int_equal(route_split_version("/v1.5/info", &v, &rest, &err), -EINVAL);
  assert_non_null(strstr(err->msg, "too old"));
  berr_clear(&err);
  /* "/volumes" is not a version */
  assert_int_equal(route_split_version("/volumes", &v, &rest, &err), 0);
  assert_null(v);
  assert_string_equal(rest, "/volumes");
  free(rest);
}

static void test_create_merge(void **state) {
  json_t *img = json_loads("{\"Env\":[\"PATH=/bin\",\"A=1\"],\"Cmd\":[\"sh\"],\"Entrypoint\":null,"
                           "\"WorkingDir\":\"/w\",\"Labels\":{\"x\":\"1\"}}",
                           0, NULL);
  json_t *body = json_loads("{\"Image\":\"busybox\",\"Env\":[\"A=2\",\"B=3\"],\"Labels\":{\"y\":\"2\"},"
                            "\"HostConfig\":{\"LogConfig\":{\"Type\":\"\",\"Config\":{}}}}",
                            0, NULL);
  struct ctr_create cc;
  struct berth_error *err = NULL;
  assert_int_equal(ctr_create_parse(body, img, "0123456789ab", &cc, &err), 0);
  assert_string_equal(cc.path, "sh");
  assert_int_equal(json_array_size(cc.args), 0);
  json_t *env = json_object_get(cc.config, "Env");
  assert_int_equal(json_array_size(env), 3);
  assert_string_equal(json_string_value(json_array_get(env, 1)), "A=2");
  assert_string_equal(json_string_value(json_object_get(cc.config, "Hostname")), "0123456789ab");
  assert_string_equal(json_string_value(json_object_get(cc.config, "WorkingDir")), "/w");
  assert_int_equal(json_object_size(json_object_get(cc.config, "Labels")), 2);
  assert_string_equal(
      json_string_value(json_object_get(json_object_get(cc.host_config, "RestartPolicy"), "Name")), "no");
  assert_string_equal(json_string_value(json_object_get(cc.host_config, "NetworkMode")), "default");
  /* the CLI sends LogConfig {"Type": ""}: Docker's default stays */
  assert_string_equal(
      json_string_value(json_object_get(json_object_get(cc.host_config, "LogConfig"), "Type")), "json-file");
  ctr_create_clear(&cc);
  json_decref(body);

  /* a Cmd keeps the image's Entrypoint; an Entrypoint drops the image's Cmd */
  json_t *img2 = json_loads("{\"Cmd\":[\"x\"],\"Entrypoint\":[\"/ep\"]}", 0, NULL);
  body = json_loads("{\"Image\":\"i\",\"Cmd\":[\"a\",\"b\"],\"Hostname\":\"web.example.com\"}", 0, NULL);
  assert_int_equal(ctr_create_parse(body, img2, "0123456789ab", &cc, &err), 0);
  assert_string_equal(cc.path, "/ep");
  assert_int_equal(json_array_size(cc.args), 2);
  assert_string_equal(json_string_value(json_object_get(cc.config, "Hostname")), "web.example.com");
  ctr_create_clear(&cc);
  json_decref(body);
  body = json_loads("{\"Image\":\"i\",\"Entrypoint\":[\"/other\"]}", 0, NULL);
  assert_int_equal(ctr_create_parse(body, img2, "0123456789ab", &cc, &err), 0);
  assert_string_equal(cc.path, "/other");
  assert_int_equal(json_array_size(cc.args), 0);
  ctr_create_clear(&cc);
  json_decref(body);

  /* errors: no image, no command, unsupported HostConfig */
  body = json_loads("{\"Cmd\":[\"a\"]}", 0, NULL);
  assert_int_equal(ctr_create_parse(body, img, "x", &cc, &err), -EINVAL);
  berr_clear(&err);
  json_decref(body);
  body = json_loads("{\"Image\":\"i\"}", 0, NULL);
  assert_int_equal(ctr_create_parse(body, NULL, "x", &cc, &err), -EINVAL);
  assert_string_equal(err->msg, "No command specified");
  berr_clear(&err);
  json_decref(body);
  body = json_loads("{\"Image\":\"i\",\"Cmd\":[\"a\"],\"HostConfig\":{\"DeviceRequests\":[{\"Count\":1}]}}", 0, NULL);
  assert_int_equal(ctr_create_parse(body, NULL, "x", &cc, &err), -ENOTSUP);
  assert_non_null(strstr(err->msg, "not supported yet"));
  berr_clear(&err);
  json_decref(body);
  json_decref(img);
  json_decref(img2);
}

static void test_status_text(void **state) {
  struct store_container c = {0};
  char buf[128];
  int64_t now = 1700000000LL * 1000000000LL;
  c.status = "created";
  c.started_at = "0001-01-01T00:00:00Z";
  c.finished_at = "0001-01-01T00:00:00Z";
  ctr_status_text(&c, now, buf, sizeof(buf));
  assert_string_equal(buf, "Created");
  c.status = "running";
  c.started_at = "2023-11-14T22:13:15Z"; /* now - 5 s */
  ctr_status_text(&c, now, buf, sizeof(buf));
  assert_string_equal(buf, "Up 5 seconds");
  c.status = "exited";
  c.exit_code = 3;
  c.finished_at = "2023-11-14T22:13:17Z";
  ctr_status_text(&c, now, buf, sizeof(buf));
  assert_string_equal(buf, "Exited (3) 3 seconds ago");
  c.finished_at = "2023-11-14T22:13:19.9Z";
  ctr_status_text(&c, now, buf, sizeof(buf));
  assert_string_equal(buf, "Exited (3) Less than a second ago");
}

static void test_signals(void **state) {
  assert_int_equal(signal_parse("SIGKILL"), 9);
  assert_int_equal(signal_parse("term"), 15);
  assert_int_equal(signal_parse("1"), 1);
  assert_int_equal(signal_parse("SIGNOPE"), -EINVAL);
  assert_int_equal(signal_parse(""), -EINVAL);
}

static void add_ctr(struct store *s, const char *id, const char *name) {
  struct store_container c = {0};
  struct berth_error *err = NULL;
  snprintf(c.id, sizeof(c.id), "%s", id);
  c.name = (char *)name;
  c.image_id = "sha256:img";
  c.image_ref = "busybox";
  c.path = "sh";
  assert_int_equal(store_container_insert(s, &c, NULL, &err), 0);
}

static void test_lookup(void **state) {
  char dir[] = "/tmp/test_daemon.XXXXXX";
  assert_non_null(mkdtemp(dir));
  _cleanup_free_ char *db = path_join(dir, "berth.db");
  struct store *s = NULL;
  struct berth_error *err = NULL;
  assert_int_equal(store_open(db, &s, &err), 0);
  sqlite3 *conn = store_acquire(s);
  /* the containers table references images: one image row to point at */
  assert_int_equal(store_exec(conn, "INSERT INTO images(id, config) VALUES('sha256:img', '{}')", &err), 0);
  store_release(s, conn);
  add_ctr(s, "aaaa1111", "web");
  add_ctr(s, "aaaa2222", "db");
  add_ctr(s, "bbbb3333", "aaaa2222"); /* a name that looks like another's id */
  char owner[65] = "";
  struct store_container dup = {.id = "cccc", .name = "web", .image_id = "sha256:img", .image_ref = "b", .path = "x"};
  assert_int_equal(store_container_insert(s, &dup, owner, &err), -EEXIST);
  assert_string_equal(owner, "aaaa1111");
  berr_clear(&err);

  struct store_container *c = NULL;
  assert_int_equal(store_container_find(s, "web", &c, &err), 0);
  assert_string_equal(c->id, "aaaa1111");
  store_container_free(c);
  assert_int_equal(store_container_find(s, "/db", &c, &err), 0);
  assert_string_equal(c->id, "aaaa2222");
  store_container_free(c);
  /* a full id wins over a name */
  assert_int_equal(store_container_find(s, "aaaa2222", &c, &err), 0);
  assert_string_equal(c->id, "aaaa2222");
  store_container_free(c);
  assert_int_equal(store_container_find(s, "bbb", &c, &err), 0);
  assert_string_equal(c->name, "aaaa2222");
  store_container_free(c);
  /* ambiguous prefix and unknown are both 404 */
  assert_int_equal(store_container_find(s, "aaaa", &c, &err), -ENOENT);
  assert_string_equal(err->msg, "No such container: aaaa");
  berr_clear(&err);
  assert_int_equal(store_container_find(s, "zz", &c, &err), -ENOENT);
  berr_clear(&err);

  assert_int_equal(store_container_set_running(s, "aaaa1111", 42, "2024-01-01T00:00:00Z", &err), 0);
  assert_int_equal(store_container_get(s, "aaaa1111", &c, &err), 0);
  assert_string_equal(c->status, "running");
  assert_int_equal(c->pid, 42);
  store_container_free(c);
  assert_int_equal(store_container_set_exited(s, "aaaa1111", 7, "2024-01-01T00:00:01Z", "", &err), 0);
  struct store_container **list = NULL;
  assert_int_equal(store_container_list(s, &list, &err), 0);
  size_t n = 0;
  while (list[n]) n++;
  assert_int_equal(n, 3);
  store_container_list_free(list);
  assert_int_equal(store_container_delete(s, "aaaa1111", &err), 0);
  assert_int_equal(store_container_get(s, "aaaa1111", &c, &err), -ENOENT);
  berr_clear(&err);
  store_close(s);
  rm_rf(dir, NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_routes),      cmocka_unit_test(test_version_prefix), cmocka_unit_test(test_create_merge),
      cmocka_unit_test(test_status_text), cmocka_unit_test(test_signals),        cmocka_unit_test(test_lookup),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
