/* netvol.c - berth network and berth volume: ls, create, rm, connect, disconnect (inspect is in inspect.c) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"
#include "cli/format/format.h"
#include "common/xalloc.h"

static const char *jstr(json_t *o, const char *k) {
  json_t *v = json_object_get(o, k);
  return json_is_string(v) ? json_string_value(v) : "";
}

static json_t *kv_object(char **l) {
  json_t *m = json_object();
  for (size_t i = 0; l && l[i]; i++) {
    const char *eq = strchr(l[i], '=');
    _cleanup_free_ char *k = eq ? xstrndup(l[i], (size_t)(eq - l[i])) : xstrdup(l[i]);
    json_object_set_new(m, k, json_string(eq ? eq + 1 : ""));
  }
  return m;
}

static int render(struct cli_opts *o, const char *def, json_t *header, json_t *rows, struct berth_error **err) {
  const char *format = opt_str(o, "format");
  if (opt_bool(o, "quiet")) format = strstr(def, ".ID") ? "{{.ID}}" : "{{.Name}}";
  if (!format || strcmp(format, "table") == 0) format = def;
  _cleanup_buf_ struct buf out = {0};
  int r = fmt_render_rows(format, header, rows, &out, err);
  if (r == 0 && out.p) fputs(out.p, stdout);
  return r;
}

/* remove_each: DELETE /KIND/NAME for every argument, printing what it was given */
static int remove_each(struct cli *cli, struct cli_opts *o, const char *kind, const char *word, const char *query,
                       struct berth_error **err) {
  _cleanup_buf_ struct buf errs = {0};
  for (size_t i = 0; o->args[i]; i++) {
    _cleanup_free_ char *enc = cli_urlenc(o->args[i]);
    _cleanup_free_ char *path = xasprintf("/%s/%s%s", kind, enc, query ? query : "");
    _cleanup_berr_ struct berth_error *one = NULL;
    int r = cli_call(cli, "DELETE", path, NULL, NULL, NULL, &one);
    if (r == -ENOENT) {
      berr_clear(&one);
      berr(&one, ENOENT, "Error: No such %s: %s", word, o->args[i]);
    }
    if (r < 0) {
      buf_printf(&errs, "%s%s", errs.len ? "\n" : "", berr_msg(one));
      continue;
    }
    printf("%s\n", o->args[i]);
  }
  return errs.len ? berr(err, EIO, "%s", errs.p) : 0;
}

/* ------------------------------------------------------------------ network */

static int volume_filters(struct cli_opts *o, char **out, struct berth_error **err);

static int by_name(const void *a, const void *b) {
  return strcmp(jstr(*(json_t *const *)a, "Name"), jstr(*(json_t *const *)b, "Name"));
}

/* sorted_by_name: docker network ls lists by name */
static json_t *sorted_by_name(json_t *list) {
  size_t n = json_array_size(list);
  _cleanup_free_ json_t **v = xcalloc(n + 1, sizeof(*v));
  for (size_t i = 0; i < n; i++) v[i] = json_array_get(list, i);
  qsort(v, n, sizeof(*v), by_name);
  json_t *out = json_array();
  for (size_t i = 0; i < n; i++) json_array_append(out, v[i]);
  return out;
}

static int cmd_network_ls(struct cli *cli, struct cli_opts *o, struct berth_error **err) {
  _cleanup_json_ json_t *res = NULL;
  _cleanup_free_ char *q = NULL;
  int r = volume_filters(o, &q, err);
  _cleanup_free_ char *path = xasprintf("/networks%s", q ? q : "");
  if (r == 0) r = cli_call(cli, "GET", path, NULL, &res, NULL, err);
  if (r < 0) return r;
  _cleanup_json_ json_t *list = sorted_by_name(res);
  _cleanup_json_ json_t *rows = json_array();
  size_t i;
  json_t *n;
  json_array_foreach(list, i, n) {
    char id[13];
    cli_short_id(jstr(n, "Id"), id);
    _cleanup_buf_ struct buf labels = {0};
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(n, "Labels"), k, v)
        buf_printf(&labels, "%s%s=%s", labels.len ? "," : "", k, json_string_value(v) ?: "");
    json_array_append_new(rows, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "ID",
                                          opt_bool(o, "no-trunc") ? jstr(n, "Id") : id, "Name", jstr(n, "Name"),
                                          "Driver", jstr(n, "Driver"), "Scope", jstr(n, "Scope"), "CreatedAt",
                                          jstr(n, "Created"), "Internal",
                                          json_is_true(json_object_get(n, "Internal")) ? "true" : "false", "IPv6",
                                          json_is_true(json_object_get(n, "EnableIPv6")) ? "true" : "false", "Labels",
                                          labels.p ? labels.p : ""));
  }
  _cleanup_json_ json_t *header =
      json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "ID", "NETWORK ID", "Name", "NAME", "Driver", "DRIVER", "Scope",
                "SCOPE", "CreatedAt", "CREATED AT", "Internal", "INTERNAL", "IPv6", "IPV6", "Labels", "LABELS");
  return render(o, "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}", header, rows, err);
}

