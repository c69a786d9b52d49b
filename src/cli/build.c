/* build.c - berth build: the context as a tar (honouring .dockerignore), POST /build, the step output */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli/cli.h"
#include "cli/format/format.h"
#include "cli/tar.h"
#include "common/fs.h"
#include "common/ids.h"
#include "common/strv.h"
#include "common/xalloc.h"

static void query_add(struct buf *q, const char *key, const char *val) {
  _cleanup_free_ char *enc = cli_urlenc(val);
  buf_printf(q, "%c%s=%s", q->len ? '&' : '?', key, enc);
}

static void query_map(struct buf *q, const char *key, char **kvs, bool from_env) {
  if (!kvs) return;
  _cleanup_json_ json_t *m = json_object();
  for (size_t i = 0; kvs[i]; i++) {
    const char *eq = strchr(kvs[i], '=');
    _cleanup_free_ char *k = eq ? xstrndup(kvs[i], (size_t)(eq - kvs[i])) : xstrdup(kvs[i]);
    const char *v = eq ? eq + 1 : from_env ? getenv(k) : "";
    if (!v && from_env) continue; /* --build-arg NAME without a value in the environment: not sent, like docker */
    json_object_set_new(m, k, json_string(v));
  }
  _cleanup_free_ char *text = json_dumps(m, JSON_COMPACT);
  query_add(q, key, text);
}

static int build_query(struct cli_opts *o, const char *dockerfile, struct buf *q, struct berth_error **err) {
  char **tags = opt_list(o, "tag");
  for (size_t i = 0; tags && tags[i]; i++) query_add(q, "t", tags[i]);
  if (dockerfile) query_add(q, "dockerfile", dockerfile);
  static const char *const bools[][2] = {{"no-cache", "nocache"}, {"pull", "pull"}, {"quiet", "q"}, {"force-rm", "forcerm"}};
  for (size_t i = 0; i < ARRAY_SIZE(bools); i++)
    if (opt_bool(o, bools[i][0])) query_add(q, bools[i][1], "1");
  query_add(q, "rm", opt_set(o, "rm") && !opt_bool(o, "rm") ? "0" : "1");
  static const char *const strs[][2] = {{"target", "target"}, {"network", "networkmode"}, {"platform", "platform"},
                                        {"cgroup-parent", "cgroupparent"}, {"cpuset-cpus", "cpusetcpus"}};
  for (size_t i = 0; i < ARRAY_SIZE(strs); i++)
    if (opt_str(o, strs[i][0])) query_add(q, strs[i][1], opt_str(o, strs[i][0]));
  query_map(q, "buildargs", opt_list(o, "build-arg"), true);
  query_map(q, "labels", opt_list(o, "label"), false);
  char **hosts = opt_list(o, "add-host");
  if (hosts) {
    _cleanup_buf_ struct buf h = {0};
    for (size_t i = 0; hosts[i]; i++) buf_printf(&h, "%s%s", i ? "," : "", hosts[i]);
    query_add(q, "extrahosts", h.p);
  }
  (void)err;
  return 0;
}

/* looks_like_archive: tar (ustar magic), gzip, bzip2 or xz, as docker's DetectArchiveCompression */
static bool looks_like_archive(const char *p, size_t n) {
  if (n >= 2 && (unsigned char)p[0] == 0x1f && (unsigned char)p[1] == 0x8b) return true;
  if (n >= 3 && memcmp(p, "BZh", 3) == 0) return true;
  if (n >= 6 && memcmp(p, "\xfd" "7zXZ\0", 6) == 0) return true;
  return n >= 262 && memcmp(p + 257, "ustar", 5) == 0;
}

/* dockerfile_in_context: -f PATH relative to the context when it lies inside it */
static char *dockerfile_in_context(const char *ctx, const char *file) {
  char rc[PATH_MAX], rf[PATH_MAX];
  if (!realpath(ctx, rc) || !realpath(file, rf)) return NULL;
  size_t n = strlen(rc);
  if (strncmp(rf, rc, n) == 0 && rf[n] == '/') return xstrdup(rf + n + 1);
  return NULL;
}

