/* stats.c - berth stats: CPU, memory, network, block I/O and pids per container, in docker's table */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "cli/cli.h"
#include "cli/format/format.h"
#include "common/strv.h"
#include "common/xalloc.h"

static double num(json_t *o, const char *path) {
  _cleanup_free_ char *p = xstrdup(path);
  char *save = NULL;
  json_t *v = o;
  for (char *k = strtok_r(p, ".", &save); k && v; k = strtok_r(NULL, ".", &save)) v = json_object_get(v, k);
  return json_is_number(v) ? json_number_value(v) : 0;
}

static double cpu_percent(json_t *s) {
  double cpu = num(s, "cpu_stats.cpu_usage.total_usage") - num(s, "precpu_stats.cpu_usage.total_usage");
  double sys = num(s, "cpu_stats.system_cpu_usage") - num(s, "precpu_stats.system_cpu_usage");
  double cpus = num(s, "cpu_stats.online_cpus");
  if (cpus == 0) cpus = (double)json_array_size(json_object_get(json_object_get(json_object_get(s, "cpu_stats"), "cpu_usage"), "percpu_usage"));
  return sys > 0 && cpu > 0 ? cpu / sys * cpus * 100.0 : 0;
}

/* mem_usage: docker's calculateMemUsageUnixNoCache: usage minus inactive file pages */
static double mem_usage(json_t *s) {
  double usage = num(s, "memory_stats.usage");
  json_t *st = json_object_get(json_object_get(s, "memory_stats"), "stats");
  json_t *v1 = json_object_get(st, "total_inactive_file");
  if (json_is_number(v1) && json_number_value(v1) < usage) return usage - json_number_value(v1);
  json_t *v2 = json_object_get(st, "inactive_file");
  if (json_is_number(v2) && json_number_value(v2) < usage) return usage - json_number_value(v2);
  return usage;
}

static void io_pair(char *out, size_t n, double a, double b) {
  char x[32], y[32];
  fmt_human_size(a, 3, x, sizeof(x));
  fmt_human_size(b, 3, y, sizeof(y));
  snprintf(out, n, "%s / %s", x, y);
}

static json_t *stats_row(json_t *s, const char *fallback_name, bool trunc) {
  char id[13], buf[128], cpu[32], memp[32], mu[32], ml[32], net[80], blk[80], pids[32];
  const char *full = json_string_value(json_object_get(s, "id"));
  cli_short_id(full ? full : "", id);
  const char *name = json_string_value(json_object_get(s, "name"));
  if (!name || !*name) name = fallback_name;
  if (*name == '/') name++;
  double usage = mem_usage(s), limit = num(s, "memory_stats.limit");
  snprintf(cpu, sizeof(cpu), "%.2f%%", cpu_percent(s));
  snprintf(memp, sizeof(memp), "%.2f%%", limit > 0 ? usage / limit * 100.0 : 0);
  fmt_bytes_size(usage, mu, sizeof(mu));
  fmt_bytes_size(limit, ml, sizeof(ml));
  snprintf(buf, sizeof(buf), "%s / %s", mu, ml);
  double rx = 0, tx = 0, rd = 0, wr = 0;
  const char *k;
  json_t *v;
  json_object_foreach(json_object_get(s, "networks"), k, v) {
    rx += num(v, "rx_bytes");
    tx += num(v, "tx_bytes");
  }
  io_pair(net, sizeof(net), rx, tx);
  size_t i;
  json_array_foreach(json_object_get(json_object_get(s, "blkio_stats"), "io_service_bytes_recursive"), i, v) {
    const char *op = json_string_value(json_object_get(v, "op"));
    if (op && strcasecmp(op, "read") == 0) rd += num(v, "value");
    if (op && strcasecmp(op, "write") == 0) wr += num(v, "value");
  }
  io_pair(blk, sizeof(blk), rd, wr);
  snprintf(pids, sizeof(pids), "%.0f", num(s, "pids_stats.current"));
  return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "ID", trunc ? id : (full ? full : ""), "Container",
                   fallback_name, "Name", name, "CPUPerc", cpu, "MemUsage", buf, "MemPerc", memp, "NetIO", net, "BlockIO",
                   blk, "PIDs", pids);
}

