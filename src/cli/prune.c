/* prune.c - history, container/image/system prune and system df: docker's wordings and tables */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli/cli.h"
#include "common/strv.h"

#define HISTORY_CREATED_BY_MAX 45

/* confirm: docker's prompt; anything but y/Y (or EOF) answers no */
static bool confirm(const char *warning) {
  printf("%s\nAre you sure you want to continue? [y/N] ", warning);
  fflush(stdout);
  char answer[16] = "";
  return fgets(answer, sizeof(answer), stdin) && (answer[0] == 'y' || answer[0] == 'Y');
}

static void human(int64_t n, char *out, size_t size) { fmt_human_size((double)n, 4, out, size); }

/* filters_query_with: --filter k=v ... (and dangling=, which docker's image prune always sends:
 * "false" with -a) as "filters={...}" (heap, "" when none) */
static int filters_query_with(struct cli_opts *o, const char *dangling, char **out, struct berth_error **err) {
  _cleanup_json_ json_t *filters = json_object();
  if (dangling) json_object_set_new(filters, "dangling", json_pack("[s]", dangling));
  char **f = opt_list(o, "filter");
  for (size_t i = 0; f && f[i]; i++) {
    const char *eq = strchr(f[i], '=');
    if (!eq) return berr(err, EINVAL, "bad format of filter (expected name=value)");
    _cleanup_free_ char *k = xstrndup(f[i], (size_t)(eq - f[i]));
    json_t *arr = json_object_get(filters, k);
    if (!arr) json_object_set_new(filters, k, arr = json_array());
    json_array_append_new(arr, json_string(eq + 1));
  }
  _cleanup_free_ char *text = json_dumps(filters, JSON_COMPACT);
  _cleanup_free_ char *enc = cli_urlenc(text);
  *out = json_object_size(filters) ? xasprintf("filters=%s", enc) : xstrdup("");
  return 0;
}

static int filters_query(struct cli_opts *o, char **out, struct berth_error **err) {
  return filters_query_with(o, NULL, out, err);
}

/* ------------------------------------------------------------------ prune */

static int prune_containers(struct cli *cli, struct cli_opts *o, int64_t *reclaimed, struct berth_error **err) {
  _cleanup_free_ char *q = NULL;
  int r = filters_query(o, &q, err);
  _cleanup_free_ char *path = xasprintf("/containers/prune?%s", q ? q : "");
  _cleanup_json_ json_t *res = NULL;
  if (r == 0) r = cli_call(cli, "POST", path, NULL, &res, NULL, err);
  if (r < 0) return r;
  json_t *del = json_object_get(res, "ContainersDeleted"), *v;
  size_t i;
  if (json_array_size(del)) printf("Deleted Containers:\n");
  json_array_foreach(del, i, v) printf("%s\n", json_string_value(v));
  if (json_array_size(del)) printf("\n");
  *reclaimed += json_integer_value(json_object_get(res, "SpaceReclaimed"));
  return 0;
}

static int prune_images(struct cli *cli, struct cli_opts *o, bool all, int64_t *reclaimed, struct berth_error **err) {
  _cleanup_free_ char *q = NULL;
  int r = filters_query_with(o, all ? "false" : "true", &q, err);
  if (r < 0) return r;
  _cleanup_free_ char *path = xasprintf("/images/prune?%s", q);
  _cleanup_json_ json_t *res = NULL;
  if ((r = cli_call(cli, "POST", path, NULL, &res, NULL, err)) < 0) return r;
  json_t *del = json_object_get(res, "ImagesDeleted"), *v;
  size_t i;
  if (json_array_size(del)) printf("Deleted Images:\n");
  json_array_foreach(del, i, v) {
    const char *u = json_string_value(json_object_get(v, "Untagged"));
    const char *d = json_string_value(json_object_get(v, "Deleted"));
    if (u) printf("untagged: %s\n", u);
    if (d) printf("deleted: %s\n", d);
  }
  if (json_array_size(del)) printf("\n");
  *reclaimed += json_integer_value(json_object_get(res, "SpaceReclaimed"));
  return 0;
}

