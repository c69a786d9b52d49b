/* container.c - ps, logs, wait, rm, kill, stop, restart: the container commands that need no stream */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli/cli.h"
#include "cli/format/format.h"
#include "cli/update.h"
#include "common/strv.h"
#include "common/timeutil.h"
#include "common/xalloc.h"

/* ------------------------------------------------------------------ ps */

static const char *jstr(json_t *o, const char *k) {
  json_t *v = json_object_get(o, k);
  return json_is_string(v) ? json_string_value(v) : "";
}

static int cmp_port(const void *a, const void *b) {
  json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
  long long px = json_integer_value(json_object_get(x, "PrivatePort")), py = json_integer_value(json_object_get(y, "PrivatePort"));
  if (px != py) return px < py ? -1 : 1;
  int c = strcmp(jstr(x, "IP"), jstr(y, "IP"));
  if (c) return c;
  long long ux = json_integer_value(json_object_get(x, "PublicPort")), uy = json_integer_value(json_object_get(y, "PublicPort"));
  if (ux != uy) return ux < uy ? -1 : 1;
  return strcmp(jstr(x, "Type"), jstr(y, "Type"));
}

struct port_group {
  char *key; /* "tcp" or "IP/tcp" */
  long long first, last;
};

static void form_group(struct buf *b, const char *key, long long first, long long last) {
  const char *slash = strrchr(key, '/');
  _cleanup_free_ char *range = first == last ? xasprintf("%lld", first) : xasprintf("%lld-%lld", first, last);
  if (b->len) buf_puts(b, ", ");
  if (slash) buf_printf(b, "%.*s:%s->%s%s", (int)(slash - key), key, range, range, slash);
  else buf_printf(b, "%s/%s", range, key);
}

/* cli_ports_string: docker's DisplayablePorts: consecutive ports grouped, host mappings last */
static char *ports_string(json_t *ports) {
  size_t n = json_array_size(ports);
  _cleanup_free_ json_t **v = xcalloc(n + 1, sizeof(json_t *));
  for (size_t i = 0; i < n; i++) v[i] = json_array_get(ports, i);
  qsort(v, n, sizeof(json_t *), cmp_port);
  _cleanup_free_ struct port_group *groups = xcalloc(n + 1, sizeof(*groups));
  size_t ng = 0;
  _cleanup_buf_ struct buf out = {0}, maps = {0};
  for (size_t i = 0; i < n; i++) {
    long long priv = json_integer_value(json_object_get(v[i], "PrivatePort"));
    long long pub = json_integer_value(json_object_get(v[i], "PublicPort"));
    const char *ip = jstr(v[i], "IP"), *type = jstr(v[i], "Type");
    _cleanup_free_ char *key = NULL;
    if (*ip) {
      if (pub != priv) {
        bool v6 = strchr(ip, ':') != NULL;
        buf_printf(&maps, "%s%s%s%s:%lld->%lld/%s", maps.len ? ", " : "", v6 ? "[" : "", ip, v6 ? "]" : "", pub, priv, type);
        continue;
      }
      key = xasprintf("%s/%s", ip, type);
    } else {
      key = xstrdup(type);
    }
    size_t g = 0;
    while (g < ng && strcmp(groups[g].key, key) != 0) g++;
    if (g == ng) {
      groups[ng++] = (struct port_group){take_ptr(&key), priv, priv};
    } else if (priv == groups[g].last + 1) {
      groups[g].last = priv;
    } else {
      form_group(&out, key, groups[g].first, groups[g].last);
      groups[g].first = groups[g].last = priv;
    }
  }
  for (size_t g = 0; g < ng; g++) {
    form_group(&out, groups[g].key, groups[g].first, groups[g].last);
    free(groups[g].key);
  }
  if (maps.len) {
    if (out.len) buf_puts(&out, ", ");
    buf_puts(&out, maps.p);
  }
  return buf_steal(&out);
}

static char *names_string(json_t *names, bool trunc) {
  _cleanup_buf_ struct buf b = {0};
  size_t i;
  json_t *n;
  json_array_foreach(names, i, n) {
    const char *s = json_string_value(n);
    if (!s) continue;
    if (*s == '/') s++;
    if (trunc && strchr(s, '/')) continue; /* link aliases "/other/alias" */
    if (b.len) buf_putc(&b, ',');
    buf_puts(&b, s);
  }
  return buf_steal(&b);
}

