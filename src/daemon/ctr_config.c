/* ctr_config.c - container JSON: the create body merged with the image config, HostConfig
 * defaults, inspect and ps shapes, the ps Status text, signal names, container paths */
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "daemon/ctr_security.h"
#include "daemon/daemon.h"
#include "daemon/health.h"
#include "daemon/volumes.h"
#include "image/image.h"
#include "runtime/spec.h"
#include "storage/storage.h"
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void ctr_create_clear(struct ctr_create *c) {
  json_decref(c->config);
  json_decref(c->host_config);
  json_decref(c->args);
  free(c->path);
  *c = (struct ctr_create){0};
}

/* Config as Docker's inspect shows it, in its key order; values filled in below */
static const char *const config_keys[] = {
    "Hostname", "Domainname", "User", "AttachStdin", "AttachStdout", "AttachStderr", "Tty", "OpenStdin",
    "StdinOnce", "Env", "Cmd", "Image", "Volumes", "WorkingDir", "Entrypoint", "OnBuild", "Labels"};

/* HostConfig defaults Docker fills in for what the client left out */
static const char host_config_defaults[] =
    "{\"Binds\":null,\"ContainerIDFile\":\"\",\"LogConfig\":{\"Type\":\"json-file\",\"Config\":{}},"
    "\"NetworkMode\":\"default\",\"PortBindings\":{},\"RestartPolicy\":{\"Name\":\"no\",\"MaximumRetryCount\":0},"
    "\"AutoRemove\":false,\"VolumeDriver\":\"\",\"VolumesFrom\":null,\"CapAdd\":null,\"CapDrop\":null,"
    "\"CgroupnsMode\":\"host\",\"Dns\":[],\"DnsOptions\":[],\"DnsSearch\":[],\"ExtraHosts\":null,\"GroupAdd\":null,"
    "\"IpcMode\":\"private\",\"Cgroup\":\"\",\"Links\":null,\"OomScoreAdj\":0,\"PidMode\":\"\",\"Privileged\":false,"
    "\"PublishAllPorts\":false,\"ReadonlyRootfs\":false,\"SecurityOpt\":null,\"UTSMode\":\"\",\"UsernsMode\":\"\","
    "\"ShmSize\":67108864,\"Runtime\":\"berth-runtime\",\"ConsoleSize\":[0,0],\"Isolation\":\"\",\"CpuShares\":0,"
    "\"Memory\":0,\"NanoCpus\":0,\"CgroupParent\":\"\",\"BlkioWeight\":0,\"BlkioWeightDevice\":[],"
    "\"BlkioDeviceReadBps\":null,\"BlkioDeviceWriteBps\":null,\"BlkioDeviceReadIOps\":null,"
    "\"BlkioDeviceWriteIOps\":null,\"CpuPeriod\":0,\"CpuQuota\":0,\"CpuRealtimePeriod\":0,\"CpuRealtimeRuntime\":0,"
    "\"CpusetCpus\":\"\",\"CpusetMems\":\"\",\"Devices\":[],\"DeviceCgroupRules\":null,\"DeviceRequests\":null,"
    "\"KernelMemory\":0,\"KernelMemoryTCP\":0,\"MemoryReservation\":0,\"MemorySwap\":0,\"MemorySwappiness\":null,"
    "\"OomKillDisable\":false,\"PidsLimit\":null,\"Ulimits\":null,\"CpuCount\":0,\"CpuPercent\":0,"
    "\"IOMaximumIOps\":0,\"IOMaximumBandwidth\":0}";

/* HostConfig features other modules have not delivered yet: refused rather than ignored */
static const char *const host_config_unsupported[] = {"DeviceRequests"};

/* is_set: a value that asks for something (not null/false/0/""/[]/{}) */
static bool is_set(const json_t *v) {
  if (!v || json_is_null(v) || json_is_false(v)) return false;
  if (json_is_integer(v)) return json_integer_value(v) != 0;
  if (json_is_real(v)) return json_real_value(v) != 0;
  if (json_is_string(v)) return json_string_length(v) > 0;
  if (json_is_array(v)) return json_array_size(v) > 0;
  if (json_is_object(v)) return json_object_size(v) > 0;
  return true;
}

