/* test_image.c - references, chain ids, --change parsing, layer extraction (whiteouts and every
 * escape attempt, with tars made here by libarchive's writer), import and lookup (root) */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "common/fs.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "image/image_int.h"
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

/* ---------- references ---------- */

static void test_reference(void **state) {
  static const struct {
    const char *in, *out;
  } ok[] = {
      {"busybox", "busybox:latest"},
      {"busybox:1.36", "busybox:1.36"},
      {"library/busybox", "busybox:latest"},
      {"docker.io/library/x:1", "x:1"},
      {"index.docker.io/library/x", "x:latest"},
      {"docker.io/foo/bar", "foo/bar:latest"},
      {"localhost:5000/a/b", "localhost:5000/a/b:latest"},
      {"localhost/a", "localhost/a:latest"},
      {"registry.example.com/team/app:v1.2-rc_3", "registry.example.com/team/app:v1.2-rc_3"},
      {"my-app__x/z--w.y", "my-app__x/z--w.y:latest"},
      {"127.0.0.1:5000/img:tag", "127.0.0.1:5000/img:tag"},
      /* digest references: familiar name, no tag (a tag beside a digest is not part of the key) */
      {"busybox@sha256:abababababababababababababababababababababababababababababababab", "busybox@sha256:abababababababababababababababababababababababababababababababab"},
      {"docker.io/library/busybox:1@sha256:abababababababababababababababababababababababababababababababab", "busybox@sha256:abababababababababababababababababababababababababababababababab"},
      {"localhost:5000/a/b@sha256:abababababababababababababababababababababababababababababababab", "localhost:5000/a/b@sha256:abababababababababababababababababababababababababababababababab"},
  };
  for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
    char *out = NULL;
    struct berth_error *err = NULL;
    int r = reference_normalize(ok[i].in, &out, &err);
    if (r < 0) fail_msg("%s: %s", ok[i].in, berr_msg(err));
    assert_string_equal(out, ok[i].out);
    free(out);
  }
  static const char *const bad[] = {"a@sha256:" "zz", "a@md5:" "00", "a@sha256:abababababababababababababababababababababababababababababababab@sha256:abababababababababababababababababababababababababababababababab", "@sha256:abababababababababababababababababababababababababababababababab",
                                    "",       "Busybox", "a:",        "a:-x",    ":tag",        "a//b",
                                    "a/",     "-a",      "a..b",      "a_-b",    "a@sha256:00", "x/UPPER:y",
                                    "a:b:c",  "a b",     "host:99x/a",
                                    "0123456789012345678901234567890123456789012345678901234567890123"};
  for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
    char *out = NULL;
    struct berth_error *err = NULL;
    int r = reference_normalize(bad[i], &out, &err);
    if (r != -EINVAL) fail_msg("\"%s\" accepted as %s", bad[i], out);
    assert_non_null(err);
    berr_free(err);
  }
  struct berth_error *err = NULL;
  char *out = NULL;
  assert_int_equal(reference_normalize("Busybox", &out, &err), -EINVAL);
  assert_string_equal(err->msg, "invalid reference format: repository name must be lowercase");
  berr_free(err);
}

static void test_chain_id(void **state) {
  char a[72], b[72], out[72];
  snprintf(a, sizeof(a), "sha256:%064d", 0);
  memset(a + 7, 'a', 64);
  memcpy(b, a, sizeof(b));
  memset(b + 7, 'b', 64);
  image_chain_id(NULL, a, out);
  assert_string_equal(out, a);
  image_chain_id(a, b, out);
  assert_string_equal(out, "sha256:ccd722928bd92476ba1745586fed6e45a102504185ad88cd89e01ff116fd146c");
}

/* ---------- --change ---------- */

static json_t *apply(const char *const *changes, int expect) {
  json_t *c = image_default_config();
  struct berth_error *err = NULL;
  int r = image_apply_changes(c, (char *const *)changes, &err);
  if (r != expect) fail_msg("changes: got %d (%s)", r, berr_msg(err));
  berr_free(err);
  return c;
}

static void assert_json(json_t *j, const char *want) {
  json_t *w = json_loads(want, JSON_DECODE_ANY, NULL);
  assert_non_null(w);
  if (!json_equal(j, w)) {
    char *got = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
    fail_msg("got %s want %s", got, want);
  }
  json_decref(w);
}

static void test_changes(void **state) {
  const char *const c1[] = {"CMD [\"a\",\"b\"]", "ENV A=1 B=\"x y\"", "ENV PATH /usr/bin:/bin",
                            "ENV A=2", "EXPOSE 80 53/udp 8000-8001/TCP", "LABEL k=v \"x y\"=z",
                            "USER nobody", "WORKDIR /w", "WORKDIR sub", "VOLUME [\"/data\"]",
                            "VOLUME /a /b", "STOPSIGNAL SIGTERM", NULL};
  json_t *c = apply(c1, 0);
  assert_json(json_object_get(c, "Cmd"), "[\"a\",\"b\"]");
  assert_json(json_object_get(c, "Env"), "[\"A=2\",\"B=x y\",\"PATH=/usr/bin:/bin\"]");
  assert_json(json_object_get(c, "ExposedPorts"), "{\"80/tcp\":{},\"53/udp\":{},\"8000/tcp\":{},\"8001/tcp\":{}}");
  assert_json(json_object_get(c, "Labels"), "{\"k\":\"v\",\"x y\":\"z\"}");
  assert_json(json_object_get(c, "User"), "\"nobody\"");
  assert_json(json_object_get(c, "WorkingDir"), "\"/w/sub\"");
  assert_json(json_object_get(c, "Volumes"), "{\"/data\":{},\"/a\":{},\"/b\":{}}");
  assert_json(json_object_get(c, "StopSignal"), "\"SIGTERM\"");
  assert_json(json_object_get(c, "Entrypoint"), "null");
  json_decref(c);

  const char *const c2[] = {"cmd echo hi there", "ENTRYPOINT [\"/bin/tini\"]", NULL};
  c = apply(c2, 0);
  assert_json(json_object_get(c, "Cmd"), "[\"/bin/sh\",\"-c\",\"echo hi there\"]"); /* CMD came first: kept */
  assert_json(json_object_get(c, "Entrypoint"), "[\"/bin/tini\"]");
  json_decref(c);
  const char *const c3[] = {"ENTRYPOINT top -b", NULL};
  c = apply(c3, 0);
  assert_json(json_object_get(c, "Entrypoint"), "[\"/bin/sh\",\"-c\",\"top -b\"]");
  assert_json(json_object_get(c, "Cmd"), "null");
  assert_json(json_object_get(c, "Env"), "null"); /* no ENV: stays null like Docker's import */
  json_decref(c);

  static const char *const bad[] = {"RUN echo", "FROM x", "EXPOSE 99999", "EXPOSE 80/xyz", "ENV", "ENV A",
                                    "LABEL =x", "CMD", "ENV A=\"unterminated", ""};
  for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
    const char *one[] = {bad[i], NULL};
    json_decref(apply(one, -EINVAL));
  }
  /* Dockerfile expansion against the Env before each instruction (checked against dockerd 20.10) */
  const char *const c4[] = {"env A=1", "ENV B=$A C=${A}x D=${NOPE:-dflt} E=\\$A F='$A' G=\"$A q\"",
                            "ENV A=2 H=$A", "LABEL l=$B \"a b\"=\"c $Z d\"", "EXPOSE $A", "WORKDIR /w$A",
                            "USER u$A", "VOLUME /v$A", "ENV I=${A:+set} J=${Z:+set}x", "ENV K $A  y", NULL};
  c = apply(c4, 0);
  assert_json(json_object_get(c, "Env"), "[\"A=2\",\"B=1\",\"C=1x\",\"D=dflt\",\"E=$A\",\"F=$A\",\"G=1 q\","
                                         "\"H=1\",\"I=set\",\"J=x\",\"K=2  y\"]");
  assert_json(json_object_get(c, "Labels"), "{\"l\":\"1\",\"a b\":\"c  d\"}");
  assert_json(json_object_get(c, "ExposedPorts"), "{\"2/tcp\":{}}");
  assert_json(json_object_get(c, "WorkingDir"), "\"/w2\"");
  assert_json(json_object_get(c, "User"), "\"u2\"");
  assert_json(json_object_get(c, "Volumes"), "{\"/v2\":{}}");
  json_decref(c);
  const char *const c5[] = {"HEALTHCHECK --interval=5s --retries=3 CMD curl x", "ONBUILD RUN x", NULL};
  c = apply(c5, 0);
  assert_json(json_object_get(c, "Healthcheck"), "{\"Test\":[\"CMD-SHELL\",\"curl x\"],\"Interval\":5000000000,"
                                                 "\"Retries\":3}");
  assert_json(json_object_get(c, "OnBuild"), "[\"RUN x\"]");
  json_decref(c);
  const char *const c6[] = {"HEALTHCHECK --timeout=1m30s --start-period=500ms CMD [\"a\",\"b\"]", NULL};
  c = apply(c6, 0);
  assert_json(json_object_get(c, "Healthcheck"), "{\"Test\":[\"CMD\",\"a\",\"b\"],\"Timeout\":90000000000,"
                                                 "\"StartPeriod\":500000000}");
  json_decref(c);
  const char *const c7[] = {"HEALTHCHECK NONE", NULL};
  c = apply(c7, 0);
  assert_json(json_object_get(c, "Healthcheck"), "{\"Test\":[\"NONE\"]}");
  json_decref(c);
  static const struct {
    const char *change, *msg;
  } errs[] = {{"SHELL [\"/bin/bash\"]", "shell is not a valid change command"},
              {"HEALTHCHECK --interval=0 CMD x", "Interval \"interval\" cannot be less than 1ms"},
              {"HEALTHCHECK --bogus=1 CMD x", "Unknown flag: bogus"},
              {"HEALTHCHECK --retries=-1 CMD x", "--retries must be at least 1 (not -1)"},
              {"HEALTHCHECK NONE x", "HEALTHCHECK NONE takes no arguments"},
              {"HEALTHCHECK FOO x", "Unknown type \"FOO\" in HEALTHCHECK (try CMD)"},
              {"HEALTHCHECK --interval=abc CMD x", "time: invalid duration \"abc\""},
              {"HEALTHCHECK CMD", "Missing command after HEALTHCHECK CMD"},
              {"ONBUILD ONBUILD x", "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"}};
  for (size_t i = 0; i < ARRAY_SIZE(errs); i++) {
    json_t *cf = image_default_config();
    struct berth_error *e = NULL;
    const char *ch[] = {errs[i].change, NULL};
    assert_int_equal(image_apply_changes(cf, (char *const *)ch, &e), -EINVAL);
    assert_string_equal(e->msg, errs[i].msg);
    berr_free(e);
    json_decref(cf);
  }

  json_t *cfg = image_default_config();
  struct berth_error *err = NULL;
  const char *one[] = {"RUN echo", NULL};
  assert_int_equal(image_apply_changes(cfg, (char *const *)one, &err), -EINVAL);
  assert_string_equal(err->msg, "run is not a valid change command");
  berr_free(err);
  json_decref(cfg);
}