/* make_context: the tar body and the dockerfile name to send */
static int make_context(struct cli_opts *o, struct buf *tar, char **dockerfile, struct berth_error **err) {
  const char *ctx = o->args[0], *file = opt_str(o, "file");
  if (strcmp(ctx, "-") == 0) {
    _cleanup_free_ char *data = NULL;
    size_t len = 0;
    int r = read_all(STDIN_FILENO, &data, &len, 0);
    if (r < 0) return berr_sys(err, -r, "read the context from stdin");
    if (looks_like_archive(data, len)) {
      buf_append(tar, data, len);
      *dockerfile = file ? xstrdup(file) : NULL;
      return 0;
    }
    tar_add_file_data(tar, "Dockerfile", data, len, 0644); /* a Dockerfile on stdin and no context */
    tar_finish(tar);
    *dockerfile = xstrdup("Dockerfile");
    return 0;
  }
  struct stat st;
  if (stat(ctx, &st) < 0 || !S_ISDIR(st.st_mode)) return berr(err, ENOENT, "unable to prepare context: path \"%s\" not found", ctx);
  _cleanup_strv_ char **ignore = NULL;
  int r = tar_read_ignore(ctx, &ignore, err);
  if (r < 0) return r;
  _cleanup_free_ char *df = NULL, *outside = NULL;
  if (file && strcmp(file, "-") != 0) {
    df = dockerfile_in_context(ctx, file);
    if (!df) outside = xstrdup(file);
  }
  if (!df && !outside && !(file && strcmp(file, "-") == 0)) df = xstrdup("Dockerfile");
  /* docker sends the Dockerfile and .dockerignore even when .dockerignore excludes them */
  if (df) ignore = strv_push(ignore, xasprintf("!%s", df)), ignore = strv_push(ignore, "!.dockerignore");
  if ((r = tar_dir(tar, ctx, ignore, err)) < 0) return r;
  if (outside || (file && strcmp(file, "-") == 0)) {
    _cleanup_free_ char *data = NULL;
    size_t len = 0;
    if (outside) r = read_file(outside, &data, &len, err);
    else if ((r = read_all(STDIN_FILENO, &data, &len, 0)) < 0) r = berr_sys(err, -r, "read the Dockerfile from stdin");
    if (r < 0) return r;
    char rnd[BERTH_ID_LEN + 1];
    id_random(rnd);
    df = xasprintf(".dockerfile.%.20s", rnd);
    tar_add_file_data(tar, df, data, len, 0644);
  }
  tar_finish(tar);
  *dockerfile = take_ptr(&df);
  return 0;
}

/* show_build: the daemon's stream lines; -q prints only the image id (from the aux message) */
static int show_build(struct cli_conn *c, bool quiet, const char *iidfile, struct berth_error **err) {
  FILE *out = quiet ? fopen("/dev/null", "we") : stdout;
  _cleanup_free_ char *last = NULL;
  int r = cli_print_jsonmessages(c, out ? out : stdout, &last, err);
  if (quiet && out) fclose(out);
  if (r < 0) return r;
  if (quiet && last) printf("%s\n", last);
  if (iidfile && last) {
    struct berth_error *e = NULL;
    if (write_file_atomic(iidfile, last, strlen(last), 0644, 0, &e) < 0) {
      *err = e;
      return -EIO;
    }
  }
  return 0;
}