static char *image_string(json_t *c, bool trunc) {
  const char *img = jstr(c, "Image");
  if (!*img) return xstrdup("<no image>");
  if (trunc) {
    char a[13], b[13];
    cli_short_id(jstr(c, "ImageID"), a);
    cli_short_id(img, b);
    if (strcmp(a, b) == 0) return xstrdup(a);
    const char *at = strchr(img, '@');
    if (at) return xstrndup(img, (size_t)(at - img));
  }
  return xstrdup(img);
}

static char *labels_string(json_t *labels) {
  size_t n = json_object_size(labels), i = 0;
  _cleanup_free_ char **kv = xcalloc(n + 1, sizeof(char *));
  const char *k;
  json_t *v;
  json_object_foreach(labels, k, v) kv[i++] = xasprintf("%s=%s", k, json_string_value(v) ? json_string_value(v) : "");
  qsort(kv, n, sizeof(char *), (int (*)(const void *, const void *))strcmp);
  _cleanup_buf_ struct buf b = {0};
  for (i = 0; i < n; i++) {
    if (i) buf_putc(&b, ',');
    buf_puts(&b, kv[i]);
    free(kv[i]);
  }
  return buf_steal(&b);
}

static int cmp_strp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static char *created_at(long long t) {
  char buf[64];
  time_t tt = (time_t)t;
  struct tm tm;
  localtime_r(&tt, &tm);
  strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S %z %Z", &tm);
  return xstrdup(buf);
}

static char *join_keys(json_t *o) {
  size_t n = json_object_size(o), i = 0;
  _cleanup_free_ const char **keys = xcalloc(n + 1, sizeof(char *));
  const char *k;
  json_t *v;
  json_object_foreach(o, k, v) keys[i++] = k;
  qsort(keys, n, sizeof(char *), cmp_strp);
  _cleanup_buf_ struct buf b = {0};
  for (i = 0; i < n; i++) {
    if (i) buf_putc(&b, ',');
    buf_puts(&b, keys[i]);
  }
  return buf_steal(&b);
}

static char *mounts_string(json_t *mounts) {
  _cleanup_buf_ struct buf b = {0};
  size_t i;
  json_t *m;
  json_array_foreach(mounts, i, m) {
    const char *name = *jstr(m, "Name") ? jstr(m, "Name") : jstr(m, "Source");
    if (b.len) buf_putc(&b, ',');
    _cleanup_free_ char *s = cli_ellipsis(name, 15);
    buf_puts(&b, s);
  }
  return buf_steal(&b);
}

static void set_take(json_t *o, const char *k, char *heap) {
  json_object_set_new(o, k, json_string(heap));
  free(heap);
}

static json_t *ps_row(json_t *c, bool trunc, int64_t now) {
  char id[13], ago[80], rw[32], root[32];
  const char *full = jstr(c, "Id");
  cli_short_id(full, id);
  long long created = json_integer_value(json_object_get(c, "Created"));
  fmt_ago(created, now, ago, sizeof(ago));
  fmt_human_size((double)json_integer_value(json_object_get(c, "SizeRw")), 3, rw, sizeof(rw));
  fmt_human_size((double)json_integer_value(json_object_get(c, "SizeRootFs")), 3, root, sizeof(root));
  _cleanup_free_ char *cmd = trunc ? cli_ellipsis(jstr(c, "Command"), 20) : xstrdup(jstr(c, "Command"));
  json_t *row = json_object();
  json_object_set_new(row, "ID", json_string(trunc ? id : full));
  set_take(row, "Image", image_string(c, trunc));
  set_take(row, "Command", cli_go_quote(cmd));
  set_take(row, "CreatedAt", created_at(created));
  json_object_set_new(row, "RunningFor", json_string(ago));
  set_take(row, "Ports", ports_string(json_object_get(c, "Ports")));
  json_object_set_new(row, "State", json_string(jstr(c, "State")));
  json_object_set_new(row, "Status", json_string(jstr(c, "Status")));
  set_take(row, "Size", xasprintf("%s (virtual %s)", rw, root));
  set_take(row, "Names", names_string(json_object_get(c, "Names"), trunc));
  set_take(row, "Labels", labels_string(json_object_get(c, "Labels")));
  set_take(row, "Mounts", mounts_string(json_object_get(c, "Mounts")));
  set_take(row, "Networks", join_keys(json_object_get(json_object_get(c, "NetworkSettings"), "Networks")));
  return row;
}

