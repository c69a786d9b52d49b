/* image.c - images, tag, rmi, import, pull and the progress-message stream they print */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "cli/cli.h"
#include "cli/format/format.h"
#include "common/strv.h"
#include "common/xalloc.h"

static const char *jstr(json_t *o, const char *k) {
  json_t *v = json_object_get(o, k);
  return json_is_string(v) ? json_string_value(v) : "";
}

/* ------------------------------------------------------------------ jsonmessage streams */

/* display: docker's JSONMessage.Display for a non-terminal */
static int display(json_t *m, FILE *out, char **last_status, struct berth_error **err) {
  json_t *e = json_object_get(m, "errorDetail");
  const char *emsg = json_string_value(json_object_get(e, "message"));
  if (!emsg) emsg = json_string_value(json_object_get(m, "error"));
  if (emsg) return berr(err, EIO, "%s", emsg);
  json_t *aux = json_object_get(m, "aux");
  if (aux) { /* build's image id: kept for -q and --iidfile */
    if (last_status && json_is_string(json_object_get(aux, "ID"))) {
      free(*last_status);
      *last_status = xstrdup(json_string_value(json_object_get(aux, "ID")));
    }
    return 0;
  }
  if (*jstr(m, "id")) fprintf(out, "%s: ", jstr(m, "id"));
  if (*jstr(m, "from")) fprintf(out, "(from %s) ", jstr(m, "from"));
  if (*jstr(m, "progress")) fprintf(out, "%s %s\n", jstr(m, "status"), jstr(m, "progress"));
  else if (json_is_string(json_object_get(m, "stream"))) fputs(jstr(m, "stream"), out);
  else fprintf(out, "%s\n", jstr(m, "status"));
  if (last_status && *jstr(m, "status") && !*jstr(m, "id")) {
    free(*last_status);
    *last_status = xstrdup(jstr(m, "status"));
  }
  fflush(out);
  return 0;
}

static int display_line(const char *line, size_t n, FILE *out, char **last_status, struct berth_error **err) {
  while (n && (line[n - 1] == '\r' || line[n - 1] == ' ')) n--;
  if (!n) return 0;
  json_error_t je;
  _cleanup_json_ json_t *m = json_loadb(line, n, 0, &je);
  if (!m) return berr(err, EPROTO, "bad progress message from the daemon: %s", je.text);
  return display(m, out, last_status, err);
}

int cli_print_jsonmessages(struct cli_conn *c, FILE *out, char **last_status, struct berth_error **err) {
  _cleanup_buf_ struct buf pending = {0};
  char tmp[16384];
  for (;;) {
    ssize_t n = cli_conn_read_body(c, tmp, sizeof(tmp), err);
    if (n < 0) return (int)n;
    if (n == 0) break;
    buf_append(&pending, tmp, (size_t)n);
    char *start = pending.p, *nl;
    while ((nl = memchr(start, '\n', pending.len - (size_t)(start - pending.p)))) {
      int r = display_line(start, (size_t)(nl - start), out, last_status, err);
      if (r < 0) return r;
      start = nl + 1;
    }
    size_t rest = pending.len - (size_t)(start - pending.p);
    memmove(pending.p, start, rest);
    pending.len = rest;
    pending.p[rest] = 0;
  }
  return pending.len ? display_line(pending.p, pending.len, out, last_status, err) : 0;
}

/* ------------------------------------------------------------------ images */

/* split_ref: "repo:tag" -> repo, tag ("" when none); "repo@digest" -> repo, digest */
static void split_ref(const char *ref, char **repo, char **tag, bool *digest) {
  const char *at = strchr(ref, '@');
  const char *slash = strrchr(ref, '/');
  const char *colon = at ? NULL : strrchr(slash ? slash : ref, ':');
  const char *sep = at ? at : colon;
  *digest = at != NULL;
  *repo = sep ? xstrndup(ref, (size_t)(sep - ref)) : xstrdup(ref);
  *tag = sep ? xstrdup(sep + 1) : xstrdup("");
}