/* ---------- prune filters ---------- */

static void test_prune_filter(void **state) {
  struct image_prune_filter f;
  struct berth_error *err = NULL;
  json_t *j = json_loads("{\"until\":[\"2024-01-02T00:00:00Z\"],\"label\":[\"a\",\"b=1\"],\"label!\":{\"c\":true}}",
                         0, NULL);
  assert_int_equal(image_prune_filter_parse(j, false, &f, &err), 0);
  json_decref(j);
  int64_t day = 1704153600LL * 1000000000; /* 2024-01-02 */
  json_t *l1 = json_loads("{\"a\":\"x\",\"b\":\"1\"}", 0, NULL), *l2 = json_loads("{\"a\":\"x\",\"b\":\"2\"}", 0, NULL);
  json_t *l3 = json_loads("{\"a\":\"\",\"b\":\"1\",\"c\":\"z\"}", 0, NULL);
  assert_true(image_prune_filter_match(&f, day - 1, l1));
  assert_false(image_prune_filter_match(&f, day, l1));  /* until: created before it */
  assert_false(image_prune_filter_match(&f, day - 1, l2)); /* b=1 wanted */
  assert_false(image_prune_filter_match(&f, day - 1, l3)); /* label!=c */
  assert_false(image_prune_filter_match(&f, day - 1, NULL));
  image_prune_filter_clear(&f);
  json_decref(l1);
  json_decref(l2);
  json_decref(l3);
  static const struct {
    const char *json;
    bool images;
    const char *msg;
  } bad[] = {{"{\"bogus\":[\"1\"]}", false, "Invalid filter 'bogus'"},
             {"{\"dangling\":[\"true\"]}", false, "Invalid filter 'dangling'"},
             {"{\"dangling\":[\"maybe\"]}", true, "invalid filter 'dangling=maybe'"},
             {"{\"until\":[\"xyz\"]}", true, "failed to parse value as time or duration: \"xyz\""}};
  for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
    j = json_loads(bad[i].json, 0, NULL);
    assert_int_equal(image_prune_filter_parse(j, bad[i].images, &f, &err), -EINVAL);
    assert_string_equal(err->msg, bad[i].msg);
    berr_clear(&err);
    image_prune_filter_clear(&f);
    json_decref(j);
  }
  /* durations count back from now; Unix times and dates are absolute */
  static const char *const good[] = {"{\"until\":[\"1h30m\"]}", "{\"until\":[\"1700000000.5\"]}",
                                     "{\"until\":[\"2024-01-02\"]}", "{\"dangling\":[\"false\"]}"};
  for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
    j = json_loads(good[i], 0, NULL);
    assert_int_equal(image_prune_filter_parse(j, true, &f, &err), 0);
    if (i == 2) assert_int_equal(f.until_ns, day);
    if (i == 3) assert_int_equal(f.dangling, 0);
    image_prune_filter_clear(&f);
    json_decref(j);
  }
}

/* ---------- tars ---------- */

struct tent {
  const char *path;
  mode_t type;      /* AE_IFREG ...; 0 = hard link to `data` */
  const char *data; /* file content, symlink target or hard link target */
  mode_t mode;
  unsigned rmajor, rminor;
  const char *xattr; /* "name=value" */
};

