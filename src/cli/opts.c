/* opts.c - run/create flags turned into the Engine API's container Config and HostConfig */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "cli/cli.h"
#include "common/strv.h"
#include "common/xalloc.h"

/* ram_in_bytes: go-units RAMInBytes: "512m", "1.5g", "100k", "1024" (binary units) */
static int ram_in_bytes(const char *s, long long *out, struct berth_error **err) {
  char *end;
  double v = strtod(s, &end);
  if (end == s || v < 0) return berr(err, EINVAL, "invalid size: '%s'", s);
  while (*end == ' ') end++;
  static const char units[] = "kmgtp";
  double mult = 1;
  if (*end) {
    const char *u = strchr(units, tolower((unsigned char)*end));
    if (u) {
      mult = pow(1024, (double)(u - units + 1));
      end++;
      if (*end == 'i' || *end == 'I') end++;
    }
    if (*end == 'b' || *end == 'B') end++;
  }
  if (*end) return berr(err, EINVAL, "invalid size: '%s'", s);
  *out = (long long)(v * mult);
  return 0;
}

static int set_size(json_t *hc, const char *key, const char *val, struct berth_error **err) {
  if (!val) return 0;
  long long n = 0;
  int r = ram_in_bytes(val, &n, err);
  if (r < 0) return berr_prefix(err, "invalid argument \"%s\" for --%s", val, key);
  if (strcmp(key, "memory-swap") == 0 && strcmp(val, "-1") == 0) n = -1;
  static const struct {
    const char *flag, *field;
  } map[] = {{"memory", "Memory"}, {"memory-swap", "MemorySwap"}, {"memory-reservation", "MemoryReservation"},
             {"shm-size", "ShmSize"}, {"kernel-memory", "KernelMemory"}};
  for (size_t i = 0; i < ARRAY_SIZE(map); i++)
    if (strcmp(map[i].flag, key) == 0) json_object_set_new(hc, map[i].field, json_integer(n));
  return 0;
}

static int set_int(json_t *obj, struct cli_opts *o, const char *flag, const char *field, struct berth_error **err) {
  long long v;
  if (!opt_set(o, flag)) return 0;
  int r = opt_int(o, flag, 0, &v, err);
  if (r < 0) return r;
  json_object_set_new(obj, field, json_integer(v));
  return 0;
}

static json_t *strv_json(char **v) {
  json_t *a = json_array();
  for (size_t i = 0; v && v[i]; i++) json_array_append_new(a, json_string(v[i]));
  return a;
}

static void set_list(json_t *obj, struct cli_opts *o, const char *flag, const char *field) {
  char **l = opt_list(o, flag);
  if (l) json_object_set_new(obj, field, strv_json(l));
}

static void set_str(json_t *obj, struct cli_opts *o, const char *flag, const char *field) {
  const char *s = opt_str(o, flag);
  if (s) json_object_set_new(obj, field, json_string(s));
}

static void set_bool(json_t *obj, struct cli_opts *o, const char *flag, const char *field) {
  if (opt_set(o, flag)) json_object_set_new(obj, field, json_boolean(opt_bool(o, flag)));
}

/* ------------------------------------------------------------------ ports: -p and --expose */

static int parse_range(const char *s, long *lo, long *hi) {
  char *end;
  *lo = strtol(s, &end, 10);
  if (end == s) return -EINVAL;
  *hi = *lo;
  if (*end == '-') {
    const char *h = end + 1;
    *hi = strtol(h, &end, 10);
    if (end == h) return -EINVAL;
  }
  if (*end || *lo < 0 || *hi > 65535 || *hi < *lo) return -EINVAL;
  return 0;
}