static int ps_filters(struct cli_opts *o, char **out, struct berth_error **err) {
  char **f = opt_list(o, "filter");
  if (!f) return *out = NULL, 0;
  _cleanup_json_ json_t *obj = json_object();
  for (size_t i = 0; f[i]; i++) {
    const char *eq = strchr(f[i], '=');
    if (!eq) return berr(err, EINVAL, "bad format of filter (expected name=value)");
    _cleanup_free_ char *k = xstrndup(f[i], (size_t)(eq - f[i]));
    json_t *arr = json_object_get(obj, k);
    if (!arr) json_object_set_new(obj, k, arr = json_array());
    json_array_append_new(arr, json_string(eq + 1));
  }
  _cleanup_free_ char *text = json_dumps(obj, JSON_COMPACT);
  *out = cli_urlenc(text);
  return 0;
}

static int cmd_ps(struct cli *cli, struct cli_opts *o, struct berth_error **err) {
  long long last;
  int r = opt_int(o, "last", -1, &last, err);
  if (r < 0) return r;
  if (opt_bool(o, "latest") && last == -1) last = 1;
  const char *format = opt_str(o, "format");
  bool size = opt_bool(o, "size") || (format && strstr(format, ".Size"));
  _cleanup_free_ char *filters = NULL;
  if ((r = ps_filters(o, &filters, err)) < 0) return r;
  _cleanup_buf_ struct buf path = {0};
  buf_printf(&path, "/containers/json?all=%d", opt_bool(o, "all") ? 1 : 0);
  if (last > 0) buf_printf(&path, "&limit=%lld", last);
  if (size) buf_puts(&path, "&size=1");
  if (filters) buf_printf(&path, "&filters=%s", filters);
  _cleanup_json_ json_t *list = NULL;
  if ((r = cli_call(cli, "GET", path.p, NULL, &list, NULL, err)) < 0) return r;
  bool trunc = !opt_bool(o, "no-trunc");
  if (opt_bool(o, "quiet") && !format) format = "{{.ID}}";
  if (!format || strcmp(format, "table") == 0)
    format = size ? "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}\t{{.Size}}"
                  : "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";
  _cleanup_json_ json_t *rows = json_array();
  int64_t now = time(NULL);
  size_t i;
  json_t *c;
  json_array_foreach(list, i, c) json_array_append_new(rows, ps_row(c, trunc, now));
  _cleanup_json_ json_t *header = json_pack(
      "{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "ID", "CONTAINER ID", "Image", "IMAGE", "Command",
      "COMMAND", "CreatedAt", "CREATED AT", "RunningFor", "CREATED", "Ports", "PORTS", "State", "STATE", "Status", "STATUS",
      "Size", "SIZE", "Names", "NAMES", "Labels", "LABELS", "Mounts", "MOUNTS", "Networks", "NETWORKS");
  _cleanup_buf_ struct buf out = {0};
  if ((r = fmt_render_rows(format, header, rows, &out, err)) < 0) return r;
  if (out.p) fputs(out.p, stdout);
  return 0;
}

/* ------------------------------------------------------------------ one request per container */

/* not_found: docker's client turns some 404s into "Error: No such container: X" */
static void not_found(struct berth_error **err, const char *kind, const char *name) {
  berr_clear(err);
  berr(err, ENOENT, "Error: No such %s: %s", kind, name);
}

struct each {
  const char *method;
  const char *suffix; /* after /containers/NAME */
  const char *query;
  bool wrap404;
};