/* tar_read: an archive reading the tar made of entries (memory held in *mem) */
static struct archive *tar_read(const struct tent *ents, size_t n, void **mem) {
  size_t cap = 1 << 20, used = 0;
  *mem = xmalloc(cap);
  struct archive *w = archive_write_new();
  archive_write_set_format_pax_restricted(w);
  archive_write_add_filter_none(w);
  assert_int_equal(archive_write_open_memory(w, *mem, cap, &used), ARCHIVE_OK);
  for (size_t i = 0; i < n; i++) {
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, ents[i].path);
    archive_entry_set_mtime(e, 1000000000, 0);
    archive_entry_set_uid(e, 1234);
    archive_entry_set_gid(e, 5678);
    if (ents[i].type == 0) {
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_hardlink(e, ents[i].data);
    } else {
      archive_entry_set_filetype(e, ents[i].type);
      if (ents[i].type == AE_IFLNK) archive_entry_set_symlink(e, ents[i].data);
      if (ents[i].type == AE_IFREG && ents[i].data) archive_entry_set_size(e, (la_int64_t)strlen(ents[i].data));
      if (ents[i].type == AE_IFCHR || ents[i].type == AE_IFBLK) {
        archive_entry_set_rdevmajor(e, ents[i].rmajor);
        archive_entry_set_rdevminor(e, ents[i].rminor);
      }
    }
    archive_entry_set_perm(e, ents[i].mode ? ents[i].mode : (ents[i].type == AE_IFDIR ? 0755 : 0644));
    if (ents[i].xattr) {
      const char *eq = strchr(ents[i].xattr, '=');
      _cleanup_free_ char *name = xstrndup(ents[i].xattr, (size_t)(eq - ents[i].xattr));
      archive_entry_xattr_add_entry(e, name, eq + 1, strlen(eq + 1));
    }
    assert_int_equal(archive_write_header(w, e), ARCHIVE_OK);
    if (ents[i].type == AE_IFREG && ents[i].data) archive_write_data(w, ents[i].data, strlen(ents[i].data));
    archive_entry_free(e);
  }
  archive_write_close(w);
  archive_write_free(w);
  struct archive *r = archive_read_new();
  archive_read_support_format_tar(r);
  assert_int_equal(archive_read_open_memory(r, *mem, used), ARCHIVE_OK);
  return r;
}

struct sandbox {
  char *base;  /* base/layer is extracted into; base/outside must stay untouched */
  char *layer;
  int fd;
};

static void sandbox_make(struct sandbox *sb) {
  sb->base = xstrdup("/var/tmp/berth-layer-test-XXXXXX");
  assert_non_null(mkdtemp(sb->base));
  sb->layer = path_join(sb->base, "layer");
  assert_int_equal(mkdir(sb->layer, 0755), 0);
  sb->fd = open(sb->layer, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  assert_true(sb->fd >= 0);
}

static void sandbox_drop(struct sandbox *sb) {
  close(sb->fd);
  assert_int_equal(rm_rf(sb->base, NULL), 0);
  free(sb->base);
  free(sb->layer);
}

static int apply_tar(struct sandbox *sb, const struct tent *ents, size_t n, enum layer_whiteout wh,
                     struct berth_error **err) {
  void *mem;
  struct archive *a = tar_read(ents, n, &mem);
  int64_t size = -1;
  int r = layer_apply_tar(sb->fd, a, wh, &size, err);
  archive_read_free(a);
  free(mem);
  return r;
}

static int lstat_in(struct sandbox *sb, const char *rel, struct stat *st) {
  return fstatat(sb->fd, rel, st, AT_SYMLINK_NOFOLLOW);
}

static char *read_in(struct sandbox *sb, const char *rel) {
  char *out = NULL;
  return read_file_at(sb->fd, rel, &out, NULL, NULL) == 0 ? out : NULL;
}

/* only "layer" may exist in base: anything else is an escape */
static void assert_contained(struct sandbox *sb) {
  _cleanup_closedir_ DIR *d = opendir(sb->base);
  struct dirent *de;
  while ((de = readdir(d)))
    if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && strcmp(de->d_name, "layer"))
      fail_msg("escaped: %s/%s", sb->base, de->d_name);
}

static void test_layer_basic(void **state) {
  const struct tent ents[] = {
      {"./", AE_IFDIR, NULL, 0755, 0, 0, NULL},
      {"etc/", AE_IFDIR, NULL, 0750, 0, 0, NULL},
      {"etc/hosts", AE_IFREG, "127.0.0.1 localhost\n", 0600, 0, 0, "user.test=yes"},
      {"bin/tool", AE_IFREG, "#!x", 04755, 0, 0, NULL},
      {"bin/alias", 0, "bin/tool", 0, 0, 0, NULL},
      {"bin/sh", AE_IFLNK, "/bin/busybox", 0777, 0, 0, NULL},
      {"dev/null", AE_IFCHR, NULL, 0666, 1, 3, NULL},
      {"run/fifo", AE_IFIFO, NULL, 0600, 0, 0, NULL},
      {"empty", AE_IFREG, NULL, 0644, 0, 0, "trusted.overlay.redirect=/x"},
  };
  struct sandbox sb;
  sandbox_make(&sb);
  struct berth_error *err = NULL;
  void *mem;
  struct archive *a = tar_read(ents, ARRAY_SIZE(ents), &mem);
  int64_t size = -1;
  int r = layer_apply_tar(sb.fd, a, LAYER_WHITEOUT_OVERLAY, &size, &err);
  archive_read_free(a);
  free(mem);
  if (r < 0) fail_msg("apply: %s", berr_msg(err));
  assert_int_equal(size, (int64_t)(strlen("127.0.0.1 localhost\n") + 3));
  struct stat st;
  assert_int_equal(lstat_in(&sb, "etc/hosts", &st), 0);
  assert_int_equal(st.st_mode & 07777, 0600);
  assert_int_equal(st.st_uid, 1234);
  assert_int_equal(st.st_gid, 5678);
  assert_int_equal(st.st_mtime, 1000000000);
  assert_int_equal(lstat_in(&sb, "etc", &st), 0);
  assert_int_equal(st.st_mode & 07777, 0750);
  assert_int_equal(st.st_mtime, 1000000000); /* set after its children */
  char val[16] = {0};
  _cleanup_free_ char *hosts = path_join(sb.layer, "etc/hosts");
  assert_int_equal(getxattr(hosts, "user.test", val, sizeof(val)), 3);
  assert_string_equal(val, "yes");
  _cleanup_free_ char *empty = path_join(sb.layer, "empty");
  assert_true(lgetxattr(empty, "trusted.overlay.redirect", val, sizeof(val)) < 0); /* refused */
  assert_int_equal(lstat_in(&sb, "bin/tool", &st), 0);
  assert_int_equal(st.st_mode & 07777, 04755); /* set-uid survives chown */
  assert_int_equal(st.st_nlink, 2);
  assert_int_equal(lstat_in(&sb, "bin/sh", &st), 0);
  assert_true(S_ISLNK(st.st_mode));
  assert_int_equal(lstat_in(&sb, "dev/null", &st), 0);
  assert_true(S_ISCHR(st.st_mode));
  assert_int_equal(major(st.st_rdev), 1);
  assert_int_equal(minor(st.st_rdev), 3);
  assert_int_equal(lstat_in(&sb, "run/fifo", &st), 0);
  assert_true(S_ISFIFO(st.st_mode));
  sandbox_drop(&sb);
}