/* split_publish: "[ip:][host:]ctr[/proto]" (ip may be [v6]) */
static void split_publish(char *s, char **ip, char **host, char **ctr, char **proto) {
  *proto = strrchr(s, '/');
  if (*proto) *(*proto)++ = 0;
  else *proto = "tcp";
  char *last = strrchr(s, ':');
  if (!last) {
    *ip = *host = "";
    *ctr = s;
    return;
  }
  *last = 0;
  *ctr = last + 1;
  char *prev = s[0] == '[' ? strstr(s, "]:") : strrchr(s, ':');
  if (prev && s[0] == '[') {
    *prev = 0;
    *ip = s + 1;
    *host = prev + 2;
  } else if (prev) {
    *prev = 0;
    *ip = s;
    *host = prev + 1;
  } else {
    *ip = "";
    *host = s;
  }
}

static int add_publish(json_t *exposed, json_t *bindings, const char *spec, struct berth_error **err) {
  _cleanup_free_ char *s = xstrdup(spec);
  char *ip, *host, *ctr, *proto;
  split_publish(s, &ip, &host, &ctr, &proto);
  long clo, chi, hlo = 0, hhi = 0;
  if (parse_range(ctr, &clo, &chi) < 0) return berr(err, EINVAL, "invalid containerPort: %s", ctr);
  if (*host && parse_range(host, &hlo, &hhi) < 0) return berr(err, EINVAL, "invalid hostPort: %s", host);
  if (*host && hhi - hlo != chi - clo && hlo != hhi)
    return berr(err, EINVAL, "invalid ranges specified for container and host Ports: %s and %s", ctr, host);
  for (long p = clo; p <= chi; p++) {
    _cleanup_free_ char *key = xasprintf("%ld/%s", p, proto);
    json_object_set_new(exposed, key, json_object());
    json_t *arr = json_object_get(bindings, key);
    if (!arr) json_object_set_new(bindings, key, arr = json_array());
    _cleanup_free_ char *hp = !*host ? xstrdup("") : hlo == hhi && clo != chi ? xasprintf("%ld", hlo)
                                     : hlo == hhi ? xasprintf("%ld", hlo) : xasprintf("%ld", hlo + (p - clo));
    json_array_append_new(arr, json_pack("{s:s,s:s}", "HostIp", ip, "HostPort", hp));
  }
  return 0;
}

static int ports(struct cli_opts *o, json_t *cfg, json_t *hc, struct berth_error **err) {
  _cleanup_json_ json_t *exposed = json_object(), *bindings = json_object();
  char **p = opt_list(o, "publish");
  for (size_t i = 0; p && p[i]; i++) {
    int r = add_publish(exposed, bindings, p[i], err);
    if (r < 0) return r;
  }
  char **e = opt_list(o, "expose");
  for (size_t i = 0; e && e[i]; i++) {
    _cleanup_free_ char *s = xstrdup(e[i]);
    char *proto = strchr(s, '/');
    if (proto) *proto++ = 0;
    long lo, hi;
    if (parse_range(s, &lo, &hi) < 0) return berr(err, EINVAL, "invalid range format for --expose: %s", e[i]);
    for (long k = lo; k <= hi; k++) {
      _cleanup_free_ char *key = xasprintf("%ld/%s", k, proto ? proto : "tcp");
      json_object_set_new(exposed, key, json_object());
    }
  }
  if (json_object_size(exposed)) json_object_set(cfg, "ExposedPorts", exposed);
  if (json_object_size(bindings)) json_object_set(hc, "PortBindings", bindings);
  set_bool(hc, o, "publish-all", "PublishAllPorts");
  return 0;
}

/* ------------------------------------------------------------------ volumes, env, labels, misc */

static void volumes(struct cli_opts *o, json_t *cfg, json_t *hc) {
  char **v = opt_list(o, "volume");
  json_t *binds = json_array(), *anon = json_object();
  for (size_t i = 0; v && v[i]; i++) {
    if (strchr(v[i], ':')) json_array_append_new(binds, json_string(v[i]));
    else json_object_set_new(anon, v[i], json_object());
  }
  if (json_array_size(binds)) json_object_set(hc, "Binds", binds);
  if (json_object_size(anon)) json_object_set(cfg, "Volumes", anon);
  json_decref(binds);
  json_decref(anon);
  set_list(hc, o, "volumes-from", "VolumesFrom");
  char **t = opt_list(o, "tmpfs");
  if (t) {
    json_t *tm = json_object();
    for (size_t i = 0; t[i]; i++) {
      const char *c = strchr(t[i], ':');
      _cleanup_free_ char *path = c ? xstrndup(t[i], (size_t)(c - t[i])) : xstrdup(t[i]);
      json_object_set_new(tm, path, json_string(c ? c + 1 : ""));
    }
    json_object_set_new(hc, "Tmpfs", tm);
  }
}