static int check_host_config(const json_t *hc, struct berth_error **err) {
  for (size_t i = 0; i < ARRAY_SIZE(host_config_unsupported); i++)
    if (is_set(json_object_get(hc, host_config_unsupported[i])))
      return berr(err, ENOTSUP, "HostConfig.%s is not supported yet", host_config_unsupported[i]);
  const char *nm = json_string_value(json_object_get(hc, "NetworkMode"));
  int r = net_mode_check(nm, err);
  if (r < 0) return r;
  /* Docker's conflicts: another container's network brings its ports, names and resolvers */
  if (net_mode_is(nm, "container") && (is_set(json_object_get(hc, "PortBindings")) || json_is_true(json_object_get(hc, "PublishAllPorts"))))
    return berr(err, EINVAL, "conflicting options: port publishing and the container type network mode");
  if (net_mode_is(nm, "container") && is_set(json_object_get(hc, "Dns")))
    return berr(err, EINVAL, "conflicting options: dns and the network mode");
  if (net_mode_is(nm, "container") && is_set(json_object_get(hc, "ExtraHosts")))
    return berr(err, EINVAL, "conflicting options: custom host-to-IP mapping and the network mode");
  if ((net_mode_is(nm, "container") || net_mode_is(nm, "host")) && is_set(json_object_get(hc, "Links")))
    return berr(err, EINVAL, "conflicting options: host type networking can't be used with links. This would result in undefined behavior");
  const char *ld = json_string_value(json_object_get(json_object_get(hc, "LogConfig"), "Type"));
  if (ld && *ld && strcmp(ld, "json-file") != 0 && strcmp(ld, "none") != 0)
    return berr(err, ENOTSUP, "logging driver \"%s\" is not supported yet", ld);
  const char *rp = json_string_value(json_object_get(json_object_get(hc, "RestartPolicy"), "Name"));
  struct restart_policy rpol;
  int rpr = restart_policy_parse(rp, (int)json_integer_value(json_object_get(json_object_get(hc, "RestartPolicy"), "MaximumRetryCount")), &rpol, err);
  if (rpr < 0) return rpr;
  struct ctr_log_limits ll;
  if ((!ld || strcmp(ld, "none") != 0) && (rpr = ctr_log_limits(hc, NULL, &ll, err)) < 0) return rpr;
  if (json_is_true(json_object_get(hc, "AutoRemove")) && rp && *rp && strcmp(rp, "no") != 0)
    return berr(err, EINVAL, "conflicting options: AutoRemove and restart policy");
  return 0;
}

static json_t *host_config_with_defaults(const json_t *given) {
  json_t *hc = json_loads(host_config_defaults, 0, NULL);
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)given, k, v) {
    /* an empty string or null where Docker has a default keeps the default */
    json_t *def = json_object_get(hc, k);
    if (def && (json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0)) && is_set(def)) continue;
    if (def && json_is_object(def) && json_is_object(v) && strcmp(k, "PortBindings") != 0) {
      json_t *merged = json_deep_copy(def);
      const char *k2;
      json_t *v2;
      json_object_foreach(v, k2, v2) {
        if (json_is_null(v2) || (json_is_string(v2) && json_string_length(v2) == 0)) continue;
        json_object_set(merged, k2, v2);
      }
      json_object_set_new(hc, k, merged);
      continue;
    }
    json_object_set(hc, k, v);
  }
  return hc;
}