static void test_layer_whiteouts(void **state) {
  const struct tent lower[] = {
      {"a/", AE_IFDIR, NULL, 0755, 0, 0, NULL}, {"a/old", AE_IFREG, "1", 0644, 0, 0, NULL},
      {"b/", AE_IFDIR, NULL, 0755, 0, 0, NULL}, {"b/keep", AE_IFREG, "1", 0644, 0, 0, NULL},
      {"b/gone", AE_IFREG, "1", 0644, 0, 0, NULL}, {"c/", AE_IFDIR, NULL, 0755, 0, 0, NULL},
  };
  const struct tent upper[] = {
      {"a/", AE_IFDIR, NULL, 0755, 0, 0, NULL},       {"a/.wh..wh..opq", AE_IFREG, NULL, 0644, 0, 0, NULL},
      {"a/new", AE_IFREG, "2", 0644, 0, 0, NULL},     {"b/.wh.gone", AE_IFREG, NULL, 0644, 0, 0, NULL},
      {".wh.c", AE_IFREG, NULL, 0644, 0, 0, NULL},    {"x/.wh..wh.plnk", AE_IFREG, NULL, 0644, 0, 0, NULL},
  };
  struct berth_error *err = NULL;
  struct stat st;
  /* overlay: whiteouts are stored for the kernel */
  struct sandbox sb;
  sandbox_make(&sb);
  assert_int_equal(apply_tar(&sb, upper, ARRAY_SIZE(upper), LAYER_WHITEOUT_OVERLAY, &err), 0);
  assert_int_equal(lstat_in(&sb, "b/gone", &st), 0);
  assert_true(S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0));
  assert_int_equal(lstat_in(&sb, "c", &st), 0);
  assert_true(S_ISCHR(st.st_mode));
  char v[4] = {0};
  _cleanup_free_ char *a_dir = path_join(sb.layer, "a");
  assert_int_equal(getxattr(a_dir, "trusted.overlay.opaque", v, sizeof(v)), 1);
  assert_int_equal(v[0], 'y');
  assert_int_not_equal(lstat_in(&sb, "a/.wh..wh..opq", &st), 0);
  sandbox_drop(&sb);
  /* vfs: applied to a copy of the lower layer by deleting */
  sandbox_make(&sb);
  assert_int_equal(apply_tar(&sb, lower, ARRAY_SIZE(lower), LAYER_WHITEOUT_DELETE, &err), 0);
  assert_int_equal(apply_tar(&sb, upper, ARRAY_SIZE(upper), LAYER_WHITEOUT_DELETE, &err), 0);
  assert_int_not_equal(lstat_in(&sb, "a/old", &st), 0);
  assert_int_equal(lstat_in(&sb, "a/new", &st), 0);
  assert_int_equal(lstat_in(&sb, "b/keep", &st), 0);
  assert_int_not_equal(lstat_in(&sb, "b/gone", &st), 0);
  assert_int_not_equal(lstat_in(&sb, "c", &st), 0);
  sandbox_drop(&sb);
}

static void test_layer_escapes(void **state) {
  struct stat passwd_before, st;
  assert_int_equal(stat("/etc/passwd", &passwd_before), 0);
  const struct tent ents[] = {
      {"/abs", AE_IFREG, "abs", 0644, 0, 0, NULL},
      {"rootlink", AE_IFLNK, "/", 0777, 0, 0, NULL},
      {"rootlink/outside", AE_IFREG, "via-link", 0644, 0, 0, NULL},
      {"uplink", AE_IFLNK, "../../../..", 0777, 0, 0, NULL},
      {"uplink/outside2", AE_IFREG, "via-up", 0644, 0, 0, NULL},
      {"dirlink", AE_IFLNK, "..", 0777, 0, 0, NULL},
      {"dirlink/z/deeper", AE_IFREG, "mkdir-through-link", 0644, 0, 0, NULL},
      {"rootlink", AE_IFREG, "replaced", 0644, 0, 0, NULL}, /* replaces the link, not its target */
  };
  struct sandbox sb;
  sandbox_make(&sb);
  struct berth_error *err = NULL;
  int r = apply_tar(&sb, ents, ARRAY_SIZE(ents), LAYER_WHITEOUT_OVERLAY, &err);
  if (r < 0) fail_msg("apply: %s", berr_msg(err));
  assert_contained(&sb);
  static const struct {
    const char *path, *content;
  } inside[] = {{"abs", "abs"}, {"outside", "via-link"},
                {"outside2", "via-up"}, {"z/deeper", "mkdir-through-link"}, {"rootlink", "replaced"}};
  for (size_t i = 0; i < ARRAY_SIZE(inside); i++) {
    _cleanup_free_ char *c = read_in(&sb, inside[i].path);
    if (!c) fail_msg("%s missing in the layer", inside[i].path);
    assert_string_equal(c, inside[i].content);
  }
  assert_int_not_equal(stat("/outside", &st), 0);
  assert_int_not_equal(stat("/outside2", &st), 0);
  sandbox_drop(&sb);

  /* ".." above the root is a breakout: refused with an error, like Docker, nothing written */
  static const char *const ups[] = {"../x", "a/../../../y"};
  for (size_t i = 0; i < ARRAY_SIZE(ups); i++) {
    const struct tent up[] = {{"ok", AE_IFREG, "fine", 0644, 0, 0, NULL}, {ups[i], AE_IFREG, "up", 0644, 0, 0, NULL}};
    sandbox_make(&sb);
    err = NULL;
    assert_true(apply_tar(&sb, up, ARRAY_SIZE(up), LAYER_WHITEOUT_OVERLAY, &err) < 0);
    assert_non_null(strstr(berr_msg(err), "outside"));
    berr_free(err);
    assert_int_not_equal(lstat_in(&sb, "x", &st), 0);
    assert_int_not_equal(lstat_in(&sb, "y", &st), 0);
    assert_contained(&sb);
    sandbox_drop(&sb);
  }

  /* hard links must name something inside: /etc/passwd is not */
  static const char *const targets[] = {"/etc/passwd", "../../../../etc/passwd", "etc/passwd"};
  for (size_t i = 0; i < ARRAY_SIZE(targets); i++) {
    const struct tent hl[] = {{"rootlink", AE_IFLNK, "/", 0777, 0, 0, NULL}, {"pw", 0, targets[i], 0, 0, 0, NULL}};
    sandbox_make(&sb);
    err = NULL;
    assert_true(apply_tar(&sb, hl, ARRAY_SIZE(hl), LAYER_WHITEOUT_OVERLAY, &err) < 0);
    assert_non_null(err);
    berr_free(err);
    assert_int_not_equal(lstat_in(&sb, "pw", &st), 0);
    assert_contained(&sb);
    sandbox_drop(&sb);
  }
  /* through a symlink to / the link resolves inside the layer: to the layer's own file */
  const struct tent hl2[] = {{"etc/passwd", AE_IFREG, "mine", 0644, 0, 0, NULL},
                             {"rootlink", AE_IFLNK, "/", 0777, 0, 0, NULL},
                             {"pw", 0, "rootlink/etc/passwd", 0, 0, 0, NULL}};
  sandbox_make(&sb);
  assert_int_equal(apply_tar(&sb, hl2, ARRAY_SIZE(hl2), LAYER_WHITEOUT_OVERLAY, &err), 0);
  _cleanup_free_ char *pw = read_in(&sb, "pw");
  assert_string_equal(pw, "mine");
  sandbox_drop(&sb);
  assert_int_equal(stat("/etc/passwd", &st), 0);
  assert_int_equal(st.st_nlink, passwd_before.st_nlink);
  assert_int_equal(st.st_size, passwd_before.st_size);
}

/* ---------- import, lookup, list ---------- */

struct env {
  char *root;
  struct store *st;
  struct storage *drv;
  struct image_store *is;
};

static void env_open(struct env *e, const char *driver) {
  struct berth_error *err = NULL;
  _cleanup_free_ char *db = path_join(e->root, "berth.db");
  assert_int_equal(store_open(db, &e->st, &err), 0);
  assert_int_equal(storage_open(e->root, driver, &e->drv, &err), 0);
  int r = image_store_open(e->root, e->st, e->drv, &e->is, &err);
  if (r < 0) fail_msg("image_store_open: %s", berr_msg(err));
}

static void env_close(struct env *e) {
  image_store_close(e->is);
  storage_close(e->drv);
  store_close(e->st);
}

/* gz_tar: a gzip tarball file of ents; returns an fd open on it */
static int gz_tar(struct env *e, const struct tent *ents, size_t n) {
  _cleanup_free_ char *path = path_join(e->root, "in.tar.gz");
  struct archive *w = archive_write_new();
  archive_write_set_format_pax_restricted(w);
  archive_write_add_filter_gzip(w);
  assert_int_equal(archive_write_open_filename(w, path), ARCHIVE_OK);
  for (size_t i = 0; i < n; i++) {
    struct archive_entry *en = archive_entry_new();
    archive_entry_set_pathname(en, ents[i].path);
    archive_entry_set_filetype(en, ents[i].type);
    archive_entry_set_perm(en, ents[i].mode);
    if (ents[i].data) archive_entry_set_size(en, (la_int64_t)strlen(ents[i].data));
    assert_int_equal(archive_write_header(w, en), ARCHIVE_OK);
    if (ents[i].data) archive_write_data(w, ents[i].data, strlen(ents[i].data));
    archive_entry_free(en);
  }
  archive_write_close(w);
  archive_write_free(w);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  assert_true(fd >= 0);
  return fd;
}