static void print_reclaimed(int64_t n) {
  char s[32];
  human(n, s, sizeof(s));
  printf("Total reclaimed space: %s\n", s);
}

static int cmd_container_prune(struct cli *cli, struct cli_opts *o, struct berth_error **err) {
  if (!opt_bool(o, "force") && !confirm("WARNING! This will remove all stopped containers.")) return 0;
  int64_t n = 0;
  int r = prune_containers(cli, o, &n, err);
  if (r == 0) print_reclaimed(n);
  return r;
}

static int cmd_image_prune(struct cli *cli, struct cli_opts *o, struct berth_error **err) {
  bool all = opt_bool(o, "all");
  const char *w = all ? "WARNING! This will remove all images without at least one container associated to them."
                      : "WARNING! This will remove all dangling images.";
  if (!opt_bool(o, "force") && !confirm(w)) return 0;
  int64_t n = 0;
  int r = prune_images(cli, o, all, &n, err);
  if (r == 0) print_reclaimed(n);
  return r;
}

/* print_names: "Deleted Networks:" and one name a line, as docker prints them */
static void print_names(const char *title, json_t *names) {
  size_t i;
  json_t *v;
  if (!json_array_size(names)) return;
  printf("%s\n", title);
  json_array_foreach(names, i, v) printf("%s\n", json_string_value(v) ? json_string_value(v) : "");
  printf("\n");
}

/* prune_other: POST /networks/prune or /volumes/prune with the filters; prints what went */
static int prune_other(struct cli *cli, struct cli_opts *o, const char *what, const char *key, const char *title,
                       int64_t *reclaimed, struct berth_error **err) {
  _cleanup_free_ char *q = NULL;
  int r = filters_query(o, &q, err);
  if (r < 0) return r;
  _cleanup_free_ char *path = xasprintf("/%s/prune?%s", what, q);
  _cleanup_json_ json_t *res = NULL;
  if ((r = cli_call(cli, "POST", path, NULL, &res, NULL, err)) < 0) return r;
  print_names(title, json_object_get(res, key));
  *reclaimed += json_integer_value(json_object_get(res, "SpaceReclaimed"));
  return 0;
}

/* system_prune_warning: docker's list of what will go, and the filters */
static char *system_prune_warning(struct cli_opts *o, bool all, bool volumes) {
  _cleanup_buf_ struct buf w = {0};
  buf_puts(&w, "WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one "
               "container\n");
  if (volumes) buf_puts(&w, "  - all anonymous volumes not used by at least one container\n");
  buf_printf(&w, "  - %s\n  - %s\n",
             all ? "all images without at least one container associated to them" : "all dangling images",
             all ? "all build cache" : "unused build cache");
  char **f = opt_list(o, "filter");
  if (f && f[0]) buf_puts(&w, "\n  Items to be pruned will be filtered with:\n");
  for (size_t i = 0; f && f[i]; i++) buf_printf(&w, "  - %s\n", f[i]);
  return buf_steal(&w);
}

static int cmd_system_prune(struct cli *cli, struct cli_opts *o, struct berth_error **err) {
  bool all = opt_bool(o, "all"), volumes = opt_bool(o, "volumes");
  char **f = opt_list(o, "filter");
  for (size_t i = 0; volumes && f && f[i]; i++)
    if (strncmp(f[i], "until=", 6) == 0)
      return berr(err, EINVAL, "ERROR: The \"until\" filter is not supported with \"--volumes\"");
  _cleanup_free_ char *w = system_prune_warning(o, all, volumes);
  if (!opt_bool(o, "force") && !confirm(w)) return 0;
  int64_t n = 0;
  int r = prune_containers(cli, o, &n, err);
  if (r == 0) { /* networks: best effort, the daemon may not prune them yet */
    _cleanup_berr_ struct berth_error *e = NULL;
    prune_other(cli, o, "networks", "NetworksDeleted", "Deleted Networks:", &n, &e);
  }
  if (r == 0 && volumes) r = prune_other(cli, o, "volumes", "VolumesDeleted", "Deleted Volumes:", &n, err);
  if (r == 0) r = prune_images(cli, o, all, &n, err);
  if (r == 0) print_reclaimed(n);
  return r;
}