static int each_container(struct cli *cli, struct cli_opts *o, const struct each *e, struct berth_error **err) {
  _cleanup_buf_ struct buf errs = {0};
  for (size_t i = 0; o->args[i]; i++) {
    _cleanup_free_ char *id = cli_urlenc(o->args[i]);
    _cleanup_free_ char *path = xasprintf("/containers/%s%s%s", id, e->suffix, e->query ? e->query : "");
    _cleanup_berr_ struct berth_error *one = NULL;
    int r = cli_call(cli, e->method, path, NULL, NULL, NULL, &one);
    if (r == -ENOENT && e->wrap404) not_found(&one, "container", o->args[i]);
    if (r < 0) {
      if (errs.len) buf_putc(&errs, '\n');
      buf_puts(&errs, berr_msg(one)); /* keep going: docker reports every container */
      continue;
    }
    printf("%s\n", o->args[i]);
    fflush(stdout);
  }
  if (errs.len) return berr(err, EIO, "%s", errs.p);
  return 0;
}

static int cmd_rm(struct cli *cli, struct cli_opts *o, struct berth_error **err) {
  _cleanup_free_ char *q = xasprintf("?force=%d&v=%d&link=%d", opt_bool(o, "force"), opt_bool(o, "volumes"), opt_bool(o, "link"));
  struct each e = {"DELETE", "", q, true};
  return each_container(cli, o, &e, err);
}

static int cmd_kill(struct cli *cli, struct cli_opts *o, struct berth_error **err) {
  const char *sig = opt_str(o, "signal");
  _cleanup_free_ char *enc = sig ? cli_urlenc(sig) : NULL;
  _cleanup_free_ char *q = enc ? xasprintf("?signal=%s", enc) : NULL;
  struct each e = {"POST", "/kill", q, false};
  return each_container(cli, o, &e, err);
}

static int stop_like(struct cli *cli, struct cli_opts *o, const char *suffix, struct berth_error **err) {
  long long t;
  int r = opt_int(o, "time", -1, &t, err);
  if (r < 0) return r;
  _cleanup_free_ char *q = t >= 0 ? xasprintf("?t=%lld", t) : NULL;
  struct each e = {"POST", suffix, q, false};
  return each_container(cli, o, &e, err);
}

static int cmd_stop(struct cli *cli, struct cli_opts *o, struct berth_error **err) { return stop_like(cli, o, "/stop", err); }
static int cmd_restart(struct cli *cli, struct cli_opts *o, struct berth_error **err) {
  return stop_like(cli, o, "/restart", err);
}

static int cmd_wait(struct cli *cli, struct cli_opts *o, struct berth_error **err) {
  _cleanup_buf_ struct buf errs = {0};
  for (size_t i = 0; o->args[i]; i++) {
    _cleanup_free_ char *id = cli_urlenc(o->args[i]);
    _cleanup_free_ char *path = xasprintf("/containers/%s/wait", id);
    _cleanup_berr_ struct berth_error *one = NULL;
    _cleanup_json_ json_t *res = NULL;
    if (cli_call(cli, "POST", path, NULL, &res, NULL, &one) < 0) {
      if (errs.len) buf_putc(&errs, '\n');
      buf_puts(&errs, berr_msg(one));
      continue;
    }
    printf("%lld\n", (long long)json_integer_value(json_object_get(res, "StatusCode")));
    fflush(stdout);
  }
  if (errs.len) return berr(err, EIO, "%s", errs.p);
  return 0;
}

/* ------------------------------------------------------------------ logs */

static int cmd_logs(struct cli *cli, struct cli_opts *o, struct berth_error **err) {
  const char *name = o->args[0];
  _cleanup_free_ char *id = cli_urlenc(name);
  _cleanup_free_ char *ipath = xasprintf("/containers/%s/json", id);
  _cleanup_json_ json_t *c = NULL;
  int r = cli_call(cli, "GET", ipath, NULL, &c, NULL, err);
  if (r == -ENOENT) not_found(err, "container", name);
  if (r < 0) return r;
  bool tty = json_is_true(json_object_get(json_object_get(c, "Config"), "Tty"));
  _cleanup_buf_ struct buf path = {0};
  buf_printf(&path, "/containers/%s/logs?stdout=1&stderr=1", id);
  if (opt_bool(o, "follow")) buf_puts(&path, "&follow=1");
  if (opt_bool(o, "timestamps")) buf_puts(&path, "&timestamps=1");
  if (opt_bool(o, "details")) buf_puts(&path, "&details=1");
  static const char *const passthrough[] = {"tail", "since", "until"};
  for (size_t i = 0; i < ARRAY_SIZE(passthrough); i++) {
    const char *v = opt_str(o, passthrough[i]);
    if (!v) continue;
    _cleanup_free_ char *enc = cli_urlenc(v);
    buf_printf(&path, "&%s=%s", passthrough[i], enc);
  }
  _cleanup_conn_ struct cli_conn conn = {.fd = -1};
  if ((r = cli_conn_open(cli, &conn, "GET", path.p, NULL, NULL, 0, false, err)) < 0) return r;
  if ((r = cli_conn_read_head(&conn, err)) < 0) return r;
  if (conn.status >= 400) return cli_daemon_error(&conn, err);
  return cli_stream_copy(&conn, tty, err);
}