static void check_import(const char *driver) {
  struct env e = {0};
  e.root = xstrdup("/var/tmp/berth-image-test-XXXXXX");
  assert_non_null(mkdtemp(e.root));
  env_open(&e, driver);
  const struct tent ents[] = {{"bin/", AE_IFDIR, NULL, 0755, 0, 0, NULL},
                              {"bin/hello", AE_IFREG, "hello world\n", 0755, 0, 0, NULL}};
  int fd = gz_tar(&e, ents, ARRAY_SIZE(ents));
  struct berth_error *err = NULL;
  char *id = NULL;
  const char *changes[] = {"CMD [\"/bin/hello\"]", "ENV PATH=/bin", NULL};
  int r = image_import(e.is, fd, "test/img:1", NULL, (char *const *)changes, &id, &err);
  close(fd);
  if (r < 0) fail_msg("import: %s", berr_msg(err));
  assert_int_equal(strlen(id), 71);

  static const char *const names[] = {"test/img:1", "docker.io/test/img:1", NULL, NULL, NULL, NULL};
  _cleanup_free_ char *short_id = xstrndup(id + 7, 12);
  _cleanup_free_ char *sha_short = xstrndup(id, 7 + 5);
  const char *all_names[] = {names[0], names[1], id, id + 7, short_id, sha_short};
  for (size_t i = 0; i < ARRAY_SIZE(all_names); i++) {
    struct image *img = NULL;
    r = image_get(e.is, all_names[i], &img, &err);
    if (r < 0) fail_msg("image_get %s: %s", all_names[i], berr_msg(err));
    assert_string_equal(img->id, id);
    assert_non_null(img->chain_ids[0]);
    assert_null(img->chain_ids[1]);
    assert_true(storage_layer_exists(e.drv, img->chain_ids[0]));
    assert_json(json_object_get(json_object_get(img->config, "config"), "Cmd"), "[\"/bin/hello\"]");
    json_auto_t *hist = json_pack("[{s:O, s:s}]", "created", json_object_get(img->config, "created"), "comment",
                                  "Imported from -");
    assert_true(json_equal(json_object_get(img->config, "history"), hist));
    image_free(img);
  }
  struct image *img = NULL;
  assert_int_equal(image_get(e.is, "test/img:2", &img, &err), -ENOENT);
  assert_string_equal(err->msg, "No such image: test/img:2");
  berr_clear(&err);
  assert_int_equal(image_get(e.is, "0000000", &img, &err), -ENOENT);
  berr_clear(&err);

  /* inspect */
  json_t *j = NULL;
  assert_int_equal(image_inspect_json(e.is, "test/img:1", &j, &err), 0);
  assert_json(json_object_get(j, "RepoTags"), "[\"test/img:1\"]");
  assert_int_equal(json_integer_value(json_object_get(j, "Size")), 12);
  assert_string_equal(json_string_value(json_object_get(json_object_get(j, "GraphDriver"), "Name")),
                      strcmp(driver, "overlay") == 0 ? "overlay2" : driver);
  assert_int_equal(json_array_size(json_object_get(json_object_get(j, "RootFS"), "Layers")), 1);
  assert_string_equal(json_string_value(json_object_get(j, "Comment")), "Imported from -");
  json_decref(j);

  /* same content again under the same tag: the tag moves, the old image is <none> */
  fd = gz_tar(&e, ents, ARRAY_SIZE(ents));
  char *id2 = NULL;
  assert_int_equal(image_import(e.is, fd, "test/img:1", "second", NULL, &id2, &err), 0);
  close(fd);
  assert_string_not_equal(id, id2);
  int64_t n = 0;
  assert_int_equal(image_count(e.is, &n, &err), 0);
  assert_int_equal(n, 2);
  assert_int_equal(image_list_json(e.is, 0, &j, &err), 0);
  assert_int_equal(json_array_size(j), 2);
  size_t i;
  json_t *x;
  int none = 0;
  json_array_foreach(j, i, x) {
    const char *t = json_string_value(json_array_get(json_object_get(x, "RepoTags"), 0));
    if (strcmp(json_string_value(json_object_get(x, "Id")), id) == 0) {
      assert_string_equal(t, "<none>:<none>");
      none++;
    } else {
      assert_string_equal(t, "test/img:1");
    }
    assert_int_equal(json_integer_value(json_object_get(x, "Size")), 12);
  }
  assert_int_equal(none, 1);
  json_decref(j);
  static const struct {
    const char *filters;
    size_t n;
  } fl[] = {{"{\"dangling\":[\"true\"]}", 1}, {"{\"dangling\":{\"false\":true}}", 1},
            {"{\"reference\":[\"test/*\"]}", 1}, {"{\"reference\":[\"test/img:1\"]}", 1},
            {"{\"reference\":[\"nope\"]}", 0}, {"{\"label\":[\"k\"]}", 0}, {"{}", 2}};
  for (size_t k = 0; k < ARRAY_SIZE(fl); k++) {
    json_auto_t *f = json_loads(fl[k].filters, 0, NULL);
    assert_int_equal(image_list_json_filtered(e.is, 0, f, &j, &err), 0);
    if (json_array_size(j) != fl[k].n) fail_msg("filters %s: %zu images", fl[k].filters, json_array_size(j));
    json_decref(j);
  }
  json_auto_t *badf = json_loads("{\"bogus\":[\"1\"]}", 0, NULL);
  assert_int_equal(image_list_json_filtered(e.is, 0, badf, &j, &err), -EINVAL);
  berr_clear(&err);
  assert_int_equal(image_tag(e.is, id, "other", NULL, &err), 0);
  assert_int_equal(image_get(e.is, "other", &img, &err), 0);
  assert_string_equal(img->id, id);
  image_free(img);
  assert_int_equal(image_tag(e.is, id, "Bad", NULL, &err), -EINVAL);
  berr_clear(&err);

  /* bad input registers nothing */
  int bad = open("/etc/hostname", O_RDONLY);
  char *id3 = NULL;
  assert_true(image_import(e.is, bad, NULL, NULL, NULL, &id3, &err) < 0);
  berr_clear(&err);
  close(bad);
  const char *badchg[] = {"RUN x", NULL};
  fd = gz_tar(&e, ents, ARRAY_SIZE(ents));
  assert_int_equal(image_import(e.is, fd, NULL, NULL, (char *const *)badchg, &id3, &err), -EINVAL);
  berr_clear(&err);
  close(fd);
  assert_int_equal(image_count(e.is, &n, &err), 0);
  assert_int_equal(n, 2);

  /* ambiguous prefix: two made-up images whose ids share "abc" */
  for (int k = 0; k < 2; k++) {
    _cleanup_free_ char *fake = xasprintf("sha256:abc%d%060d", k, 0);
    struct store_image_new ni = {.id = fake, .config = "{}"};
    assert_int_equal(store_image_register(e.st, &ni, &err), 0);
  }
  assert_int_equal(image_get(e.is, "abc", &img, &err), -ENOENT);
  berr_clear(&err);
  assert_int_equal(image_get(e.is, "abc0", &img, &err), 0);
  image_free(img);
  assert_int_equal(image_prune(e.is, 0, &j, &err), 0); /* the two made-up ones are dangling */
  assert_int_equal(json_array_size(json_object_get(j, "ImagesDeleted")), 2);
  json_decref(j);
  assert_int_equal(image_count(e.is, &n, &err), 0);
  assert_int_equal(n, 2);

  /* crash leftovers: tmp files and layers no row knows go away on open */
  env_close(&e);
  _cleanup_free_ char *junk = path_join(e.root, "tmp/import-junk");
  assert_int_equal(write_file_atomic(junk, "x", 1, 0600, 0, NULL), 0);
  struct storage *drv = NULL;
  assert_int_equal(storage_open(e.root, driver, &drv, &err), 0);
  char *tmp = NULL;
  assert_int_equal(storage_layer_begin(drv, NULL, &tmp, &err), 0);
  _cleanup_free_ char *orphan = xasprintf("sha256:%064d", 7);
  assert_int_equal(storage_layer_commit(drv, tmp, orphan, &err), 0);
  free(tmp);
  assert_true(storage_layer_exists(drv, orphan));
  storage_close(drv);
  env_open(&e, driver);
  assert_int_not_equal(access(junk, F_OK), 0);
  assert_false(storage_layer_exists(e.drv, orphan));
  assert_int_equal(image_get(e.is, "test/img:1", &img, &err), 0);
  assert_true(storage_layer_exists(e.drv, img->chain_ids[0]));
  /* and the layer mounts as a container root */
  _cleanup_free_ char *ctr = path_join(e.root, "containers/c");
  assert_int_equal(storage_container_create(e.drv, ctr, img->chain_ids, &err), 0);
  r = storage_container_mount(e.drv, ctr, img->chain_ids, &err);
  if (r < 0) fail_msg("mount: %s", berr_msg(err));
  _cleanup_free_ char *hello = path_join(ctr, "rootfs/bin/hello");
  char *content = NULL;
  assert_int_equal(read_file(hello, &content, NULL, &err), 0);
  assert_string_equal(content, "hello world\n");
  free(content);
  assert_int_equal(storage_container_remove(e.drv, ctr, &err), 0);
  image_free(img);
  env_close(&e);
  free(id);
  free(id2);
  assert_int_equal(rm_rf(e.root, NULL), 0);
  free(e.root);
}