/* familiar: "docker.io/library/busybox" -> "busybox" */
static const char *familiar(const char *repo) {
  if (strncmp(repo, "docker.io/", 10) == 0) repo += 10;
  if (strncmp(repo, "library/", 8) == 0 && !strchr(repo + 8, '/')) repo += 8;
  return repo;
}

static json_t *image_row(json_t *img, const char *repo, const char *tag, const char *digest, bool trunc, int64_t now) {
  char id[13], ago[80], size[32];
  const char *full = jstr(img, "Id");
  cli_short_id(full, id);
  long long created = json_integer_value(json_object_get(img, "Created"));
  fmt_ago(created, now, ago, sizeof(ago));
  fmt_human_size((double)json_integer_value(json_object_get(img, "Size")), 3, size, sizeof(size));
  char vsize[32];
  fmt_human_size((double)json_integer_value(json_object_get(img, "VirtualSize")), 3, vsize, sizeof(vsize));
  char at[64];
  time_t tt = (time_t)created;
  struct tm tm;
  localtime_r(&tt, &tm);
  strftime(at, sizeof(at), "%Y-%m-%d %H:%M:%S %z %Z", &tm);
  return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I}", "Repository", repo, "Tag", tag, "Digest", digest, "ID",
                   trunc ? id : full, "CreatedSince", ago, "CreatedAt", at, "Size", size, "VirtualSize", vsize,
                   "Containers", (json_int_t)json_integer_value(json_object_get(img, "Containers")));
}

/* image_rows: docker's imageFormatTaggedAndDigest: one row per repo:tag (per digest with --digests) */
static void image_rows(json_t *rows, json_t *img, bool trunc, bool digests, int64_t now) {
  json_t *tags = json_object_get(img, "RepoTags"), *dig = json_object_get(img, "RepoDigests");
  size_t i, k;
  json_t *t, *d;
  bool any = false;
  json_array_foreach(tags, i, t) {
    if (strcmp(json_string_value(t) ? json_string_value(t) : "", "<none>:<none>") == 0) continue;
    _cleanup_free_ char *repo = NULL, *tag = NULL;
    bool isd;
    split_ref(json_string_value(t), &repo, &tag, &isd);
    bool shown = false;
    json_array_foreach(dig, k, d) {
      _cleanup_free_ char *drepo = NULL, *dd = NULL;
      split_ref(json_string_value(d) ? json_string_value(d) : "", &drepo, &dd, &isd);
      if (!digests || strcmp(drepo, repo) != 0) continue;
      json_array_append_new(rows, image_row(img, familiar(repo), tag, dd, trunc, now));
      shown = true;
    }
    if (!shown) json_array_append_new(rows, image_row(img, familiar(repo), tag, "<none>", trunc, now));
    any = true;
  }
  json_array_foreach(dig, k, d) { /* digest-only references */
    if (any || strcmp(json_string_value(d) ? json_string_value(d) : "", "<none>@<none>") == 0) continue;
    _cleanup_free_ char *drepo = NULL, *dd = NULL;
    bool isd;
    split_ref(json_string_value(d), &drepo, &dd, &isd);
    json_array_append_new(rows, image_row(img, familiar(drepo), "<none>", digests ? dd : "", trunc, now));
    any = true;
  }
  if (!any) json_array_append_new(rows, image_row(img, "<none>", "<none>", "<none>", trunc, now));
}