/* ------------------------------------------------------------------ history */

static json_t *history_row(json_t *h, bool trunc, bool hum, int64_t now) {
  const char *id = json_string_value(json_object_get(h, "Id"));
  char shortid[13], ago[64] = "", size[32];
  if (!id || strcmp(id, "<missing>") == 0) snprintf(shortid, sizeof(shortid), "<missing>");
  else cli_short_id(id, shortid);
  int64_t created = json_integer_value(json_object_get(h, "Created"));
  int64_t sz = json_integer_value(json_object_get(h, "Size"));
  if (hum) {
    fmt_ago(created, now, ago, sizeof(ago));
    fmt_human_size((double)sz, 3, size, sizeof(size));
  } else {
    struct tm tm;
    time_t t = (time_t)created;
    localtime_r(&t, &tm);
    strftime(ago, sizeof(ago), "%Y-%m-%dT%H:%M:%S%z", &tm);
    snprintf(size, sizeof(size), "%lld", (long long)sz);
  }
  const char *by = json_string_value(json_object_get(h, "CreatedBy"));
  _cleanup_free_ char *by_s = trunc ? cli_ellipsis(by ? by : "", HISTORY_CREATED_BY_MAX) : xstrdup(by ? by : "");
  const char *comment = json_string_value(json_object_get(h, "Comment"));
  return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "ID", trunc || !id ? shortid : id, "CreatedSince", ago,
                   "CreatedAt", ago, "CreatedBy", by_s, "Size", size, "Comment", comment ? comment : "");
}

static int cmd_history(struct cli *cli, struct cli_opts *o, struct berth_error **err) {
  _cleanup_free_ char *name = cli_urlenc(o->args[0]);
  _cleanup_free_ char *path = xasprintf("/images/%s/history", name);
  _cleanup_json_ json_t *list = NULL;
  int r = cli_call(cli, "GET", path, NULL, &list, NULL, err);
  if (r < 0) return r;
  bool trunc = !opt_bool(o, "no-trunc");
  bool hum = !opt_set(o, "human") || opt_bool(o, "human");
  const char *format = opt_str(o, "format");
  if (opt_bool(o, "quiet")) format = "{{.ID}}";
  if (!format || strcmp(format, "table") == 0)
    format = "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";
  _cleanup_json_ json_t *rows = json_array();
  int64_t now = time(NULL);
  size_t i;
  json_t *h;
  json_array_foreach(list, i, h) json_array_append_new(rows, history_row(h, trunc, hum, now));
  _cleanup_json_ json_t *header = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "ID", "IMAGE", "CreatedSince", "CREATED",
                                            "CreatedAt", "CREATED AT", "CreatedBy", "CREATED BY", "Size", "SIZE",
                                            "Comment", "COMMENT");
  _cleanup_buf_ struct buf out = {0};
  if ((r = fmt_render_rows(format, header, rows, &out, err)) < 0) return r;
  if (out.p) fputs(out.p, stdout);
  return 0;
}

/* ------------------------------------------------------------------ system df */

/* reclaim_text: "SIZE (NN%)" of total, docker's disk usage column */
static json_t *reclaim_text(int64_t reclaim, int64_t total) {
  char s[32];
  human(reclaim, s, sizeof(s));
  if (total <= 0) return json_string(s);
  _cleanup_free_ char *t = xasprintf("%s (%lld%%)", s, (long long)(reclaim * 100 / total));
  return json_string(t);
}

static json_t *df_row(const char *type, size_t total, size_t active, int64_t size, int64_t reclaim) {
  char s[32];
  human(size, s, sizeof(s));
  _cleanup_free_ char *tt = xasprintf("%zu", total), *at = xasprintf("%zu", active);
  return json_pack("{s:s, s:s, s:s, s:s, s:o}", "Type", type, "TotalCount", tt, "Active", at, "Size", s,
                   "Reclaimable", reclaim_text(reclaim, size));
}