static void exec_sql(struct store *st, const char *sql) {
  sqlite3 *db = store_acquire(st);
  char *msg = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) fail_msg("%s: %s", sql, msg);
  store_release(st, db);
}

static void rmi(struct env *e, const char *name, int force, int expect, const char *want) {
  json_t *out = NULL;
  struct berth_error *err = NULL;
  int r = image_remove(e->is, name, force, &out, &err);
  if (r != expect) fail_msg("rmi %s: %d %s", name, r, berr_msg(err));
  if (r == 0) {
    char *got = json_dumps(out, JSON_COMPACT);
    if (strcmp(got, want) != 0) fail_msg("rmi %s: got %s want %s", name, got, want);
    free(got);
    json_decref(out);
  } else {
    if (strstr(err->msg, want) == NULL) fail_msg("rmi %s: message %s lacks %s", name, err->msg, want);
    berr_free(err);
  }
}

static void test_remove(void **state) {
  struct env e = {0};
  e.root = xstrdup("/var/tmp/berth-image-test-XXXXXX");
  assert_non_null(mkdtemp(e.root));
  env_open(&e, "overlay");
  const struct tent ents[] = {{"f", AE_IFREG, "x", 0644, 0, 0, NULL}};
  int fd = gz_tar(&e, ents, ARRAY_SIZE(ents));
  struct berth_error *err = NULL;
  char *id = NULL;
  assert_int_equal(image_import(e.is, fd, "a:1", NULL, NULL, &id, &err), 0);
  close(fd);
  assert_int_equal(image_tag(e.is, "a:1", "a", "2", &err), 0);
  assert_int_equal(image_tag(e.is, "a:1", "b", "1", &err), 0);
  struct image *img = NULL;
  assert_int_equal(image_get(e.is, id, &img, &err), 0);
  _cleanup_free_ char *layer = xstrdup(img->chain_ids[0]);
  image_free(img);
  rmi(&e, "a:1", 0, 0, "[{\"Untagged\":\"a:1\"}]");
  rmi(&e, id, 0, -EBUSY, "(must be forced) - image is referenced in multiple repositories");
  rmi(&e, "bz", 0, -ENOENT, "No such image: bz:latest"); /* not hex: no id prefix either */
  rmi(&e, "b:1", 0, 0, "[{\"Untagged\":\"b:1\"}]");
  _cleanup_free_ char *sql = xasprintf("INSERT INTO containers(id, name, image_id, image_ref, created_ns, path, args, "
                                       "config, host_config, status) VALUES('%064d', 'c', '%s', 'a:2', 1, 'sh', "
                                       "'[]', '{}', '{}', 'exited')", 1, id);
  exec_sql(e.st, sql);
  rmi(&e, "a:2", 0, -EBUSY, "unable to remove repository reference \"a:2\" (must force) - container 000000000000");
  rmi(&e, "a:2", 1, 0, "[{\"Untagged\":\"a:2\"}]"); /* forced: untagged, kept for the container */
  int64_t n = 0;
  assert_int_equal(image_count(e.is, &n, &err), 0);
  assert_int_equal(n, 1);
  rmi(&e, id + 7, 0, -EBUSY, "(must be forced) - image is being used by stopped container 000000000000");
  exec_sql(e.st, "UPDATE containers SET status = 'running'");
  rmi(&e, id, 1, -EBUSY, "(cannot be forced) - image is being used by running container 000000000000");
  exec_sql(e.st, "DELETE FROM containers");
  _cleanup_free_ char *want = xasprintf("[{\"Deleted\":\"%s\"},{\"Deleted\":\"%s\"}]", id, layer);
  rmi(&e, id, 0, 0, want);
  assert_int_equal(image_count(e.is, &n, &err), 0);
  assert_int_equal(n, 0);
  assert_false(storage_layer_exists(e.drv, layer));
  _cleanup_free_ char *blob = xasprintf("%s/blobs/sha256/%s", e.root, layer + 7);
  assert_int_not_equal(access(blob, F_OK), 0);
  rmi(&e, id, 0, -ENOENT, "No such image");
  free(id);
  env_close(&e);
  assert_int_equal(rm_rf(e.root, NULL), 0);
  free(e.root);
}

static void write_at(const char *dir, const char *rel, const char *text, const char *mode) {
  _cleanup_free_ char *p = path_join(dir, rel);
  FILE *f = fopen(p, mode);
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static char *json_text(json_t *j) { return json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY); }