static int env_labels(struct cli_opts *o, json_t *cfg, struct berth_error **err) {
  _cleanup_strv_ char **env = NULL, **labels = NULL;
  char **l = opt_list(o, "env-file");
  for (size_t i = 0; l && l[i]; i++) {
    int r = cli_env_file(l[i], &env, err);
    if (r < 0) return r;
  }
  l = opt_list(o, "env");
  for (size_t i = 0; l && l[i]; i++) env = strv_push_take(env, cli_parse_env(l[i]));
  if (env) json_object_set_new(cfg, "Env", strv_json(env));
  l = opt_list(o, "label-file");
  for (size_t i = 0; l && l[i]; i++) {
    int r = cli_label_file(l[i], &labels, err);
    if (r < 0) return r;
  }
  l = opt_list(o, "label");
  for (size_t i = 0; l && l[i]; i++) labels = strv_push(labels, l[i]);
  json_object_set_new(cfg, "Labels", cli_labels_object(labels));
  return 0;
}

static int restart_policy(struct cli_opts *o, json_t *hc, struct berth_error **err) {
  const char *p = opt_str(o, "restart");
  if (!p) return 0;
  if (opt_bool(o, "rm") && strcmp(p, "no") != 0) return berr(err, EINVAL, "Conflicting options: --restart and --rm");
  const char *colon = strchr(p, ':');
  _cleanup_free_ char *name = colon ? xstrndup(p, (size_t)(colon - p)) : xstrdup(p);
  static const char *const names[] = {"no", "always", "unless-stopped", "on-failure"};
  bool ok = false;
  for (size_t i = 0; i < ARRAY_SIZE(names); i++) ok |= strcmp(names[i], name) == 0;
  if (!ok) return berr(err, EINVAL, "invalid restart policy %s", p);
  long long max = 0;
  if (colon) {
    char *end;
    max = strtoll(colon + 1, &end, 10);
    if (*end || strcmp(name, "on-failure") != 0) return berr(err, EINVAL, "maximum retry count must be an integer");
  }
  json_object_set_new(hc, "RestartPolicy", json_pack("{s:s,s:I}", "Name", name, "MaximumRetryCount", (json_int_t)max));
  return 0;
}

static int ulimits(struct cli_opts *o, json_t *hc, struct berth_error **err) {
  char **u = opt_list(o, "ulimit");
  if (!u) return 0;
  json_t *arr = json_array();
  json_object_set_new(hc, "Ulimits", arr);
  for (size_t i = 0; u[i]; i++) {
    const char *eq = strchr(u[i], '=');
    if (!eq) return berr(err, EINVAL, "invalid ulimit argument: %s", u[i]);
    char *end;
    long long soft = strtoll(eq + 1, &end, 10), hard = soft;
    if (*end == ':') hard = strtoll(end + 1, &end, 10);
    if (*end) return berr(err, EINVAL, "invalid ulimit argument: %s", u[i]);
    _cleanup_free_ char *name = xstrndup(u[i], (size_t)(eq - u[i]));
    json_array_append_new(arr, json_pack("{s:s,s:I,s:I}", "Name", name, "Soft", (json_int_t)soft, "Hard", (json_int_t)hard));
  }
  return 0;
}

static void kv_map(struct cli_opts *o, const char *flag, json_t *obj, const char *field) {
  char **l = opt_list(o, flag);
  if (!l) return;
  json_t *m = json_object();
  for (size_t i = 0; l[i]; i++) {
    const char *eq = strchr(l[i], '=');
    _cleanup_free_ char *k = eq ? xstrndup(l[i], (size_t)(eq - l[i])) : xstrdup(l[i]);
    json_object_set_new(m, k, json_string(eq ? eq + 1 : ""));
  }
  json_object_set_new(obj, field, m);
}