static int cmd_network_create(struct cli *cli, struct cli_opts *o, struct berth_error **err) {
  json_t *ipam = json_object();
  const char *subnet = opt_str(o, "subnet"), *gw = opt_str(o, "gateway"), *range = opt_str(o, "ip-range");
  if ((gw || range) && !subnet) {
    json_decref(ipam);
    return berr(err, EINVAL, "every ip-range or gateway must have a corresponding subnet");
  }
  json_t *cfg = json_array();
  if (subnet) {
    json_t *c = json_pack("{s:s}", "Subnet", subnet);
    if (gw) json_object_set_new(c, "Gateway", json_string(gw));
    if (range) json_object_set_new(c, "IPRange", json_string(range));
    json_array_append_new(cfg, c);
  }
  json_object_set_new(ipam, "Driver", json_string(opt_str(o, "ipam-driver") ? opt_str(o, "ipam-driver") : "default"));
  json_object_set_new(ipam, "Config", cfg);
  _cleanup_json_ json_t *body = json_pack("{s:s,s:s,s:b,s:b,s:b,s:o,s:o,s:o}", "Name", o->args[0], "Driver",
                                          opt_str(o, "driver") ? opt_str(o, "driver") : "bridge", "CheckDuplicate", 1,
                                          "Internal", opt_bool(o, "internal"), "Attachable", opt_bool(o, "attachable"),
                                          "IPAM", ipam, "Options", kv_object(opt_list(o, "opt")), "Labels",
                                          kv_object(opt_list(o, "label")));
  if (opt_bool(o, "ipv6")) json_object_set_new(body, "EnableIPv6", json_true());
  _cleanup_json_ json_t *res = NULL;
  int r = cli_call(cli, "POST", "/networks/create", body, &res, NULL, err);
  if (r < 0) return r;
  printf("%s\n", jstr(res, "Id"));
  return 0;
}

static int cmd_network_rm(struct cli *cli, struct cli_opts *o, struct berth_error **err) {
  return remove_each(cli, o, "networks", "network", NULL, err);
}

static int cmd_network_prune(struct cli *cli, struct cli_opts *o, struct berth_error **err) {
  if (!opt_bool(o, "force")) {
    printf("WARNING! This will remove all custom networks not used by at least one container.\n"
           "Are you sure you want to continue? [y/N] ");
    fflush(stdout);
    char answer[16] = "";
    if (!fgets(answer, sizeof(answer), stdin) || (answer[0] != 'y' && answer[0] != 'Y')) return 0;
  }
  _cleanup_free_ char *q = NULL;
  int r = volume_filters(o, &q, err);
  _cleanup_free_ char *path = xasprintf("/networks/prune%s", q ? q : "");
  _cleanup_json_ json_t *res = NULL;
  if (r == 0) r = cli_call(cli, "POST", path, NULL, &res, NULL, err);
  if (r < 0) return r;
  json_t *del = json_object_get(res, "NetworksDeleted");
  size_t i;
  json_t *v;
  if (json_array_size(del)) printf("Deleted Networks:\n");
  json_array_foreach(del, i, v) printf("%s\n", json_string_value(v));
  if (json_array_size(del)) printf("\n");
  return 0;
}