/* env_merge: image env, then the given one; a given KEY=... replaces the image's KEY */
static json_t *env_merge(const json_t *image_env, const json_t *env) {
  json_t *out = json_array();
  size_t i;
  json_t *v;
  json_array_foreach((json_t *)image_env, i, v) if (json_is_string(v)) json_array_append(out, v);
  json_array_foreach((json_t *)env, i, v) {
    const char *s = json_string_value(v);
    if (!s) continue;
    size_t klen = strcspn(s, "=");
    bool replaced = false;
    for (size_t j = 0; j < json_array_size(out); j++) {
      const char *o = json_string_value(json_array_get(out, j));
      if (strncmp(o, s, klen) == 0 && (o[klen] == '=' || o[klen] == '\0')) {
        json_array_set(out, j, v);
        replaced = true;
        break;
      }
    }
    if (!replaced) json_array_append(out, v);
  }
  return out;
}

static json_t *object_merge(const json_t *a, const json_t *b) {
  if (!json_is_object(a) && !json_is_object(b)) return json_null();
  json_t *out = json_is_object(a) ? json_deep_copy(a) : json_object();
  if (json_is_object(b)) json_object_update(out, (json_t *)b);
  return out;
}

static bool nonempty_array(const json_t *v) { return json_is_array(v) && json_array_size(v) > 0; }

/* merge_command: Docker's rule: an Entrypoint given resets the image's Cmd; a Cmd given keeps
 * the image's Entrypoint */
static void merge_command(json_t *cfg, const json_t *body, const json_t *img) {
  json_t *ep = json_object_get(body, "Entrypoint");
  json_t *cmd = json_object_get(body, "Cmd");
  if (json_is_string(ep)) ep = json_pack("[O]", ep);
  else ep = json_incref(ep);
  if (json_is_string(cmd)) cmd = json_pack("[O]", cmd);
  else cmd = json_incref(cmd);
  if (!nonempty_array(ep)) {
    if (!nonempty_array(cmd)) {
      json_decref(cmd);
      cmd = json_incref(json_object_get(img, "Cmd"));
    }
    if (!ep || json_is_null(ep)) {
      json_decref(ep);
      ep = json_incref(json_object_get(img, "Entrypoint"));
    }
  }
  json_object_set_new(cfg, "Cmd", cmd ? cmd : json_null());
  json_object_set_new(cfg, "Entrypoint", ep ? ep : json_null());
}

static const char *str_or(const json_t *o, const char *k, const char *def) {
  const char *s = json_string_value(json_object_get(o, k));
  return s && *s ? s : def;
}

static json_t *build_config(const json_t *body, const json_t *img, const char *short_id) {
  json_t *cfg = json_object();
  for (size_t i = 0; i < ARRAY_SIZE(config_keys); i++) {
    json_t *v = json_object_get(body, config_keys[i]);
    json_object_set(cfg, config_keys[i], v ? v : json_null());
  }
  static const char *const bools[] = {"AttachStdin", "AttachStdout", "AttachStderr", "Tty", "OpenStdin", "StdinOnce"};
  for (size_t i = 0; i < ARRAY_SIZE(bools); i++)
    json_object_set_new(cfg, bools[i], json_boolean(json_is_true(json_object_get(body, bools[i]))));
  /* a dotted Hostname stays whole: the daemon never split it (old CLIs did) */
  json_object_set_new(cfg, "Hostname", json_string(str_or(body, "Hostname", short_id)));
  json_object_set_new(cfg, "Domainname", json_string(str_or(body, "Domainname", "")));
  json_object_set_new(cfg, "User", json_string(str_or(body, "User", str_or(img, "User", ""))));
  json_object_set_new(cfg, "WorkingDir", json_string(str_or(body, "WorkingDir", str_or(img, "WorkingDir", ""))));
  json_object_set_new(cfg, "Env", env_merge(json_object_get(img, "Env"), json_object_get(body, "Env")));
  merge_command(cfg, body, img);
  json_object_set_new(cfg, "Volumes", object_merge(json_object_get(img, "Volumes"), json_object_get(body, "Volumes")));
  json_t *labels = object_merge(json_object_get(img, "Labels"), json_object_get(body, "Labels"));
  json_object_set_new(cfg, "Labels", json_is_null(labels) ? json_object() : labels);
  json_t *ports = object_merge(json_object_get(img, "ExposedPorts"), json_object_get(body, "ExposedPorts"));
  if (json_is_object(ports) && json_object_size(ports) > 0) json_object_set_new(cfg, "ExposedPorts", ports);
  else json_decref(ports);
  const char *stop = str_or(body, "StopSignal", str_or(img, "StopSignal", NULL));
  if (stop) json_object_set_new(cfg, "StopSignal", json_string(stop));
  json_t *st = json_object_get(body, "StopTimeout");
  if (json_is_integer(st)) json_object_set(cfg, "StopTimeout", st);
  const char *mac = str_or(body, "MacAddress", NULL);
  if (mac && *mac) json_object_set_new(cfg, "MacAddress", json_string(mac));
  json_t *health = health_config_merge(json_object_get(body, "Healthcheck"), json_object_get(img, "Healthcheck"));
  if (health) json_object_set_new(cfg, "Healthcheck", health);
  return cfg;
}