static void links(struct cli_opts *o, json_t *hc) {
  char **l = opt_list(o, "link");
  if (!l) return;
  json_t *arr = json_array();
  for (size_t i = 0; l[i]; i++) { /* "name" means "name:name" */
    json_array_append_new(arr, strchr(l[i], ':') ? json_string(l[i]) : json_sprintf("%s:%s", l[i], l[i]));
  }
  json_object_set_new(hc, "Links", arr);
}

static int devices(struct cli_opts *o, json_t *hc, struct berth_error **err) {
  char **d = opt_list(o, "device");
  if (!d) return 0;
  json_t *arr = json_array();
  json_object_set_new(hc, "Devices", arr);
  for (size_t i = 0; d[i]; i++) {
    _cleanup_free_ char *s = xstrdup(d[i]);
    char *ctr = strchr(s, ':'), *perm = NULL;
    if (ctr) {
      *ctr++ = 0;
      perm = strchr(ctr, ':');
      if (perm) *perm++ = 0;
      else if (strspn(ctr, "rwm") == strlen(ctr) && ctr[0] != '/') perm = ctr, ctr = NULL;
    }
    if (s[0] != '/') return berr(err, EINVAL, "invalid device path %s", d[i]);
    json_array_append_new(arr, json_pack("{s:s,s:s,s:s}", "PathOnHost", s, "PathInContainer", ctr ? ctr : s,
                                         "CgroupPermissions", perm ? perm : "rwm"));
  }
  return 0;
}

static int cpus(struct cli_opts *o, json_t *hc, struct berth_error **err) {
  const char *c = opt_str(o, "cpus");
  if (!c) return 0;
  char *end;
  double v = strtod(c, &end);
  if (end == c || *end || v < 0) return berr(err, EINVAL, "invalid argument \"%s\" for \"--cpus\" flag: failed to parse %s as a rational number", c, c);
  json_object_set_new(hc, "NanoCpus", json_integer((json_int_t)llround(v * 1e9)));
  return 0;
}

/* --blkio-weight-device and --device-{read,write}-{bps,iops} PATH:VALUE lists, with docker's checks
 * and messages (opts.ValidateWeightDevice, ValidateThrottle*Device) */
static int blkio_lists(struct cli_opts *o, json_t *hc, struct berth_error **err) {
  static const struct {
    const char *flag, *field, *key;
    bool bytes;
  } lists[] = {
      {"blkio-weight-device", "BlkioWeightDevice", "Weight", false},
      {"device-read-bps", "BlkioDeviceReadBps", "Rate", true},
      {"device-write-bps", "BlkioDeviceWriteBps", "Rate", true},
      {"device-read-iops", "BlkioDeviceReadIOps", "Rate", false},
      {"device-write-iops", "BlkioDeviceWriteIOps", "Rate", false},
  };
  for (size_t i = 0; i < ARRAY_SIZE(lists); i++) {
    char **l = opt_list(o, lists[i].flag);
    json_t *a = l ? json_array() : NULL;
    if (a) json_object_set_new(hc, lists[i].field, a);
    for (size_t k = 0; l && l[k]; k++) {
      const char *colon = strrchr(l[k], ':');
      if (!colon || strchr(l[k], ':') != colon) return berr(err, EINVAL, "bad format: %s", l[k]);
      if (strncmp(l[k], "/dev/", 5) != 0) return berr(err, EINVAL, "bad format for device path: %s", l[k]);
      long long v = -1;
      char *end = NULL;
      if (lists[i].bytes) {
        if (ram_in_bytes(colon + 1, &v, NULL) < 0 || v < 0)
          return berr(err, EINVAL, "invalid rate for device: %s. The correct format is <device-path>:<number>[<unit>]. Number must be a positive integer. Unit is optional and can be kb, mb, or gb", l[k]);
      } else {
        v = strtoll(colon + 1, &end, 10);
        bool weight = i == 0;
        if (!colon[1] || *end || v < 0 || (weight && v != 0 && (v < 10 || v > 1000)))
          return berr(err, EINVAL, weight ? "invalid weight for device: %s" : "invalid rate for device: %s. The correct format is <device-path>:<number>. Number must be a positive integer", l[k]);
      }
      _cleanup_free_ char *path = xstrndup(l[k], (size_t)(colon - l[k]));
      json_array_append_new(a, json_pack("{s:s, s:I}", "Path", path, lists[i].key, (json_int_t)v));
    }
  }
  return 0;
}