static int cmd_images(struct cli *cli, struct cli_opts *o, struct berth_error **err) {
  _cleanup_json_ json_t *filters = json_object();
  char **f = opt_list(o, "filter");
  for (size_t i = 0; f && f[i]; i++) {
    const char *eq = strchr(f[i], '=');
    if (!eq) return berr(err, EINVAL, "bad format of filter (expected name=value)");
    _cleanup_free_ char *k = xstrndup(f[i], (size_t)(eq - f[i]));
    json_t *arr = json_object_get(filters, k);
    if (!arr) json_object_set_new(filters, k, arr = json_array());
    json_array_append_new(arr, json_string(eq + 1));
  }
  if (o->args[0]) json_object_set_new(filters, "reference", json_pack("[s]", o->args[0]));
  _cleanup_buf_ struct buf path = {0};
  buf_printf(&path, "/images/json?all=%d", opt_bool(o, "all"));
  if (json_object_size(filters)) {
    _cleanup_free_ char *text = json_dumps(filters, JSON_COMPACT);
    _cleanup_free_ char *enc = cli_urlenc(text);
    buf_printf(&path, "&filters=%s", enc);
  }
  _cleanup_json_ json_t *list = NULL;
  int r = cli_call(cli, "GET", path.p, NULL, &list, NULL, err);
  if (r < 0) return r;
  bool digests = opt_bool(o, "digests");
  const char *format = opt_str(o, "format");
  if (opt_bool(o, "quiet")) format = "{{.ID}}";
  if (format && strstr(format, ".Digest")) digests = true;
  if (!format || strcmp(format, "table") == 0)
    format = digests ? "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
                     : "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
  _cleanup_json_ json_t *rows = json_array();
  int64_t now = time(NULL);
  size_t i;
  json_t *img;
  json_array_foreach(list, i, img) image_rows(rows, img, !opt_bool(o, "no-trunc"), digests, now);
  _cleanup_json_ json_t *header = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "Repository", "REPOSITORY", "Tag",
                                            "TAG", "Digest", "DIGEST", "ID", "IMAGE ID", "CreatedSince", "CREATED",
                                            "CreatedAt", "CREATED AT", "Size", "SIZE", "VirtualSize", "VIRTUAL SIZE",
                                            "Containers", "CONTAINERS");
  _cleanup_buf_ struct buf out = {0};
  if ((r = fmt_render_rows(format, header, rows, &out, err)) < 0) return r;
  if (out.p) fputs(out.p, stdout);
  return 0;
}

/* ------------------------------------------------------------------ tag, rmi */

static int cmd_tag(struct cli *cli, struct cli_opts *o, struct berth_error **err) {
  _cleanup_free_ char *repo = NULL, *tag = NULL;
  bool digest;
  split_ref(o->args[1], &repo, &tag, &digest);
  if (digest) return berr(err, EINVAL, "refusing to create a tag with a digest reference");
  _cleanup_free_ char *src = cli_urlenc(o->args[0]), *r_enc = cli_urlenc(repo), *t_enc = cli_urlenc(*tag ? tag : "latest");
  _cleanup_free_ char *path = xasprintf("/images/%s/tag?repo=%s&tag=%s", src, r_enc, t_enc);
  return cli_call(cli, "POST", path, NULL, NULL, NULL, err);
}

static int rmi_one(struct cli *cli, const char *name, const char *query, struct berth_error **err) {
  _cleanup_free_ char *enc = cli_urlenc(name);
  _cleanup_free_ char *path = xasprintf("/images/%s%s", enc, query);
  _cleanup_json_ json_t *res = NULL;
  int r = cli_call(cli, "DELETE", path, NULL, &res, NULL, err);
  if (r == -ENOENT) {
    berr_clear(err);
    return berr(err, ENOENT, "Error: No such image: %s", name);
  }
  if (r < 0) return r;
  size_t i;
  json_t *e;
  json_array_foreach(res, i, e) {
    if (*jstr(e, "Untagged")) printf("Untagged: %s\n", jstr(e, "Untagged"));
    if (*jstr(e, "Deleted")) printf("Deleted: %s\n", jstr(e, "Deleted"));
  }
  fflush(stdout);
  return 0;
}