int ctr_create_parse(const json_t *body, const json_t *image_config, const char *short_id, struct ctr_create *out,
                     struct berth_error **err) {
  *out = (struct ctr_create){0};
  if (!json_is_object(body)) return berr(err, EINVAL, "invalid JSON: the body must be an object");
  const char *image = json_string_value(json_object_get(body, "Image"));
  if (!image || !*image) return berr(err, EINVAL, "Config.Image must be given: no image specified");
  json_t *given_hc = json_object_get(body, "HostConfig");
  if (given_hc && !json_is_object(given_hc) && !json_is_null(given_hc))
    return berr(err, EINVAL, "invalid JSON: HostConfig must be an object");
  int r = check_host_config(given_hc, err);
  if (r == 0) r = health_config_check(json_object_get(body, "Healthcheck"), err);
  if (r < 0) return r;
  /* --ip / --network-alias: only user-defined networks take them (Docker's answer too) */
  const char *k;
  json_t *ep;
  json_t *eps = json_object_get(json_object_get(body, "NetworkingConfig"), "EndpointsConfig");
  json_object_foreach(eps, k, ep) {
    if (net_mode_user(k)) continue;
    if (json_object_get(json_object_get(ep, "IPAMConfig"), "IPv4Address"))
      return berr(err, EINVAL, "user specified IP address is supported on user defined networks only");
    if (json_array_size(json_object_get(ep, "Aliases")))
      return berr(err, EINVAL, "network-scoped alias is supported only for containers in user defined networks");
  }
  json_t *cfg = build_config(body, image_config, short_id);
  json_t *argv = json_array();
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(cfg, "Entrypoint"), i, v) json_array_append(argv, v);
  json_array_foreach(json_object_get(cfg, "Cmd"), i, v) json_array_append(argv, v);
  for (i = 0; i < json_array_size(argv); i++) {
    if (!json_is_string(json_array_get(argv, i))) {
      json_decref(cfg);
      json_decref(argv);
      return berr(err, EINVAL, "invalid JSON: Cmd and Entrypoint must be lists of strings");
    }
  }
  if (json_array_size(argv) == 0) {
    json_decref(cfg);
    json_decref(argv);
    return berr(err, EINVAL, "No command specified");
  }
  out->config = cfg;
  out->host_config = host_config_with_defaults(given_hc);
  /* kept (private, not shown) until the first start or a connect writes NetworkSettings */
  if (json_object_size(eps)) json_object_set(out->host_config, "_EndpointsConfig", eps);
  if ((r = ctr_security_adapt(out->host_config, err)) < 0) {
    json_decref(argv);
    ctr_create_clear(out);
    return r;
  }
  out->path = xstrdup(json_string_value(json_array_get(argv, 0)));
  json_array_remove(argv, 0);
  out->args = argv;
  return 0;
}