static int resources(struct cli_opts *o, json_t *hc, struct berth_error **err) {
  static const char *const sizes[] = {"memory", "memory-swap", "memory-reservation", "shm-size", "kernel-memory"};
  for (size_t i = 0; i < ARRAY_SIZE(sizes); i++)
    if (set_size(hc, sizes[i], opt_str(o, sizes[i]), err) < 0) return -EINVAL;
  static const struct {
    const char *flag, *field;
  } ints[] = {{"cpu-shares", "CpuShares"}, {"cpu-period", "CpuPeriod"}, {"cpu-quota", "CpuQuota"},
              {"pids-limit", "PidsLimit"}, {"blkio-weight", "BlkioWeight"}, {"oom-score-adj", "OomScoreAdj"},
              {"memory-swappiness", "MemorySwappiness"}, {"cpu-rt-period", "CpuRealtimePeriod"},
              {"cpu-rt-runtime", "CpuRealtimeRuntime"}};
  for (size_t i = 0; i < ARRAY_SIZE(ints); i++)
    if (set_int(hc, o, ints[i].flag, ints[i].field, err) < 0) return -EINVAL;
  set_str(hc, o, "cpuset-cpus", "CpusetCpus");
  set_str(hc, o, "cpuset-mems", "CpusetMems");
  set_bool(hc, o, "oom-kill-disable", "OomKillDisable");
  if (blkio_lists(o, hc, err) < 0) return -EINVAL;
  return cpus(o, hc, err);
}

/* seccomp_files: like docker, --security-opt seccomp=FILE sends the profile itself (compacted),
 * since the daemon may not see the client's files */