static json_t *df_summary(json_t *df) {
  json_t *rows = json_array(), *v;
  size_t i, active = 0;
  int64_t layers = json_integer_value(json_object_get(df, "LayersSize")), used = 0, csize = 0, creclaim = 0;
  json_t *imgs = json_object_get(df, "Images"), *ctrs = json_object_get(df, "Containers");
  json_array_foreach(imgs, i, v) {
    if (json_integer_value(json_object_get(v, "Containers")) == 0) continue;
    active++;
    used += json_integer_value(json_object_get(v, "Size"));
  }
  json_array_append_new(rows, df_row("Images", json_array_size(imgs), active, layers,
                                     layers > used ? layers - used : 0));
  active = 0;
  json_array_foreach(ctrs, i, v) {
    int64_t s = json_integer_value(json_object_get(v, "SizeRw"));
    bool up = strcmp(json_string_value(json_object_get(v, "State")) ?: "", "running") == 0;
    active += up;
    csize += s;
    if (!up) creclaim += s;
  }
  json_array_append_new(rows, df_row("Containers", json_array_size(ctrs), active, csize, creclaim));
  json_array_append_new(rows, df_row("Local Volumes", json_array_size(json_object_get(df, "Volumes")), 0, 0, 0));
  json_array_append_new(rows, df_row("Build Cache", 0, 0, 0, 0));
  return rows;
}

static void df_verbose(json_t *df) {
  json_t *v;
  size_t i;
  char s[32];
  printf("Images space usage:\n\n");
  _cleanup_buf_ struct buf t = {0};
  buf_puts(&t, "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE\tSHARED SIZE\tUNIQUE SIZE\tCONTAINERS\n");
  int64_t now = time(NULL);
  json_array_foreach(json_object_get(df, "Images"), i, v) {
    json_t *tags = json_object_get(v, "RepoTags");
    const char *ref = json_string_value(json_array_get(tags, 0));
    _cleanup_free_ char *repo = xstrdup(ref ? ref : "<none>:<none>");
    char *colon = strrchr(repo, ':');
    const char *tag = "<none>";
    if (colon && !strchr(colon, '/')) {
      *colon = '\0';
      tag = colon + 1;
    }
    char id[13], ago[64];
    cli_short_id(json_string_value(json_object_get(v, "Id")) ?: "", id);
    fmt_ago(json_integer_value(json_object_get(v, "Created")), now, ago, sizeof(ago));
    int64_t size = json_integer_value(json_object_get(v, "Size"));
    int64_t shared = json_integer_value(json_object_get(v, "SharedSize"));
    char sh[32], un[32];
    human(size, s, sizeof(s));
    human(shared, sh, sizeof(sh));
    human(size - shared, un, sizeof(un));
    buf_printf(&t, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%lld\n", repo, tag, id, ago, s, sh, un,
               (long long)json_integer_value(json_object_get(v, "Containers")));
  }
  _cleanup_free_ char *a = fmt_tabwrite(t.p, 0, 3);
  fputs(a, stdout);
  printf("\nContainers space usage:\n\n");
  buf_free(&t);
  buf_puts(&t, "CONTAINER ID\tIMAGE\tCOMMAND\tLOCAL VOLUMES\tSIZE\tCREATED\tSTATUS\tNAMES\n");
  json_array_foreach(json_object_get(df, "Containers"), i, v) {
    char id[13], ago[64];
    cli_short_id(json_string_value(json_object_get(v, "Id")) ?: "", id);
    fmt_ago(json_integer_value(json_object_get(v, "Created")), now, ago, sizeof(ago));
    human(json_integer_value(json_object_get(v, "SizeRw")), s, sizeof(s));
    const char *cmd = json_string_value(json_object_get(v, "Command")) ?: "";
    _cleanup_free_ char *q = cli_go_quote(cmd);
    _cleanup_free_ char *qe = cli_ellipsis(q, 20);
    const char *name = json_string_value(json_array_get(json_object_get(v, "Names"), 0)) ?: "/";
    buf_printf(&t, "%s\t%s\t%s\t0\t%s\t%s\t%s\t%s\n", id, json_string_value(json_object_get(v, "Image")) ?: "", qe, s,
               ago, json_string_value(json_object_get(v, "Status")) ?: "", name + 1);
  }
  _cleanup_free_ char *b = fmt_tabwrite(t.p, 0, 3);
  fputs(b, stdout);
  printf("\nLocal Volumes space usage:\n\nVOLUME NAME   LINKS     SIZE\n\nBuild cache usage: 0B\n\n"
         "CACHE ID   CACHE TYPE   SIZE      CREATED   LAST USED   USAGE     SHARED\n");
}