const char *ctr_runtime_path(const struct daemon_config *cfg, const char *name) {
  if (!name || !*name || strcmp(name, "berth-runtime") == 0) return cfg->runtime_path;
  size_t n = strlen(name);
  for (char **r = cfg->runtimes; r && *r; r++)
    if (strncmp(*r, name, n) == 0 && (*r)[n] == '=') return *r + n + 1;
  return NULL;
}

const char *ctr_runtime_of(struct daemon *d, const char *id) {
  _cleanup_store_container_ struct store_container *c = NULL;
  if (store_container_get(d->store, id, &c, NULL) < 0) return d->cfg.runtime_path;
  _cleanup_json_ json_t *hc = json_loads(c->host_config_json, 0, NULL);
  const char *path = ctr_runtime_path(&d->cfg, json_string_value(json_object_get(hc, "Runtime")));
  return path ? path : d->cfg.runtime_path;
}

int ctr_runtime_check(const struct daemon_config *cfg, const json_t *host_config, struct berth_error **err) {
  const char *name = json_string_value(json_object_get(host_config, "Runtime"));
  if (ctr_runtime_path(cfg, name)) return 0;
  return berr(err, EINVAL, "unknown or invalid runtime name: %s", name);
}

static int64_t rfc3339_ns(const char *s) {
  struct timespec ts;
  if (!s || time_parse_rfc3339(s, &ts) < 0) return 0;
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static bool time_is_zero(const char *s) { return !s || !*s || strncmp(s, "0001-01-01", 10) == 0; }

void ctr_status_text(const struct store_container *c, int64_t now_ns, char *buf, size_t size) {
  char dur[64];
  const char *st = c->status ? c->status : "";
  if (strcmp(st, "running") == 0 || strcmp(st, "paused") == 0) {
    time_human_duration((now_ns - rfc3339_ns(c->started_at)) / 1000000000LL, dur, sizeof(dur));
    snprintf(buf, size, "Up %s%s", dur, strcmp(st, "paused") == 0 ? " (Paused)" : "");
  } else if (strcmp(st, "restarting") == 0) {
    time_human_duration((now_ns - rfc3339_ns(c->finished_at)) / 1000000000LL, dur, sizeof(dur));
    snprintf(buf, size, "Restarting (%d) %s ago", c->exit_code, dur);
  } else if (strcmp(st, "removing") == 0) {
    snprintf(buf, size, "Removal In Progress");
  } else if (strcmp(st, "dead") == 0) {
    snprintf(buf, size, "Dead");
  } else if (time_is_zero(c->started_at)) {
    snprintf(buf, size, "Created");
  } else if (time_is_zero(c->finished_at)) {
    snprintf(buf, size, "%s", "");
  } else {
    time_human_duration((now_ns - rfc3339_ns(c->finished_at)) / 1000000000LL, dur, sizeof(dur));
    snprintf(buf, size, "Exited (%d) %s ago", c->exit_code, dur);
  }
}

char *ctr_dir(struct daemon *d, const char *id) { return xasprintf("%s/containers/%s", d->cfg.data_root, id); }
char *ctr_shim_dir(struct daemon *d, const char *id) { return xasprintf("%s/shims/%s", d->cfg.exec_root, id); }
char *ctr_log_path(struct daemon *d, const char *id) {
  return xasprintf("%s/containers/%s/%s-json.log", d->cfg.data_root, id, id);
}

static json_t *loads_or(const char *s, json_t *def) {
  json_t *j = s ? json_loads(s, 0, NULL) : NULL;
  if (j) {
    json_decref(def);
    return j;
  }
  return def;
}

static json_t *state_json(const struct store_container *c) {
  const char *st = c->status;
  return json_pack("{s:s, s:b, s:b, s:b, s:b, s:b, s:i, s:i, s:s, s:s, s:s}", "Status", st, "Running",
                   strcmp(st, "running") == 0 || strcmp(st, "paused") == 0, "Paused", strcmp(st, "paused") == 0,
                   "Restarting", strcmp(st, "restarting") == 0, "OOMKilled", c->oom_killed, "Dead",
                   strcmp(st, "dead") == 0, "Pid", c->pid, "ExitCode", c->exit_code, "Error", c->error ? c->error : "",
                   "StartedAt", c->started_at, "FinishedAt", c->finished_at);
}

static const char network_defaults[] =
    "{\"Bridge\":\"\",\"SandboxID\":\"\",\"HairpinMode\":false,\"LinkLocalIPv6Address\":\"\","
    "\"LinkLocalIPv6PrefixLen\":0,\"Ports\":{},\"SandboxKey\":\"\",\"SecondaryIPAddresses\":null,"
    "\"SecondaryIPv6Addresses\":null,\"EndpointID\":\"\",\"Gateway\":\"\",\"GlobalIPv6Address\":\"\","
    "\"GlobalIPv6PrefixLen\":0,\"IPAddress\":\"\",\"IPPrefixLen\":0,\"IPv6Gateway\":\"\",\"MacAddress\":\"\","
    "\"Networks\":{}}";

static json_t *graph_driver_json(struct daemon *d, const char *dir, const char *image_id) {
  /* the storage module knows the layers' directories: LowerDir as Docker's, image's top first */
  _cleanup_image_ struct image *img = NULL;
  if (image_get(d->images, image_id, &img, NULL) == 0)
    return storage_graph_driver_json(d->storage, dir, img->chain_ids);
  const char *name = storage_driver_name(d->storage);
  json_t *data = json_null();
  if (strcmp(name, "overlay") == 0 || strcmp(name, "overlay2") == 0)
    data = json_pack("{s:s+, s:s+, s:s+}", "MergedDir", dir, "/rootfs", "UpperDir", dir, "/upper", "WorkDir", dir,
                     "/work");
  return json_pack("{s:o, s:s}", "Data", data, "Name", name);
}

/* default_path_lists: HostConfig.MaskedPaths/ReadonlyPaths as moby fills them at create for an
 * unprivileged container when the client gave none: the lists the default spec applies */
static void default_path_lists(json_t *hc) {
  static const char *const keys[][2] = {{"MaskedPaths", "maskedPaths"}, {"ReadonlyPaths", "readonlyPaths"}};
  bool priv = json_is_true(json_object_get(hc, "Privileged"));
  json_t *spec = NULL;
  for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
    if (json_is_array(json_object_get(hc, keys[i][0]))) continue;
    if (!priv && !spec) spec = oci_spec_default();
    json_t *v = priv ? NULL : json_object_get(json_object_get(spec, "linux"), keys[i][1]);
    json_object_set(hc, keys[i][0], v ? v : json_null());
  }
  json_decref(spec);
}