static int cmd_rmi(struct cli *cli, struct cli_opts *o, struct berth_error **err) {
  _cleanup_free_ char *q = xasprintf("?force=%d&noprune=%d", opt_bool(o, "force"), opt_bool(o, "no-prune"));
  _cleanup_buf_ struct buf errs = {0};
  for (size_t i = 0; o->args[i]; i++) {
    _cleanup_berr_ struct berth_error *one = NULL;
    if (rmi_one(cli, o->args[i], q, &one) < 0) buf_printf(&errs, "%s%s", errs.len ? "\n" : "", berr_msg(one));
  }
  return errs.len ? berr(err, EIO, "%s", errs.p) : 0;
}

/* ------------------------------------------------------------------ import, pull */

static int import_query(struct cli_opts *o, const char *src, struct buf *path) {
  _cleanup_free_ char *s = cli_urlenc(src);
  buf_printf(path, "/images/create?fromSrc=%s", s);
  if (o->args[1]) {
    _cleanup_free_ char *repo = NULL, *tag = NULL;
    bool digest;
    split_ref(o->args[1], &repo, &tag, &digest);
    _cleanup_free_ char *re = cli_urlenc(repo), *te = cli_urlenc(tag);
    buf_printf(path, "&repo=%s&tag=%s", re, te);
  }
  const char *msg = opt_str(o, "message");
  if (msg) {
    _cleanup_free_ char *me = cli_urlenc(msg);
    buf_printf(path, "&message=%s", me);
  }
  char **ch = opt_list(o, "change");
  for (size_t i = 0; ch && ch[i]; i++) {
    _cleanup_free_ char *ce = cli_urlenc(ch[i]);
    buf_printf(path, "&changes=%s", ce);
  }
  const char *platform = opt_str(o, "platform");
  if (platform) {
    _cleanup_free_ char *pe = cli_urlenc(platform);
    buf_printf(path, "&platform=%s", pe);
  }
  return 0;
}