static const struct cli_flag ps_flags[] = {
    {'a', "all", FLAG_BOOL, "Show all containers (default shows just running)", NULL},
    {'f', "filter", FLAG_LIST, "Filter output based on conditions provided", "filter"},
    {0, "format", FLAG_STRING, "Pretty-print containers using a Go template", "string"},
    {'n', "last", FLAG_STRING, "Show n last created containers (includes all states) (default -1)", "int"},
    {'l', "latest", FLAG_BOOL, "Show the latest created container (includes all states)", NULL},
    {0, "no-trunc", FLAG_BOOL, "Don't truncate output", NULL},
    {'q', "quiet", FLAG_BOOL, "Only display container IDs", NULL},
    {'s', "size", FLAG_BOOL, "Display total file sizes", NULL},
};
static const struct cli_flag rm_flags[] = {
    {'f', "force", FLAG_BOOL, "Force the removal of a running container (uses SIGKILL)", NULL},
    {'l', "link", FLAG_BOOL, "Remove the specified link", NULL},
    {'v', "volumes", FLAG_BOOL, "Remove anonymous volumes associated with the container", NULL},
};
static const struct cli_flag kill_flags[] = {
    {'s', "signal", FLAG_STRING, "Signal to send to the container (default \"KILL\")", "string"},
};
static const struct cli_flag stop_flags[] = {
    {'t', "time", FLAG_STRING, "Seconds to wait for stop before killing it (default 10)", "int"},
};
static const struct cli_flag logs_flags[] = {
    {0, "details", FLAG_BOOL, "Show extra details provided to logs", NULL},
    {'f', "follow", FLAG_BOOL, "Follow log output", NULL},
    {0, "since", FLAG_STRING, "Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)", "string"},
    {'n', "tail", FLAG_STRING, "Number of lines to show from the end of the logs (default \"all\")", "string"},
    {'t', "timestamps", FLAG_BOOL, "Show timestamps", NULL},
    {0, "until", FLAG_STRING, "Show logs before a timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)", "string"},
};

const struct cli_cmd cli_container_cmds[] = {
    {"kill", "[OPTIONS] CONTAINER [CONTAINER...]", "Kill one or more running containers", cmd_kill, CMD_FLAGS(kill_flags), 1, -1, false, 1},
    {"logs", "[OPTIONS] CONTAINER", "Fetch the logs of a container", cmd_logs, CMD_FLAGS(logs_flags), 1, 1, false, 1},
    {"ps", "[OPTIONS]", "List containers", cmd_ps, CMD_FLAGS(ps_flags), 0, 0, false, 1},
    {"restart", "[OPTIONS] CONTAINER [CONTAINER...]", "Restart one or more containers", cmd_restart, CMD_FLAGS(stop_flags), 1, -1, false, 1},
    {"rm", "[OPTIONS] CONTAINER [CONTAINER...]", "Remove one or more containers", cmd_rm, CMD_FLAGS(rm_flags), 1, -1, false, 1},
    {"stop", "[OPTIONS] CONTAINER [CONTAINER...]", "Stop one or more running containers", cmd_stop, CMD_FLAGS(stop_flags), 1, -1, false, 1},
    {"update", "[OPTIONS] CONTAINER [CONTAINER...]", "Update configuration of one or more containers", cli_cmd_update,
     cli_update_flags, CLI_UPDATE_NFLAGS, 1, -1, false, 1},
    {"wait", "CONTAINER [CONTAINER...]", "Block until one or more containers stop, then print their exit codes", cmd_wait, NULL, 0, 1, -1, false, 1},
};
const size_t cli_container_ncmds = ARRAY_SIZE(cli_container_cmds);