static int cmd_system_df(struct cli *cli, struct cli_opts *o, struct berth_error **err) {
  _cleanup_json_ json_t *df = NULL;
  int r = cli_call(cli, "GET", "/system/df", NULL, &df, NULL, err);
  if (r < 0) return r;
  const char *format = opt_str(o, "format");
  if (opt_bool(o, "verbose") && !format) {
    df_verbose(df);
    return 0;
  }
  if (!format || strcmp(format, "table") == 0)
    format = "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}";
  _cleanup_json_ json_t *rows = df_summary(df);
  _cleanup_json_ json_t *header = json_pack("{s:s,s:s,s:s,s:s,s:s}", "Type", "TYPE", "TotalCount", "TOTAL", "Active",
                                            "ACTIVE", "Size", "SIZE", "Reclaimable", "RECLAIMABLE");
  _cleanup_buf_ struct buf out = {0};
  if ((r = fmt_render_rows(format, header, rows, &out, err)) < 0) return r;
  if (out.p) fputs(out.p, stdout);
  return 0;
}

static const struct cli_flag ctr_prune_flags[] = {
    {0, "filter", FLAG_LIST, "Provide filter values (e.g. \"until=<timestamp>\")", "filter"},
    {'f', "force", FLAG_BOOL, "Do not prompt for confirmation", NULL},
};
static const struct cli_flag img_prune_flags[] = {
    {'a', "all", FLAG_BOOL, "Remove all unused images, not just dangling ones", NULL},
    {0, "filter", FLAG_LIST, "Provide filter values (e.g. \"until=<timestamp>\")", "filter"},
    {'f', "force", FLAG_BOOL, "Do not prompt for confirmation", NULL},
};
static const struct cli_flag sys_prune_flags[] = {
    {'a', "all", FLAG_BOOL, "Remove all unused images not just dangling ones", NULL},
    {0, "filter", FLAG_LIST, "Provide filter values (e.g. \"label=<key>=<value>\")", "filter"},
    {'f', "force", FLAG_BOOL, "Do not prompt for confirmation", NULL},
    {0, "volumes", FLAG_BOOL, "Prune anonymous volumes", NULL},
};
static const struct cli_flag history_flags[] = {
    {0, "format", FLAG_STRING, "Pretty-print images using a Go template", "string"},
    {'H', "human", FLAG_BOOL, "Print sizes and dates in human readable format (default true)", NULL},
    {0, "no-trunc", FLAG_BOOL, "Don't truncate output", NULL},
    {'q', "quiet", FLAG_BOOL, "Only show image IDs", NULL},
};
static const struct cli_flag df_flags[] = {
    {0, "format", FLAG_STRING, "Pretty-print images using a Go template", "string"},
    {'v', "verbose", FLAG_BOOL, "Show detailed information on space usage", NULL},
};

const struct cli_cmd cli_prune_cmds[] = {
    {"history", "[OPTIONS] IMAGE", "Show the history of an image", cmd_history, CMD_FLAGS(history_flags), 1, 1, false, 1},
    {"container-prune", "[OPTIONS]", "Remove all stopped containers", cmd_container_prune, CMD_FLAGS(ctr_prune_flags), 0,
     0, false, 1},
    {"image-prune", "[OPTIONS]", "Remove unused images", cmd_image_prune, CMD_FLAGS(img_prune_flags), 0, 0, false, 1},
    {"system-prune", "[OPTIONS]", "Remove unused data", cmd_system_prune, CMD_FLAGS(sys_prune_flags), 0, 0, false, 1},
    {"system-df", "[OPTIONS]", "Show docker disk usage", cmd_system_df, CMD_FLAGS(df_flags), 0, 0, false, 1},
};
const size_t cli_prune_ncmds = ARRAY_SIZE(cli_prune_cmds);