json_t *ctr_inspect_json(struct daemon *d, const struct store_container *c) {
  char created[64];
  struct timespec ts = {c->created_ns / 1000000000LL, c->created_ns % 1000000000LL};
  time_format_rfc3339nano(&ts, created, sizeof(created));
  _cleanup_free_ char *dir = ctr_dir(d, c->id);
  _cleanup_free_ char *log = ctr_log_path(d, c->id);
  json_t *net = loads_or(c->network_json, json_object());
  json_t *netd = json_loads(network_defaults, 0, NULL);
  json_t *hc = loads_or(c->host_config_json, json_object());
  if (!json_object_get(net, "Networks")) {
    /* created, never started: its networks without addresses, like Docker */
    char sid[13];
    snprintf(sid, sizeof(sid), "%.12s", c->id);
    json_decref(net);
    net = net_settings_created(d->net, json_string_value(json_object_get(hc, "NetworkMode")),
                               json_object_get(hc, "_EndpointsConfig"), sid);
  }
  json_object_del(hc, "_EndpointsConfig");
  /* container:X: X's hostname, hosts and resolv.conf */
  const char *etc = json_string_value(json_object_get(net, "_EtcDir"));
  _cleanup_free_ char *etc_dir = xstrdup(etc ? etc : dir);
  json_object_del(net, "_EtcDir");
  json_object_update(netd, net);
  json_decref(net);
  _cleanup_free_ char *name = xasprintf("/%s", c->name);
  json_t *j = json_pack("{s:s, s:s, s:s, s:o, s:o, s:s, s:s+, s:s+, s:s+, s:s, s:s, s:i, s:s, s:s}", "Id", c->id,
                        "Created", created, "Path", c->path, "Args", loads_or(c->args_json, json_array()), "State",
                        state_json(c), "Image", c->image_id, "ResolvConfPath", etc_dir, "/resolv.conf", "HostnamePath",
                        etc_dir, "/hostname", "HostsPath", etc_dir, "/hosts", "LogPath", log, "Name", name, "RestartCount",
                        c->restart_count, "Driver", storage_driver_name(d->storage), "Platform", "linux");
  json_object_set_new(j, "MountLabel", json_string(""));
  json_object_set_new(j, "ProcessLabel", json_string(""));
  json_object_set_new(j, "AppArmorProfile", json_string(""));
  json_object_set_new(j, "ExecIDs", exec_ids_json(d, c->id));
  json_t *health = health_inspect_json(d, c->id);
  if (health) json_object_set_new(json_object_get(j, "State"), "Health", health);
  default_path_lists(hc);
  json_object_set_new(j, "HostConfig", hc);
  json_object_set_new(j, "GraphDriver", graph_driver_json(d, dir, c->image_id));
  json_object_set_new(j, "Mounts", vol_mounts_json(dir));
  json_t *cfg = loads_or(c->config_json, json_object());
  json_object_set_new(cfg, "Image", json_string(c->image_ref));
  json_object_set_new(j, "Config", cfg);
  json_object_set_new(j, "NetworkSettings", netd);
  return j;
}