static int connect_like(struct cli *cli, struct cli_opts *o, bool connect, struct berth_error **err) {
  _cleanup_json_ json_t *body = json_pack("{s:s}", "Container", o->args[1]);
  if (connect) {
    json_t *ep = json_object();
    if (opt_list(o, "alias")) {
      json_t *a = json_array();
      for (char **l = opt_list(o, "alias"); *l; l++) json_array_append_new(a, json_string(*l));
      json_object_set_new(ep, "Aliases", a);
    }
    if (opt_str(o, "ip")) json_object_set_new(ep, "IPAMConfig", json_pack("{s:s}", "IPv4Address", opt_str(o, "ip")));
    json_object_set_new(body, "EndpointConfig", ep);
  } else {
    json_object_set_new(body, "Force", json_boolean(opt_bool(o, "force")));
  }
  _cleanup_free_ char *enc = cli_urlenc(o->args[0]);
  _cleanup_free_ char *path = xasprintf("/networks/%s/%s", enc, connect ? "connect" : "disconnect");
  return cli_call(cli, "POST", path, body, NULL, NULL, err);
}

static int cmd_network_connect(struct cli *cli, struct cli_opts *o, struct berth_error **err) {
  return connect_like(cli, o, true, err);
}
static int cmd_network_disconnect(struct cli *cli, struct cli_opts *o, struct berth_error **err) {
  return connect_like(cli, o, false, err);
}

/* ------------------------------------------------------------------ volume */

/* volume_filters: -f key=value flags as "?filters={"key":["value"...]}" (url-encoded, heap; "" for none) */
static int volume_filters(struct cli_opts *o, char **out, struct berth_error **err) {
  char **list = opt_list(o, "filter");
  _cleanup_json_ json_t *f = json_object();
  for (char **p = list; p && *p; p++) {
    const char *eq = strchr(*p, '=');
    if (!eq) return berr(err, EINVAL, "bad format of filter (expected name=value)");
    _cleanup_free_ char *key = xstrndup(*p, (size_t)(eq - *p));
    json_t *arr = json_object_get(f, key);
    if (!arr) json_object_set_new(f, key, arr = json_array());
    json_array_append_new(arr, json_string(eq + 1));
  }
  if (opt_set(o, "all") && opt_bool(o, "all")) json_object_set_new(f, "all", json_pack("[s]", "true"));
  _cleanup_free_ char *text = json_dumps(f, JSON_COMPACT);
  _cleanup_free_ char *enc = cli_urlenc(text);
  *out = json_object_size(f) ? xasprintf("?filters=%s", enc) : xstrdup("");
  return 0;
}

static int cmd_volume_ls(struct cli *cli, struct cli_opts *o, struct berth_error **err) {
  _cleanup_json_ json_t *res = NULL;
  _cleanup_free_ char *q = NULL;
  int r = volume_filters(o, &q, err);
  _cleanup_free_ char *path = xasprintf("/volumes%s", q ? q : "");
  if (r == 0) r = cli_call(cli, "GET", path, NULL, &res, NULL, err);
  if (r < 0) return r;
  _cleanup_json_ json_t *rows = json_array();
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(res, "Volumes"), i, v) {
    json_array_append_new(rows, json_pack("{s:s,s:s,s:s,s:s}", "Driver", jstr(v, "Driver"), "Name", jstr(v, "Name"),
                                          "Mountpoint", jstr(v, "Mountpoint"), "Scope", jstr(v, "Scope")));
  }
  _cleanup_json_ json_t *header = json_pack("{s:s,s:s,s:s,s:s}", "Driver", "DRIVER", "Name", "VOLUME NAME",
                                            "Mountpoint", "MOUNTPOINT", "Scope", "SCOPE");
  return render(o, "table {{.Driver}}\t{{.Name}}", header, rows, err);
}