/* one_sample: the container's stats; with its previous cpu_stats in prev (a live table's later
 * frames) an immediate one-shot sample measured against those, else a stream=0 sample, which the
 * daemon takes a second apart to give a CPU delta */
static int one_sample(struct cli *cli, const char *name, json_t *prev, json_t **out, struct berth_error **err) {
  _cleanup_free_ char *enc = cli_urlenc(name);
  json_t *pre = json_object_get(prev, name);
  _cleanup_free_ char *path = xasprintf("/containers/%s/stats?stream=0%s", enc, pre ? "&one-shot=1" : "");
  int r = cli_call(cli, "GET", path, NULL, out, NULL, err);
  if (r < 0 || !json_is_object(*out)) return r;
  if (pre) json_object_set(*out, "precpu_stats", pre);
  json_t *cpu = json_object_get(*out, "cpu_stats");
  if (cpu) json_object_set(prev, name, cpu);
  return 0;
}

static int running_names(struct cli *cli, bool all, char ***names, struct berth_error **err) {
  _cleanup_json_ json_t *list = NULL;
  int r = cli_call(cli, "GET", all ? "/containers/json?all=1" : "/containers/json", NULL, &list, NULL, err);
  if (r < 0) return r;
  size_t i;
  json_t *c;
  json_array_foreach(list, i, c) *names = strv_push(*names, json_string_value(json_object_get(c, "Id")));
  return 0;
}

static int stats_once(struct cli *cli, struct cli_opts *o, char **names, json_t *prev, struct buf *out,
                      struct berth_error **err) {
  _cleanup_json_ json_t *rows = json_array();
  for (size_t i = 0; names && names[i]; i++) {
    _cleanup_json_ json_t *s = NULL;
    int r = one_sample(cli, names[i], prev, &s, err);
    if (r < 0) return r;
    json_array_append_new(rows, stats_row(s, names[i], !opt_bool(o, "no-trunc")));
  }
  const char *format = opt_str(o, "format");
  if (!format || strcmp(format, "table") == 0)
    format = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";
  _cleanup_json_ json_t *header = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "ID", "CONTAINER ID", "Container",
                                            "CONTAINER", "Name", "NAME", "CPUPerc", "CPU %", "MemUsage",
                                            "MEM USAGE / LIMIT", "MemPerc", "MEM %", "NetIO", "NET I/O", "BlockIO",
                                            "BLOCK I/O", "PIDs", "PIDS");
  return fmt_render_rows(format, header, rows, out, err);
}

static int cmd_stats(struct cli *cli, struct cli_opts *o, struct berth_error **err) {
  _cleanup_strv_ char **names = NULL;
  for (size_t i = 0; o->args[i]; i++) names = strv_push(names, o->args[i]);
  bool listed = names != NULL;
  _cleanup_json_ json_t *prev = json_object(); /* name -> its last cpu_stats */
  for (;;) {
    if (!listed) {
      strv_free(names);
      names = NULL;
      int r = running_names(cli, opt_bool(o, "all"), &names, err);
      if (r < 0) return r;
    }
    _cleanup_buf_ struct buf out = {0};
    int r = stats_once(cli, o, names, prev, &out, err);
    if (r < 0) return r;
    if (!opt_bool(o, "no-stream")) fputs("\033[2J\033[H", stdout); /* docker redraws the screen */
    if (out.p) fputs(out.p, stdout);
    fflush(stdout);
    if (opt_bool(o, "no-stream")) return 0;
    sleep(1);
  }
}

static const struct cli_flag stats_flags[] = {
    {'a', "all", FLAG_BOOL, "Show all containers (default shows just running)", NULL},
    {0, "format", FLAG_STRING, "Pretty-print images using a Go template", "string"},
    {0, "no-stream", FLAG_BOOL, "Disable streaming stats and only pull the first result", NULL},
    {0, "no-trunc", FLAG_BOOL, "Do not truncate output", NULL},
};

const struct cli_cmd cli_stats_cmds[] = {
    {"stats", "[OPTIONS] [CONTAINER...]", "Display a live stream of container(s) resource usage statistics", cmd_stats,
     CMD_FLAGS(stats_flags), 0, -1, false, 1},
};
const size_t cli_stats_ncmds = ARRAY_SIZE(cli_stats_cmds);