json_t *ctr_summary_json(const struct store_container *c, int64_t now_ns) {
  char status[128];
  ctr_status_text(c, now_ns, status, sizeof(status));
  struct buf cmd = {0};
  buf_puts(&cmd, c->path);
  json_t *args = loads_or(c->args_json, json_array());
  size_t i;
  json_t *v;
  json_array_foreach(args, i, v) {
    buf_putc(&cmd, ' ');
    buf_puts(&cmd, json_string_value(v) ? json_string_value(v) : "");
  }
  json_decref(args);
  json_t *cfg = loads_or(c->config_json, json_object());
  json_t *hc = loads_or(c->host_config_json, json_object());
  json_t *labels = json_object_get(cfg, "Labels");
  labels = json_is_object(labels) ? json_incref(labels) : json_object();
  const char *nm = json_string_value(json_object_get(hc, "NetworkMode"));
  json_t *j = json_pack("{s:s, s:[s+], s:s, s:s, s:s, s:I, s:[], s:o, s:s, s:s, s:{s:s}, s:{s:{}}, s:[]}", "Id", c->id,
                        "Names", "/", c->name, "Image", c->image_ref, "ImageID", c->image_id, "Command", cmd.p,
                        "Created", (json_int_t)(c->created_ns / 1000000000LL), "Ports", "Labels",
                        labels, "State", c->status, "Status", status,
                        "HostConfig", "NetworkMode", nm ? nm : "default", "NetworkSettings", "Networks", "Mounts");
  json_t *net = loads_or(c->network_json, json_object());
  if (!json_object_get(net, "Networks")) {
    json_decref(net);
    net = net_settings_created(NULL, nm, json_object_get(hc, "_EndpointsConfig"), NULL);
  }
  json_object_set_new(j, "Ports", net_ports_summary(net));
  json_t *nets = json_object_get(net, "Networks");
  if (json_is_object(nets)) json_object_set(json_object_get(j, "NetworkSettings"), "Networks", nets);
  json_decref(net);
  buf_free(&cmd);
  json_decref(cfg);
  json_decref(hc);
  return j;
}