static int cmd_volume_create(struct cli *cli, struct cli_opts *o, struct berth_error **err) {
  const char *name = o->args[0] ? o->args[0] : opt_str(o, "name");
  if (o->args[0] && opt_str(o, "name") && strcmp(o->args[0], opt_str(o, "name")) != 0)
    return berr(err, EINVAL, "conflicting options: either specify --name or provide positional arg, not both");
  _cleanup_json_ json_t *body = json_pack("{s:s,s:s,s:o,s:o}", "Name", name ? name : "", "Driver",
                                          opt_str(o, "driver") ? opt_str(o, "driver") : "local", "DriverOpts",
                                          kv_object(opt_list(o, "opt")), "Labels", kv_object(opt_list(o, "label")));
  _cleanup_json_ json_t *res = NULL;
  int r = cli_call(cli, "POST", "/volumes/create", body, &res, NULL, err);
  if (r < 0) return r;
  printf("%s\n", jstr(res, "Name"));
  return 0;
}

/* human_size: docker's units.HumanSize (decimal, 4 significant digits) */
static void human_size(double n, char *buf, size_t size) {
  static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
  size_t u = 0;
  while (n >= 1000 && u + 1 < ARRAY_SIZE(units)) {
    n /= 1000;
    u++;
  }
  snprintf(buf, size, "%.4g%s", n, units[u]);
}

static int cmd_volume_prune(struct cli *cli, struct cli_opts *o, struct berth_error **err) {
  if (!opt_bool(o, "force")) {
    printf("WARNING! This will remove %s local volumes not used by at least one container.\n"
           "Are you sure you want to continue? [y/N] ", opt_bool(o, "all") ? "all" : "anonymous");
    fflush(stdout);
    char answer[16] = "";
    if (!fgets(answer, sizeof(answer), stdin) || (answer[0] != 'y' && answer[0] != 'Y')) return 0;
  }
  _cleanup_free_ char *q = NULL;
  int r = volume_filters(o, &q, err);
  _cleanup_free_ char *path = xasprintf("/volumes/prune%s", q ? q : "");
  _cleanup_json_ json_t *res = NULL;
  if (r == 0) r = cli_call(cli, "POST", path, NULL, &res, NULL, err);
  if (r < 0) return r;
  json_t *del = json_object_get(res, "VolumesDeleted");
  size_t i;
  json_t *v;
  if (json_array_size(del)) printf("Deleted Volumes:\n");
  json_array_foreach(del, i, v) printf("%s\n", json_string_value(v));
  if (json_array_size(del)) printf("\n");
  char sz[32];
  human_size((double)json_integer_value(json_object_get(res, "SpaceReclaimed")), sz, sizeof(sz));
  printf("Total reclaimed space: %s\n", sz);
  return 0;
}

static int cmd_volume_rm(struct cli *cli, struct cli_opts *o, struct berth_error **err) {
  return remove_each(cli, o, "volumes", "volume", opt_bool(o, "force") ? "?force=1" : NULL, err);
}