static int seccomp_files(json_t *hc, struct berth_error **err) {
  json_t *opts = json_object_get(hc, "SecurityOpt"), *v;
  size_t i;
  json_array_foreach(opts, i, v) {
    const char *s = json_string_value(v);
    if (!s || strncmp(s, "seccomp", 7) != 0 || (s[7] != '=' && s[7] != ':')) continue;
    const char *path = s + 8;
    if (strcmp(path, "unconfined") == 0 || strcmp(path, "builtin") == 0) continue;
    json_error_t je;
    _cleanup_json_ json_t *p = json_load_file(path, 0, &je);
    if (!p) return berr(err, EINVAL, "opening seccomp profile (%s) failed: %s", path, je.text);
    _cleanup_free_ char *text = json_dumps(p, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_array_set_new(opts, i, json_sprintf("seccomp=%s", text));
  }
  return 0;
}

static void host_misc(struct cli_opts *o, json_t *hc) {
  set_list(hc, o, "dns", "Dns");
  set_list(hc, o, "dns-search", "DnsSearch");
  set_list(hc, o, "dns-option", "DnsOptions");
  set_list(hc, o, "add-host", "ExtraHosts");
  set_list(hc, o, "cap-add", "CapAdd");
  set_list(hc, o, "cap-drop", "CapDrop");
  set_list(hc, o, "security-opt", "SecurityOpt");
  set_list(hc, o, "group-add", "GroupAdd");
  set_bool(hc, o, "privileged", "Privileged");
  set_bool(hc, o, "read-only", "ReadonlyRootfs");
  set_bool(hc, o, "rm", "AutoRemove");
  if (opt_bool(o, "init")) json_object_set_new(hc, "Init", json_true());
  set_str(hc, o, "pid", "PidMode");
  set_str(hc, o, "ipc", "IpcMode");
  set_str(hc, o, "uts", "UTSMode");
  set_str(hc, o, "cgroupns", "CgroupnsMode");
  set_str(hc, o, "userns", "UsernsMode");
  set_str(hc, o, "cgroup-parent", "CgroupParent");
  set_str(hc, o, "runtime", "Runtime");
  const char *net = opt_str(o, "network") ? opt_str(o, "network") : opt_str(o, "net");
  json_object_set_new(hc, "NetworkMode", json_string(net ? net : "default"));
  kv_map(o, "sysctl", hc, "Sysctls");
  links(o, hc);
  const char *ld = opt_str(o, "log-driver");
  if (ld || opt_list(o, "log-opt")) {
    json_t *lc = json_pack("{s:s}", "Type", ld ? ld : "");
    kv_map(o, "log-opt", lc, "Config");
    json_object_set_new(hc, "LogConfig", lc);
  }
}

/* attach flags: docker's rules for -a, -i and -d */
static int attach_streams(struct cli_opts *o, json_t *cfg, bool run, struct berth_error **err) {
  bool in = false, out = false, er = false;
  char **a = opt_list(o, "attach");
  for (size_t i = 0; a && a[i]; i++) {
    if (strcasecmp(a[i], "stdin") == 0) in = true;
    else if (strcasecmp(a[i], "stdout") == 0) out = true;
    else if (strcasecmp(a[i], "stderr") == 0) er = true;
    else return berr(err, EINVAL, "invalid argument \"%s\" for \"-a, --attach\" flag: valid streams are STDIN, STDOUT and STDERR", a[i]);
  }
  bool interactive = opt_bool(o, "interactive");
  if (interactive) in = true;
  if (!a) out = er = true;
  if (run && opt_bool(o, "detach")) {
    if (a) return berr(err, EINVAL, "Conflicting options: -a and -d");
    in = out = er = false;
  }
  json_object_set_new(cfg, "AttachStdin", json_boolean(in));
  json_object_set_new(cfg, "AttachStdout", json_boolean(out));
  json_object_set_new(cfg, "AttachStderr", json_boolean(er));
  json_object_set_new(cfg, "OpenStdin", json_boolean(interactive));
  json_object_set_new(cfg, "StdinOnce", json_boolean(interactive && in));
  json_object_set_new(cfg, "Tty", json_boolean(opt_bool(o, "tty")));
  return 0;
}

static void command(struct cli_opts *o, json_t *cfg) {
  json_object_set_new(cfg, "Image", json_string(o->args[0]));
  if (o->args[1]) json_object_set_new(cfg, "Cmd", strv_json(o->args + 1));
  if (opt_set(o, "entrypoint")) json_object_set_new(cfg, "Entrypoint", json_pack("[s]", opt_str(o, "entrypoint")));
  set_str(cfg, o, "hostname", "Hostname");
  set_str(cfg, o, "domainname", "Domainname");
  set_str(cfg, o, "user", "User");
  set_str(cfg, o, "workdir", "WorkingDir");
  set_str(cfg, o, "stop-signal", "StopSignal");
  set_str(cfg, o, "mac-address", "MacAddress");
}

/* mount_key: one key[=value] of --mount into the HostConfig.Mounts entry m (docker's csv keys) */
static int mount_key(json_t *m, const char *k, const char *v, struct berth_error **err) {
  static const struct {
    const char *key, *field, *sub; /* sub: the options object the field lives in, or NULL */
  } strs[] = {{"type", "Type", NULL}, {"source", "Source", NULL}, {"src", "Source", NULL},
              {"target", "Target", NULL}, {"destination", "Target", NULL}, {"dst", "Target", NULL},
              {"consistency", "Consistency", NULL}, {"bind-propagation", "Propagation", "BindOptions"}};
  for (size_t i = 0; i < ARRAY_SIZE(strs); i++) {
    if (strcmp(k, strs[i].key) != 0) continue;
    if (!v) return berr(err, EINVAL, "invalid field '%s' must be a key=value pair", k);
    json_t *o = strs[i].sub ? json_object_get(m, strs[i].sub) : m;
    if (!o) json_object_set_new(m, strs[i].sub, o = json_object());
    json_object_set_new(o, strs[i].field, json_string(v));
    return 0;
  }
  bool on = !v || strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0;
  if (strcmp(k, "readonly") == 0 || strcmp(k, "ro") == 0) json_object_set_new(m, "ReadOnly", json_boolean(on));
  else if (strcmp(k, "volume-nocopy") == 0) json_object_set_new(m, "VolumeOptions", json_pack("{s:b}", "NoCopy", on));
  else if (strcmp(k, "tmpfs-size") == 0 || strcmp(k, "tmpfs-mode") == 0) {
    long long n = 0;
    int r = !v ? berr(err, EINVAL, "invalid field '%s' must be a key=value pair", k)
            : k[6] == 's' ? ram_in_bytes(v, &n, err) : (n = strtoll(v, NULL, 8), 0);
    if (r < 0) return r;
    json_t *o = json_object_get(m, "TmpfsOptions");
    if (!o) json_object_set_new(m, "TmpfsOptions", o = json_object());
    json_object_set_new(o, k[6] == 's' ? "SizeBytes" : "Mode", json_integer(n));
  } else return berr(err, EINVAL, "unexpected key '%s' in '--mount'", k);
  return 0;
}

/* mount_flags: --mount type=bind,source=/a,target=/b,readonly... into HostConfig.Mounts */
static int mount_flags(struct cli_opts *o, json_t *hc, struct berth_error **err) {
  char **v = opt_list(o, "mount");
  _cleanup_json_ json_t *list = json_array();
  for (size_t i = 0; v && v[i]; i++) {
    json_t *m = json_pack("{s:s}", "Type", "volume");
    json_array_append_new(list, m);
    _cleanup_free_ char *copy = xstrdup(v[i]);
    for (char *save = NULL, *kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
      char *val = strchr(kv, '=');
      if (val) *val++ = '\0';
      int r = mount_key(m, kv, val, err);
      if (r < 0) return r;
    }
    if (!json_object_get(m, "Target")) return berr(err, EINVAL, "target is required");
  }
  if (json_array_size(list)) json_object_set(hc, "Mounts", list);
  return 0;
}

/* cli_create_body: the POST /containers/create body for run (run=true) or create */
int cli_create_body(struct cli_opts *o, bool run, json_t **out, struct berth_error **err) {
  _cleanup_json_ json_t *cfg = json_object(), *hc = json_object();
  command(o, cfg);
  int r = attach_streams(o, cfg, run, err);
  if (r == 0) r = set_int(cfg, o, "stop-timeout", "StopTimeout", err);
  if (r == 0) r = env_labels(o, cfg, err);
  if (r == 0) r = ports(o, cfg, hc, err);
  if (r == 0) r = restart_policy(o, hc, err);
  if (r == 0) r = resources(o, hc, err);
  if (r == 0) r = ulimits(o, hc, err);
  if (r == 0) r = devices(o, hc, err);
  if (r == 0) r = mount_flags(o, hc, err);
  if (r < 0) return r;
  volumes(o, cfg, hc);
  host_misc(o, hc);
  if ((r = seccomp_files(hc, err)) < 0) return r;
  const char *net = opt_str(o, "network") ? opt_str(o, "network") : opt_str(o, "net");
  char **net_alias = opt_list(o, "network-alias");
  const char *ip = opt_str(o, "ip");
  if (net && (net_alias || ip)) {
    json_t *ep = json_object();
    if (net_alias) json_object_set_new(ep, "Aliases", strv_json(net_alias));
    if (ip) json_object_set_new(ep, "IPAMConfig", json_pack("{s:s}", "IPv4Address", ip));
    json_object_set_new(cfg, "NetworkingConfig", json_pack("{s:{s:o}}", "EndpointsConfig", net, ep));
  }
  json_object_set(cfg, "HostConfig", hc);
  *out = json_incref(cfg);
  return 0;
}