static void check_commit(const char *driver) {
  struct env e = {0};
  e.root = xstrdup("/var/tmp/berth-image-test-XXXXXX");
  assert_non_null(mkdtemp(e.root));
  env_open(&e, driver);
  const struct tent ents[] = {{"etc/", AE_IFDIR, NULL, 0755, 0, 0, NULL},
                              {"etc/group", AE_IFREG, "root:x:0:\n", 0644, 0, 0, NULL},
                              {"etc/fixture", AE_IFREG, "fixture\n", 0644, 0, 0, NULL},
                              {"tmp/", AE_IFDIR, NULL, 01777, 0, 0, NULL},
                              {"bin/", AE_IFDIR, NULL, 0755, 0, 0, NULL},
                              {"bin/tool", AE_IFREG, "tool", 0755, 0, 0, NULL}};
  int fd = gz_tar(&e, ents, ARRAY_SIZE(ents));
  struct berth_error *err = NULL;
  char *base = NULL;
  assert_int_equal(image_import(e.is, fd, "base", NULL, NULL, &base, &err), 0);
  close(fd);
  struct image *img = NULL;
  assert_int_equal(image_get(e.is, base, &img, &err), 0);
  _cleanup_free_ char *ctr = path_join(e.root, "containers/c1");
  _cleanup_free_ char *rootfs = path_join(ctr, "rootfs");
  assert_int_equal(storage_container_create(e.drv, ctr, img->chain_ids, &err), 0);
  assert_int_equal(storage_container_mount(e.drv, ctr, img->chain_ids, &err), 0);
  write_at(rootfs, "tmp/added.txt", "new\n", "w");
  write_at(rootfs, "etc/group", "extra:\n", "a");
  _cleanup_free_ char *fixture = path_join(rootfs, "etc/fixture");
  assert_int_equal(unlink(fixture), 0);
  _cleanup_free_ char *nd = path_join(rootfs, "newdir");
  assert_int_equal(mkdir(nd, 0700), 0);
  write_at(rootfs, "newdir/f", "f", "w");
  json_t *ch = NULL;
  int r = image_container_changes(e.is, ctr, img->chain_ids, &ch, &err);
  if (r < 0) fail_msg("changes: %s", berr_msg(err));
  _cleanup_free_ char *got = json_text(ch);
  assert_string_equal(got, "[{\"Path\":\"/etc\",\"Kind\":0},{\"Path\":\"/etc/fixture\",\"Kind\":2},"
                           "{\"Path\":\"/etc/group\",\"Kind\":0},{\"Path\":\"/newdir\",\"Kind\":1},"
                           "{\"Path\":\"/newdir/f\",\"Kind\":1},{\"Path\":\"/tmp\",\"Kind\":0},"
                           "{\"Path\":\"/tmp/added.txt\",\"Kind\":1}]");
  json_decref(ch);
  json_t *ccfg = json_pack("{s:[s,s,s], s:n}", "Cmd", "/bin/sh", "-c", "echo hi", "Env");
  const char *chg[] = {"ENV A=b", NULL};
  struct image_commit_opts o = {.parent_id = base, .ctr_dir = ctr, .container_id = "c1", .config = ccfg,
                                .changes = (char *const *)chg, .comment = "add things", .author = "me",
                                .repo_tag = "committed:1"};
  char *child = NULL;
  r = image_commit(e.is, &o, &child, &err);
  if (r < 0) fail_msg("commit: %s", berr_msg(err));
  json_decref(ccfg);
  assert_int_equal(storage_container_remove(e.drv, ctr, &err), 0);
  json_t *j = NULL;
  assert_int_equal(image_inspect_json(e.is, "committed:1", &j, &err), 0);
  assert_string_equal(json_string_value(json_object_get(j, "Parent")), base);
  assert_string_equal(json_string_value(json_object_get(j, "Comment")), "add things");
  assert_string_equal(json_string_value(json_object_get(j, "Author")), "me");
  assert_string_equal(json_string_value(json_object_get(j, "Container")), "c1");
  assert_int_equal(json_array_size(json_object_get(json_object_get(j, "RootFS"), "Layers")), 2);
  assert_json(json_object_get(json_object_get(j, "Config"), "Env"), "[\"A=b\"]");
  assert_json(json_object_get(json_object_get(j, "ContainerConfig"), "Env"), "null");
  json_decref(j);
  assert_int_equal(image_history_json(e.is, "committed:1", &j, &err), 0);
  assert_int_equal(json_array_size(j), 2);
  json_t *h0 = json_array_get(j, 0), *hb = json_array_get(j, 1);
  assert_string_equal(json_string_value(json_object_get(h0, "Id")), child);
  assert_json(json_object_get(h0, "Tags"), "[\"committed:1\"]");
  assert_string_equal(json_string_value(json_object_get(h0, "CreatedBy")), "/bin/sh -c echo hi");
  assert_string_equal(json_string_value(json_object_get(h0, "Comment")), "add things");
  assert_string_equal(json_string_value(json_object_get(hb, "Id")), base);
  assert_json(json_object_get(hb, "Tags"), "[\"base:latest\"]");
  assert_int_equal(json_integer_value(json_object_get(hb, "Size")), 22);
  assert_string_equal(json_string_value(json_object_get(hb, "Comment")), "Imported from -");
  json_decref(j);
  struct image *cimg = NULL;
  assert_int_equal(image_get(e.is, child, &cimg, &err), 0);
  json_auto_t *h1 = json_pack("{s:O, s:s, s:s, s:s}", "created", json_object_get(cimg->config, "created"), "author",
                               "me", "created_by", "/bin/sh -c echo hi", "comment", "add things");
  assert_true(json_equal(json_array_get(json_object_get(cimg->config, "history"), 1), h1));
  /* a container of the child sees the changes */
  _cleanup_free_ char *ctr2 = path_join(e.root, "containers/c2");
  _cleanup_free_ char *rootfs2 = path_join(ctr2, "rootfs");
  assert_int_equal(storage_container_create(e.drv, ctr2, cimg->chain_ids, &err), 0);
  r = storage_container_mount(e.drv, ctr2, cimg->chain_ids, &err);
  if (r < 0) fail_msg("mount child: %s", berr_msg(err));
  char *c = NULL;
  _cleanup_free_ char *group = path_join(rootfs2, "etc/group");
  assert_int_equal(read_file(group, &c, NULL, &err), 0);
  assert_string_equal(c, "root:x:0:\nextra:\n");
  free(c);
  _cleanup_free_ char *added = path_join(rootfs2, "tmp/added.txt");
  assert_int_equal(access(added, F_OK), 0);
  _cleanup_free_ char *fixture2 = path_join(rootfs2, "etc/fixture");
  assert_int_not_equal(access(fixture2, F_OK), 0);
  /* export: the merged tree as a tar */
  _cleanup_free_ char *tarp = path_join(e.root, "export.tar");
  int out = open(tarp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  r = image_export_dir(rootfs2, out, &err);
  if (r < 0) fail_msg("export: %s", berr_msg(err));
  close(out);
  struct archive *a = archive_read_new();
  archive_read_support_format_tar(a);
  assert_int_equal(archive_read_open_filename(a, tarp, 10240), ARCHIVE_OK);
  struct archive_entry *en;
  int seen_added = 0, seen_fixture = 0, seen_tool = 0;
  while (archive_read_next_header(a, &en) == ARCHIVE_OK) {
    seen_added += strcmp(archive_entry_pathname(en), "tmp/added.txt") == 0;
    seen_fixture += strcmp(archive_entry_pathname(en), "etc/fixture") == 0;
    seen_tool += strcmp(archive_entry_pathname(en), "bin/tool") == 0 && archive_entry_size(en) == 4;
  }
  archive_read_free(a);
  assert_int_equal(seen_added, 1);
  assert_int_equal(seen_fixture, 0);
  assert_int_equal(seen_tool, 1);
  assert_int_equal(storage_container_remove(e.drv, ctr2, &err), 0);
  /* rmi of the child: the parent and its layer stay */
  json_t *out_j = NULL;
  assert_int_equal(image_remove(e.is, base, 0, &out_j, &err), -EBUSY); /* it has a child */
  assert_non_null(strstr(err->msg, "(cannot be forced) - image has dependent child images"));
  berr_clear(&err);
  assert_int_equal(image_remove(e.is, "committed:1", 0, &out_j, &err), 0);
  _cleanup_free_ char *rm = json_text(out_j);
  _cleanup_free_ char *want = xasprintf("[{\"Untagged\":\"committed:1\"},{\"Deleted\":\"%s\"},{\"Deleted\":\"%s\"}]",
                                        child, cimg->chain_ids[1]);
  assert_string_equal(rm, want);
  json_decref(out_j);
  assert_true(storage_layer_exists(e.drv, img->chain_ids[0]));
  assert_false(storage_layer_exists(e.drv, cimg->chain_ids[1]));
  assert_int_equal(image_remove(e.is, "base", 0, &out_j, &err), 0); /* no child now: deleted */
  json_decref(out_j);
  assert_false(storage_layer_exists(e.drv, img->chain_ids[0]));
  image_free(cimg);
  image_free(img);
  free(base);
  free(child);
  env_close(&e);
  assert_int_equal(rm_rf(e.root, NULL), 0);
  free(e.root);
}

static void test_commit_overlay(void **state) { check_commit("overlay"); }
static void test_commit_vfs(void **state) { check_commit("vfs"); }

static void test_save_load(void **state) {
  struct env e = {0};
  e.root = xstrdup("/var/tmp/berth-image-test-XXXXXX");
  assert_non_null(mkdtemp(e.root));
  env_open(&e, "overlay");
  const struct tent ents[] = {{"bin/", AE_IFDIR, NULL, 0755, 0, 0, NULL},
                              {"bin/hello", AE_IFREG, "hello\n", 0755, 0, 0, NULL}};
  int fd = gz_tar(&e, ents, ARRAY_SIZE(ents));
  struct berth_error *err = NULL;
  char *id = NULL, *child = NULL;
  assert_int_equal(image_import(e.is, fd, "bb:1", NULL, NULL, &id, &err), 0);
  close(fd);
  /* a two-layer image: commit of a container that added a file */
  struct image *img = NULL;
  assert_int_equal(image_get(e.is, id, &img, &err), 0);
  _cleanup_free_ char *ctr = path_join(e.root, "containers/c");
  assert_int_equal(storage_container_create(e.drv, ctr, img->chain_ids, &err), 0);
  assert_int_equal(storage_container_mount(e.drv, ctr, img->chain_ids, &err), 0);
  _cleanup_free_ char *rootfs = path_join(ctr, "rootfs");
  write_at(rootfs, "bin/second", "2", "w");
  struct image_commit_opts o = {.parent_id = id, .ctr_dir = ctr, .repo_tag = "two:layers"};
  assert_int_equal(image_commit(e.is, &o, &child, &err), 0);
  assert_int_equal(storage_container_remove(e.drv, ctr, &err), 0);
  image_free(img);
  _cleanup_free_ char *tarp = path_join(e.root, "save.tar");
  int out = open(tarp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  const char *names[] = {"two:layers", "bb:1", NULL};
  int r = image_save(e.is, (char *const *)names, out, &err);
  if (r < 0) fail_msg("save: %s", berr_msg(err));
  close(out);
  /* delete both, then load them back: same ids, tags and contents */
  json_t *rm = NULL;
  assert_int_equal(image_remove(e.is, "two:layers", 0, &rm, &err), 0);
  json_decref(rm);
  assert_int_equal(image_remove(e.is, "bb:1", 0, &rm, &err), 0);
  json_decref(rm);
  int64_t n = -1;
  assert_int_equal(image_count(e.is, &n, &err), 0);
  assert_int_equal(n, 0);
  int in = open(tarp, O_RDONLY | O_CLOEXEC);
  json_t *lines = NULL;
  r = image_load(e.is, in, &lines, &err);
  if (r < 0) fail_msg("load: %s", berr_msg(err));
  close(in);
  assert_json(lines, "[\"Loaded image: two:layers\",\"Loaded image: bb:1\"]");
  json_decref(lines);
  assert_int_equal(image_get(e.is, "two:layers", &img, &err), 0);
  assert_string_equal(img->id, child);
  assert_int_equal(strv_len(img->chain_ids), 2);
  assert_int_equal(storage_container_create(e.drv, ctr, img->chain_ids, &err), 0);
  assert_int_equal(storage_container_mount(e.drv, ctr, img->chain_ids, &err), 0);
  _cleanup_free_ char *second = path_join(rootfs, "bin/second");
  _cleanup_free_ char *hello = path_join(rootfs, "bin/hello");
  assert_int_equal(access(second, F_OK), 0);
  assert_int_equal(access(hello, F_OK), 0);
  assert_int_equal(storage_container_remove(e.drv, ctr, &err), 0);
  image_free(img);
  assert_int_equal(image_get(e.is, "bb:1", &img, &err), 0);
  assert_string_equal(img->id, id);
  image_free(img);
  /* the OCI index gave the manifest digest: RepoDigests, and the digest reference resolves */
  json_t *insp = NULL;
  assert_int_equal(image_inspect_json(e.is, "two:layers", &insp, &err), 0);
  const char *dg = json_string_value(json_array_get(json_object_get(insp, "RepoDigests"), 0));
  assert_non_null(dg);
  assert_int_equal(strncmp(dg, "two@sha256:", 11), 0);
  char *rid = NULL;
  assert_int_equal(image_resolve(e.is, dg, &rid, &err), 0);
  assert_string_equal(rid, child);
  free(rid);
  json_decref(insp);
  /* startup removes blobs nothing names, and keeps the rest */
  _cleanup_free_ char *orphan = xasprintf("%s/blobs/sha256/%064d", e.root, 7);
  _cleanup_free_ char *cfg_blob = xasprintf("%s/blobs/sha256/%s", e.root, id + 7);
  write_at(e.root, orphan + strlen(e.root) + 1, "x", "w");
  env_close(&e);
  env_open(&e, "overlay");
  assert_int_equal(access(orphan, F_OK), -1);
  assert_int_equal(access(cfg_blob, F_OK), 0);
  /* a saved-by-id image loads untagged; garbage is refused */
  out = open(tarp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  const char *by_id[] = {id, NULL};
  assert_int_equal(image_save(e.is, (char *const *)by_id, out, &err), 0);
  close(out);
  in = open(tarp, O_RDONLY | O_CLOEXEC);
  assert_int_equal(image_load(e.is, in, &lines, &err), 0);
  close(in);
  _cleanup_free_ char *want = xasprintf("[\"Loaded image ID: %s\"]", id);
  assert_json(lines, want);
  json_decref(lines);
  /* two names of one image: one manifest entry with both tags */
  assert_int_equal(image_tag(e.is, "bb:1", "bb", "2", &err), 0);
  out = open(tarp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  const char *two[] = {"bb:1", "bb:2", NULL};
  assert_int_equal(image_save(e.is, (char *const *)two, out, &err), 0);
  close(out);
  in = open(tarp, O_RDONLY | O_CLOEXEC);
  assert_int_equal(image_load(e.is, in, &lines, &err), 0);
  close(in);
  assert_json(lines, "[\"Loaded image: bb:1\",\"Loaded image: bb:2\"]");
  json_decref(lines);
  in = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
  assert_true(image_load(e.is, in, &lines, &err) < 0);
  berr_clear(&err);
  close(in);
  free(id);
  free(child);
  env_close(&e);
  assert_int_equal(rm_rf(e.root, NULL), 0);
  free(e.root);
}

static void test_import_overlay(void **state) { check_import("overlay"); }
static void test_import_vfs(void **state) { check_import("vfs"); }

int main(void) {
  const struct CMUnitTest pure[] = {
      cmocka_unit_test(test_reference),
      cmocka_unit_test(test_chain_id),
      cmocka_unit_test(test_changes),
      cmocka_unit_test(test_prune_filter),
  };
  int r = cmocka_run_group_tests_name("image (no root)", pure, NULL, NULL);
  if (geteuid() != 0) {
    fprintf(stderr, "layer and import tests need root: skipped\n");
    return r;
  }
  const struct CMUnitTest root[] = {
      cmocka_unit_test(test_layer_basic),   cmocka_unit_test(test_layer_whiteouts),
      cmocka_unit_test(test_layer_escapes), cmocka_unit_test(test_import_overlay),
      cmocka_unit_test(test_import_vfs),    cmocka_unit_test(test_remove),
      cmocka_unit_test(test_commit_overlay), cmocka_unit_test(test_commit_vfs),
      cmocka_unit_test(test_save_load),
  };
  return r | cmocka_run_group_tests_name("image (root)", root, NULL, NULL);
}