static const struct cli_flag ls_flags[] = {
    {'f', "filter", FLAG_LIST, "Provide filter values (e.g. 'driver=bridge')", "filter"},
    {0, "format", FLAG_STRING, "Pretty-print using a Go template", "string"},
    {0, "no-trunc", FLAG_BOOL, "Do not truncate the output", NULL},
    {'q', "quiet", FLAG_BOOL, "Only display IDs or names", NULL},
};
static const struct cli_flag net_create_flags[] = {
    {0, "attachable", FLAG_BOOL, "Enable manual container attachment", NULL},
    {'d', "driver", FLAG_STRING, "Driver to manage the Network (default \"bridge\")", "string"},
    {0, "gateway", FLAG_STRING, "IPv4 or IPv6 Gateway for the master subnet", "string"},
    {0, "internal", FLAG_BOOL, "Restrict external access to the network", NULL},
    {0, "ip-range", FLAG_STRING, "Allocate container ip from a sub-range", "string"},
    {0, "ipv6", FLAG_BOOL, "Enable IPv6 networking (not supported yet)", NULL},
    {0, "ipam-driver", FLAG_STRING, "IP Address Management Driver (default \"default\")", "string"},
    {0, "label", FLAG_LIST, "Set metadata on a network", "list"},
    {'o', "opt", FLAG_LIST, "Set driver specific options", "map"},
    {0, "subnet", FLAG_STRING, "Subnet in CIDR format that represents a network segment", "string"},
};
static const struct cli_flag net_prune_flags[] = {
    {0, "filter", FLAG_LIST, "Provide filter values (e.g. 'until=<timestamp>')", "filter"},
    {'f', "force", FLAG_BOOL, "Do not prompt for confirmation", NULL},
};
static const struct cli_flag connect_flags[] = {
    {0, "alias", FLAG_LIST, "Add network-scoped alias for the container", "strings"},
    {0, "ip", FLAG_STRING, "IPv4 address (e.g., 172.30.100.104)", "string"},
};
static const struct cli_flag disconnect_flags[] = {
    {'f', "force", FLAG_BOOL, "Force the container to disconnect from a network", NULL},
};
static const struct cli_flag vol_create_flags[] = {
    {'d', "driver", FLAG_STRING, "Specify volume driver name (default \"local\")", "string"},
    {0, "label", FLAG_LIST, "Set metadata for a volume", "list"},
    {0, "name", FLAG_STRING, "Specify volume name", "string"},
    {'o', "opt", FLAG_LIST, "Set driver specific options", "map"},
};
static const struct cli_flag vol_ls_flags[] = {
    {'f', "filter", FLAG_LIST, "Provide filter values (e.g. \"dangling=true\")", "filter"},
    {0, "format", FLAG_STRING, "Pretty-print using a Go template", "string"},
    {'q', "quiet", FLAG_BOOL, "Only display volume names", NULL},
};
static const struct cli_flag vol_prune_flags[] = {
    {'a', "all", FLAG_BOOL, "Remove all unused volumes, not just anonymous ones", NULL},
    {0, "filter", FLAG_LIST, "Provide filter values (e.g. \"label=<label>\") (not supported yet)", "filter"},
    {'f', "force", FLAG_BOOL, "Do not prompt for confirmation", NULL},
};
static const struct cli_flag vol_rm_flags[] = {
    {'f', "force", FLAG_BOOL, "Force the removal of one or more volumes", NULL},
};

static int refuse_filter(struct cli_opts *o, struct berth_error **err) {
  return opt_set(o, "filter") ? berr(err, ENOTSUP, "--filter is not supported yet") : 0;
}
static int cmd_volume_prune_checked(struct cli *cli, struct cli_opts *o, struct berth_error **err) {
  return refuse_filter(o, err) < 0 ? -ENOTSUP : cmd_volume_prune(cli, o, err);
}

const struct cli_cmd cli_netvol_cmds[] = {
    {"network-ls", "[OPTIONS]", "List networks", cmd_network_ls, CMD_FLAGS(ls_flags), 0, 0, false, 1},
    {"network-prune", "[OPTIONS]", "Remove all unused networks", cmd_network_prune, CMD_FLAGS(net_prune_flags), 0, 0,
     false, 1},
    {"network-create", "[OPTIONS] NETWORK", "Create a network", cmd_network_create, CMD_FLAGS(net_create_flags), 1, 1, false, 1},
    {"network-rm", "NETWORK [NETWORK...]", "Remove one or more networks", cmd_network_rm, NULL, 0, 1, -1, false, 1},
    {"network-connect", "[OPTIONS] NETWORK CONTAINER", "Connect a container to a network", cmd_network_connect,
     CMD_FLAGS(connect_flags), 2, 2, false, 1},
    {"network-disconnect", "[OPTIONS] NETWORK CONTAINER", "Disconnect a container from a network",
     cmd_network_disconnect, CMD_FLAGS(disconnect_flags), 2, 2, false, 1},
    {"volume-ls", "[OPTIONS]", "List volumes", cmd_volume_ls, CMD_FLAGS(vol_ls_flags), 0, 0, false, 1},
    {"volume-prune", "[OPTIONS]", "Remove unused local volumes", cmd_volume_prune_checked, CMD_FLAGS(vol_prune_flags), 0, 0,
     false, 1},
    {"volume-create", "[OPTIONS] [VOLUME]", "Create a volume", cmd_volume_create, CMD_FLAGS(vol_create_flags), 0, 1, false, 1},
    {"volume-rm", "[OPTIONS] VOLUME [VOLUME...]", "Remove one or more volumes", cmd_volume_rm, CMD_FLAGS(vol_rm_flags),
     1, -1, false, 1},
};
const size_t cli_netvol_ncmds = ARRAY_SIZE(cli_netvol_cmds);
