/* update.c - berth update: new resource limits and restart policy for one or more containers
 * (docker's flags and output: each name on success, the warnings, every error, exit 1) */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "cli/update.h"
#include "common/xalloc.h"

const struct cli_flag cli_update_flags[CLI_UPDATE_NFLAGS] = {
    {0, "blkio-weight", FLAG_STRING, "Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)", "uint16"},
    {0, "cpu-period", FLAG_STRING, "Limit CPU CFS (Completely Fair Scheduler) period", "int"},
    {0, "cpu-quota", FLAG_STRING, "Limit CPU CFS (Completely Fair Scheduler) quota", "int"},
    {'c', "cpu-shares", FLAG_STRING, "CPU shares (relative weight)", "int"},
    {0, "cpus", FLAG_STRING, "Number of CPUs", "decimal"},
    {0, "cpuset-cpus", FLAG_STRING, "CPUs in which to allow execution (0-3, 0,1)", "string"},
    {0, "cpuset-mems", FLAG_STRING, "MEMs in which to allow execution (0-3, 0,1)", "string"},
    {0, "kernel-memory", FLAG_STRING, "Kernel memory limit", "bytes"},
    {'m', "memory", FLAG_STRING, "Memory limit", "bytes"},
    {0, "memory-reservation", FLAG_STRING, "Memory soft limit", "bytes"},
    {0, "memory-swap", FLAG_STRING, "Swap limit equal to memory plus swap: '-1' to enable unlimited swap", "bytes"},
    {0, "pids-limit", FLAG_STRING, "Tune container pids limit (set -1 for unlimited)", "int"},
    {0, "restart", FLAG_STRING, "Restart policy to apply when a container exits", "string"},
};

/* the HostConfig fields an update carries (the rest of what the create flags make is dropped) */
static const char *const fields[] = {"BlkioWeight", "CpuPeriod", "CpuQuota", "CpuShares", "NanoCpus", "CpusetCpus",
                                     "CpusetMems", "KernelMemory", "Memory", "MemoryReservation", "MemorySwap",
                                     "PidsLimit", "RestartPolicy"};

/* update_body: the flags parsed the way run's are (same units and messages), then the update's fields */
static int update_body(struct cli_opts *o, json_t **out, struct berth_error **err) {
  _cleanup_json_ json_t *full = NULL;
  int r = cli_create_body(o, false, &full, err);
  if (r < 0) return r;
  json_t *hc = json_object_get(full, "HostConfig");
  json_t *body = json_object();
  for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
    json_t *v = json_object_get(hc, fields[i]);
    if (v) json_object_set(body, fields[i], v);
  }
  *out = body;
  return 0;
}

int cli_cmd_update(struct cli *cli, struct cli_opts *o, struct berth_error **err) {
  bool any = false;
  for (size_t i = 0; i < o->nvals; i++) any |= o->vals[i].set;
  if (!any) return berr(err, EINVAL, "you must provide one or more flags when using this command");
  _cleanup_json_ json_t *body = NULL;
  int r = update_body(o, &body, err);
  if (r < 0) return r;
  _cleanup_buf_ struct buf errs = {0}, warns = {0};
  for (size_t i = 0; o->args[i]; i++) {
    _cleanup_free_ char *id = cli_urlenc(o->args[i]);
    _cleanup_free_ char *path = xasprintf("/containers/%s/update", id);
    _cleanup_berr_ struct berth_error *one = NULL;
    _cleanup_json_ json_t *res = NULL;
    if (cli_call(cli, "POST", path, body, &res, NULL, &one) < 0) {
      buf_printf(&errs, "%s%s", errs.len ? "\n" : "", berr_msg(one)); /* docker goes on with the others */
      continue;
    }
    printf("%s\n", o->args[i]);
    fflush(stdout);
    size_t k;
    json_t *w;
    json_array_foreach(json_object_get(res, "Warnings"), k, w)
      buf_printf(&warns, "%s%s", warns.len ? "\n" : "", json_string_value(w) ? json_string_value(w) : "");
  }
  if (warns.len) printf("%s\n", warns.p);
  if (errs.len) return berr(err, EIO, "%s", errs.p);
  return 0;
}