static int cmd_build(struct cli *cli, struct cli_opts *o, struct berth_error **err) {
  static const char *const refused[] = {"secret", "ssh", "output", "cache-from", "squash", "isolation"};
  for (size_t i = 0; i < ARRAY_SIZE(refused); i++)
    if (opt_set(o, refused[i])) return berr(err, ENOTSUP, "the --%s flag is not supported yet", refused[i]);
  const char *ctx = o->args[0];
  bool remote = strstr(ctx, "://") || strncmp(ctx, "git@", 4) == 0;
  _cleanup_buf_ struct buf tar = {0}, q = {0};
  _cleanup_free_ char *dockerfile = NULL;
  int r = 0;
  if (remote) {
    query_add(&q, "remote", ctx);
    if (opt_str(o, "file")) dockerfile = xstrdup(opt_str(o, "file"));
  } else if ((r = make_context(o, &tar, &dockerfile, err)) < 0) {
    return r;
  }
  build_query(o, dockerfile, &q, err);
  if (!opt_bool(o, "quiet") && !remote) {
    char size[32];
    fmt_human_size((double)tar.len, 4, size, sizeof(size));
    printf("Sending build context to Docker daemon  %s\n", size);
    fflush(stdout);
  }
  _cleanup_free_ char *path = xasprintf("/build%s", q.p ? q.p : "");
  _cleanup_conn_ struct cli_conn c = {.fd = -1};
  r = cli_conn_open(cli, &c, "POST", path, "application/x-tar", remote ? NULL : tar.p, tar.len, false, err);
  if (r == 0) r = cli_conn_read_head(&c, err);
  if (r < 0) return r;
  if (c.status >= 400) return cli_daemon_error(&c, err);
  return show_build(&c, opt_bool(o, "quiet"), opt_str(o, "iidfile"), err);
}

static const struct cli_flag build_flags[] = {
    {0, "add-host", FLAG_LIST, "Add a custom host-to-IP mapping (host:ip)", "list"},
    {0, "build-arg", FLAG_LIST, "Set build-time variables", "list"},
    {0, "cache-from", FLAG_LIST, "Images to consider as cache sources (not supported yet)", "strings"},
    {0, "cgroup-parent", FLAG_STRING, "Optional parent cgroup for the container", "string"},
    {0, "cpuset-cpus", FLAG_STRING, "CPUs in which to allow execution (0-3, 0,1)", "string"},
    {'f', "file", FLAG_STRING, "Name of the Dockerfile (Default is 'PATH/Dockerfile')", "string"},
    {0, "force-rm", FLAG_BOOL, "Always remove intermediate containers", NULL},
    {0, "iidfile", FLAG_STRING, "Write the image ID to the file", "string"},
    {0, "isolation", FLAG_STRING, "Container isolation technology (not supported yet)", "string"},
    {0, "label", FLAG_LIST, "Set metadata for an image", "list"},
    {0, "network", FLAG_STRING, "Set the networking mode for the RUN instructions during build", "string"},
    {0, "no-cache", FLAG_BOOL, "Do not use cache when building the image", NULL},
    {'o', "output", FLAG_STRING, "Output destination (not supported yet)", "stringArray"},
    {0, "platform", FLAG_STRING, "Set platform if server is multi-platform capable", "string"},
    {0, "pull", FLAG_BOOL, "Always attempt to pull a newer version of the image", NULL},
    {'q', "quiet", FLAG_BOOL, "Suppress the build output and print image ID on success", NULL},
    {0, "rm", FLAG_BOOL, "Remove intermediate containers after a successful build (default true)", NULL},
    {0, "secret", FLAG_STRING, "Secret file to expose to the build (not supported yet)", "stringArray"},
    {0, "squash", FLAG_BOOL, "Squash newly built layers into a single new layer (not supported yet)", NULL},
    {0, "ssh", FLAG_STRING, "SSH agent socket or keys to expose to the build (not supported yet)", "stringArray"},
    {'t', "tag", FLAG_LIST, "Name and optionally a tag in the 'name:tag' format", "list"},
    {0, "target", FLAG_STRING, "Set the target build stage to build.", "string"},
};

const struct cli_cmd cli_build_cmds[] = {
    {"build", "[OPTIONS] PATH | URL | -", "Build an image from a Dockerfile", cmd_build, CMD_FLAGS(build_flags), 1, 1,
     false, 1},
};
const size_t cli_build_ncmds = ARRAY_SIZE(cli_build_cmds);
