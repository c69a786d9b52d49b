/* events.c - berth events: stream GET /events (--since, --until, --filter, --format) and print each
 * event like docker: "TIME TYPE ACTION ID (k=v, ...)" or through a Go template */
#include "cli/cli.h"
#include "common/timeutil.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* filters_json: -f key=value flags as {"key":["value", ...]} (text, heap) */
static int filters_json(char **list, char **out, struct berth_error **err) {
  *out = NULL;
  if (!list) return 0;
  _cleanup_json_ json_t *f = json_object();
  for (char **p = list; *p; p++) {
    const char *eq = strchr(*p, '=');
    if (!eq) return berr(err, EINVAL, "bad format of filter (expected name=value)");
    _cleanup_free_ char *key = xstrndup(*p, (size_t)(eq - *p));
    json_t *arr = json_object_get(f, key);
    if (!arr) json_object_set_new(f, key, arr = json_array());
    json_array_append_new(arr, json_string(eq + 1));
  }
  *out = json_dumps(f, JSON_COMPACT);
  return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* print_plain: docker's default line; attributes sorted by key */
static void print_plain(json_t *ev) {
  int64_t ns = json_integer_value(json_object_get(ev, "timeNano"));
  struct timespec ts = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
  char when[48];
  time_format_rfc3339nano(&ts, when, sizeof(when));
  json_t *actor = json_object_get(ev, "Actor");
  json_t *attrs = json_object_get(actor, "Attributes");
  printf("%s %s %s %s", when, json_string_value(json_object_get(ev, "Type")) ?: "",
         json_string_value(json_object_get(ev, "Action")) ?: "", json_string_value(json_object_get(actor, "ID")) ?: "");
  size_t n = json_object_size(attrs), i = 0;
  if (n) {
    const char **keys = xcalloc(n, sizeof(*keys));
    const char *k;
    json_t *v;
    json_object_foreach(attrs, k, v) keys[i++] = k;
    qsort(keys, n, sizeof(*keys), cmp_str);
    printf(" (");
    for (i = 0; i < n; i++)
      printf("%s%s=%s", i ? ", " : "", keys[i], json_string_value(json_object_get(attrs, keys[i])) ?: "");
    printf(")");
    free(keys);
  }
  printf("\n");
}

static int print_event(const char *line, size_t len, const struct tmpl *t, struct berth_error **err) {
  _cleanup_json_ json_t *ev = json_loadb(line, len, 0, NULL);
  if (!ev) return 0;
  if (!t) {
    print_plain(ev);
  } else {
    _cleanup_buf_ struct buf b = {0};
    int r = tmpl_exec(t, ev, &b, err);
    if (r < 0) return r;
    printf("%s\n", b.p ? b.p : "");
  }
  fflush(stdout);
  return 0;
}

static int cmd_events(struct cli *cli, struct cli_opts *o, struct berth_error **err) {
  _cleanup_free_ char *filters = NULL;
  int r = filters_json(opt_list(o, "filter"), &filters, err);
  if (r < 0) return r;
  _cleanup_tmpl_ struct tmpl *t = NULL;
  const char *format = opt_str(o, "format");
  if (format && strcmp(format, "json") == 0) format = "{{json .}}";
  if (format && (r = tmpl_parse(format, &t, err)) < 0) return r;
  _cleanup_buf_ struct buf path = {0};
  buf_puts(&path, "/events?");
  const char *q[] = {"since", "until"};
  for (size_t i = 0; i < ARRAY_SIZE(q); i++) {
    const char *v = opt_str(o, q[i]);
    if (!v) continue;
    _cleanup_free_ char *enc = cli_urlenc(v);
    buf_printf(&path, "%s=%s&", q[i], enc);
  }
  if (filters) {
    _cleanup_free_ char *enc = cli_urlenc(filters);
    buf_printf(&path, "filters=%s", enc);
  }
  _cleanup_conn_ struct cli_conn conn = {.fd = -1};
  if ((r = cli_conn_open(cli, &conn, "GET", path.p, NULL, NULL, 0, false, err)) < 0) return r;
  if ((r = cli_conn_read_head(&conn, err)) < 0) return r;
  if (conn.status >= 400) return cli_daemon_error(&conn, err);
  _cleanup_buf_ struct buf line = {0};
  char chunk[8192];
  ssize_t n;
  while ((n = cli_conn_read_body(&conn, chunk, sizeof(chunk), err)) > 0) {
    buf_append(&line, chunk, (size_t)n);
    char *nl;
    while (line.len && (nl = memchr(line.p, '\n', line.len))) {
      size_t l = (size_t)(nl - line.p);
      if ((r = print_event(line.p, l, t, err)) < 0) return r;
      memmove(line.p, nl + 1, line.len - l - 1);
      line.len -= l + 1;
      line.p[line.len] = '\0';
    }
  }
  return n < 0 ? (int)n : 0;
}

static const struct cli_flag events_flags[] = {
    {'f', "filter", FLAG_LIST, "Filter output based on conditions provided", "filter"},
    {0, "format", FLAG_STRING, "Format the output using the given Go template", "string"},
    {0, "since", FLAG_STRING, "Show all events created since timestamp", "string"},
    {0, "until", FLAG_STRING, "Stream events until this timestamp", "string"},
};

const struct cli_cmd cli_events_cmds[] = {
    {"events", "[OPTIONS]", "Get real time events from the server", cmd_events, CMD_FLAGS(events_flags), 0, 0, false, 1},
};
const size_t cli_events_ncmds = ARRAY_SIZE(cli_events_cmds);