static int cmd_import(struct cli *cli, struct cli_opts *o, struct berth_error **err) {
  const char *src = o->args[0];
  bool url = strncmp(src, "http://", 7) == 0 || strncmp(src, "https://", 8) == 0;
  _cleanup_buf_ struct buf path = {0};
  import_query(o, url ? src : "-", &path);
  _cleanup_close_ int fd = -1;
  if (!url && strcmp(src, "-") != 0) {
    fd = open(src, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return berr(err, errno, "open %s: %s", src, strerror(errno));
  }
  _cleanup_conn_ struct cli_conn c = {.fd = -1};
  int r = url ? cli_conn_open(cli, &c, "POST", path.p, NULL, NULL, 0, false, err)
              : cli_conn_upload_fd(cli, &c, "POST", path.p, "application/x-tar", fd >= 0 ? fd : STDIN_FILENO, err);
  if (r == 0) r = cli_conn_read_head(&c, err);
  if (r < 0) return r;
  if (c.status >= 400) return cli_daemon_error(&c, err);
  return cli_print_jsonmessages(&c, stdout, NULL, err);
}

/* full_ref: docker's normalized name: "busybox" -> "docker.io/library/busybox:latest" */
static char *full_ref(const char *image) {
  _cleanup_free_ char *repo = NULL, *tag = NULL;
  bool digest;
  split_ref(image, &repo, &tag, &digest);
  const char *slash = strchr(repo, '/');
  bool has_domain = slash && (memchr(repo, '.', (size_t)(slash - repo)) || memchr(repo, ':', (size_t)(slash - repo)) ||
                              strncmp(repo, "localhost/", 10) == 0);
  return xasprintf("%s%s%s%s%s", has_domain ? "" : "docker.io/", has_domain || slash ? "" : "library/", repo,
                   digest ? "@" : ":", *tag ? tag : "latest");
}

static int cmd_pull(struct cli *cli, struct cli_opts *o, struct berth_error **err) {
  if (opt_bool(o, "all-tags")) return berr(err, ENOTSUP, "pull --all-tags is not supported yet");
  bool quiet = opt_bool(o, "quiet");
  FILE *devnull = quiet ? fopen("/dev/null", "we") : NULL;
  int r = cli_pull(cli, o->args[0], devnull ? devnull : stdout, err);
  if (devnull) fclose(devnull);
  if (r < 0) return r;
  _cleanup_free_ char *ref = full_ref(o->args[0]);
  printf("%s\n", ref);
  return 0;
}

static int cmd_push(struct cli *cli, struct cli_opts *o, struct berth_error **err) {
  if (opt_bool(o, "all-tags")) return berr(err, ENOTSUP, "push --all-tags is not supported yet");
  _cleanup_free_ char *repo = NULL, *tag = NULL;
  bool digest;
  split_ref(o->args[0], &repo, &tag, &digest);
  _cleanup_free_ char *re = cli_urlenc(repo), *te = cli_urlenc(*tag ? tag : "latest");
  _cleanup_free_ char *path = xasprintf("/images/%s/push?tag=%s", re, te);
  _cleanup_conn_ struct cli_conn c = {.fd = -1};
  int r = cli_conn_open(cli, &c, "POST", path, NULL, NULL, 0, false, err);
  if (r == 0) r = cli_conn_read_head(&c, err);
  if (r < 0) return r;
  if (c.status == 404) {
    berr_clear(err);
    cli_daemon_error(&c, err);
    _cleanup_free_ char *msg = xstrdup(berr_msg(*err));
    berr_clear(err);
    return berr(err, ENOENT, "%s", msg);
  }
  if (c.status >= 400) return cli_daemon_error(&c, err);
  FILE *devnull = opt_bool(o, "quiet") ? fopen("/dev/null", "we") : NULL;
  r = cli_print_jsonmessages(&c, devnull ? devnull : stdout, NULL, err);
  if (devnull) fclose(devnull);
  return r;
}

static int cmd_search(struct cli *cli, struct cli_opts *o, struct berth_error **err) {
  if (opt_set(o, "filter")) return berr(err, ENOTSUP, "search --filter is not supported yet");
  long long limit;
  int r = opt_int(o, "limit", 25, &limit, err);
  if (r < 0) return r;
  _cleanup_free_ char *term = cli_urlenc(o->args[0]);
  _cleanup_free_ char *path = xasprintf("/images/search?term=%s&limit=%lld", term, limit);
  _cleanup_json_ json_t *list = NULL;
  if ((r = cli_call(cli, "GET", path, NULL, &list, NULL, err)) < 0) return r;
  _cleanup_json_ json_t *rows = json_array();
  size_t i;
  json_t *e;
  bool trunc = !opt_bool(o, "no-trunc");
  json_array_foreach(list, i, e) {
    _cleanup_free_ char *desc = trunc ? cli_ellipsis(jstr(e, "description"), 45) : xstrdup(jstr(e, "description"));
    for (char *p = desc; *p; p++)
      if (*p == '\n' || *p == '\t') *p = ' ';
    _cleanup_free_ char *stars = xasprintf("%lld", (long long)json_integer_value(json_object_get(e, "star_count")));
    json_array_append_new(rows, json_pack("{s:s,s:s,s:s,s:s,s:s}", "Name", jstr(e, "name"), "Description", desc,
                                          "StarCount", stars, "IsOfficial",
                                          json_is_true(json_object_get(e, "is_official")) ? "[OK]" : "",
                                          "IsAutomated", json_is_true(json_object_get(e, "is_automated")) ? "[OK]" : ""));
  }
  const char *format = opt_str(o, "format");
  if (!format) format = "table {{.Name}}\t{{.Description}}\t{{.StarCount}}\t{{.IsOfficial}}\t{{.IsAutomated}}";
  _cleanup_json_ json_t *header = json_pack("{s:s,s:s,s:s,s:s,s:s}", "Name", "NAME", "Description", "DESCRIPTION",
                                            "StarCount", "STARS", "IsOfficial", "OFFICIAL", "IsAutomated", "AUTOMATED");
  _cleanup_buf_ struct buf out = {0};
  if ((r = fmt_render_rows(format, header, rows, &out, err)) < 0) return r;
  if (out.p) fputs(out.p, stdout);
  return 0;
}

static const struct cli_flag push_flags[] = {
    {'a', "all-tags", FLAG_BOOL, "Push all tagged images in the repository", NULL},
    {0, "disable-content-trust", FLAG_BOOL, "Skip image signing (default true)", NULL},
    {'q', "quiet", FLAG_BOOL, "Suppress verbose output", NULL},
};
static const struct cli_flag search_flags[] = {
    {'f', "filter", FLAG_LIST, "Filter output based on conditions provided (not supported yet)", "filter"},
    {0, "format", FLAG_STRING, "Pretty-print search using a Go template", "string"},
    {0, "limit", FLAG_STRING, "Max number of search results (default 25)", "int"},
    {0, "no-trunc", FLAG_BOOL, "Don't truncate output", NULL},
};

static const struct cli_flag images_flags[] = {
    {'a', "all", FLAG_BOOL, "Show all images (default hides intermediate images)", NULL},
    {0, "digests", FLAG_BOOL, "Show digests", NULL},
    {'f', "filter", FLAG_LIST, "Filter output based on conditions provided", "filter"},
    {0, "format", FLAG_STRING, "Pretty-print images using a Go template", "string"},
    {0, "no-trunc", FLAG_BOOL, "Don't truncate output", NULL},
    {'q', "quiet", FLAG_BOOL, "Only show image IDs", NULL},
};
static const struct cli_flag rmi_flags[] = {
    {'f', "force", FLAG_BOOL, "Force removal of the image", NULL},
    {0, "no-prune", FLAG_BOOL, "Do not delete untagged parents", NULL},
};
static const struct cli_flag import_flags[] = {
    {'c', "change", FLAG_LIST, "Apply Dockerfile instruction to the created image", "list"},
    {'m', "message", FLAG_STRING, "Set commit message for imported image", "string"},
    {0, "platform", FLAG_STRING, "Set platform if server is multi-platform capable", "string"},
};
static const struct cli_flag pull_flags[] = {
    {'a', "all-tags", FLAG_BOOL, "Download all tagged images in the repository", NULL},
    {0, "disable-content-trust", FLAG_BOOL, "Skip image verification (default true)", NULL},
    {0, "platform", FLAG_STRING, "Set platform if server is multi-platform capable", "string"},
    {'q', "quiet", FLAG_BOOL, "Suppress verbose output", NULL},
};

const struct cli_cmd cli_image_cmds[] = {
    {"images", "[OPTIONS] [REPOSITORY[:TAG]]", "List images", cmd_images, CMD_FLAGS(images_flags), 0, 1, false, 1},
    {"import", "[OPTIONS] file|URL|- [REPOSITORY[:TAG]]", "Import the contents from a tarball to create a filesystem image",
     cmd_import, CMD_FLAGS(import_flags), 1, 2, false, 1},
    {"pull", "[OPTIONS] NAME[:TAG|@DIGEST]", "Pull an image or a repository from a registry", cmd_pull,
     CMD_FLAGS(pull_flags), 1, 1, false, 1},
    {"push", "[OPTIONS] NAME[:TAG]", "Push an image or a repository to a registry", cmd_push, CMD_FLAGS(push_flags),
     1, 1, false, 1},
    {"search", "[OPTIONS] TERM", "Search the Docker Hub for images", cmd_search, CMD_FLAGS(search_flags), 1, 1, false, 1},
    {"rmi", "[OPTIONS] IMAGE [IMAGE...]", "Remove one or more images", cmd_rmi, CMD_FLAGS(rmi_flags), 1, -1, false, 1},
    {"tag", "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE", cmd_tag,
     NULL, 0, 2, 2, false, 1},
};
const size_t cli_image_ncmds = ARRAY_SIZE(cli_image_cmds);
