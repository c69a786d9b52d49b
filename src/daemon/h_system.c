/* h_system.c - GET|HEAD /_ping, GET /version, GET /info */
#include "api/api.h"
#include "common/fs.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "daemon/daemon.h"
#include "image/image.h"
#include "storage/storage.h"
#include <errno.h>
#include <microhttpd.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

int h_ping(struct req *r, struct reply *out, struct berth_error **err) {
  out->resp = MHD_create_response_from_buffer(2, (void *)"OK", MHD_RESPMEM_PERSISTENT);
  MHD_add_response_header(out->resp, "Content-Type", "text/plain; charset=utf-8");
  MHD_add_response_header(out->resp, "Cache-Control", "no-cache, no-store, must-revalidate");
  MHD_add_response_header(out->resp, "Pragma", "no-cache");
  /* clients pick their builder from this: "1" is the classic one (berth has no BuildKit) */
  MHD_add_response_header(out->resp, "Builder-Version", "1");
  MHD_add_response_header(out->resp, "Swarm", "inactive");
  return 0;
}

/* goarch: Docker names architectures as Go does */
static const char *goarch(const char *machine) {
  static const struct {
    const char *uname, *go;
  } t[] = {{"x86_64", "amd64"}, {"aarch64", "arm64"}, {"armv7l", "arm"}, {"armv6l", "arm"},
           {"i686", "386"},     {"i386", "386"},      {"ppc64le", "ppc64le"}, {"s390x", "s390x"}};
  for (size_t i = 0; i < ARRAY_SIZE(t); i++)
    if (strcmp(machine, t[i].uname) == 0) return t[i].go;
  return machine;
}

int h_version(struct req *r, struct reply *out, struct berth_error **err) {
  struct utsname u;
  uname(&u);
  const char *arch = goarch(u.machine);
  json_t *details = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "ApiVersion", BERTH_API_VERSION, "Arch",
                              arch, "BuildTime", __DATE__ " " __TIME__, "Experimental", "false", "GitCommit", "",
                              "KernelVersion", u.release, "MinAPIVersion", BERTH_API_MIN_VERSION, "Os", "linux");
  /* docker version lists each component (docker's are containerd, runc, docker-init) */
  out->json = json_pack("{s:{s:s}, s:[{s:s, s:s, s:o}, {s:s, s:s, s:{s:s}}, {s:s, s:s, s:{s:s}}], s:s, s:s, s:s, "
                        "s:s, s:s, s:s, s:s, s:s, s:s}",
                        "Platform", "Name", "Berth Engine", "Components", "Name", "Engine", "Version", BERTH_VERSION,
                        "Details", details, "Name", "berth-runtime", "Version", BERTH_VERSION, "Details", "GitCommit",
                        "", "Name", "berth-init", "Version", BERTH_VERSION, "Details", "GitCommit", "", "Version",
                        BERTH_VERSION, "ApiVersion", BERTH_API_VERSION, "MinAPIVersion", BERTH_API_MIN_VERSION,
                        "GitCommit", "", "GoVersion", "", "Os", "linux", "Arch", arch, "KernelVersion", u.release,
                        "BuildTime", __DATE__ " " __TIME__);
  return 0;
}

/* os_pretty_name: PRETTY_NAME of /etc/os-release, unquoted */
static char *os_pretty_name(void) {
  _cleanup_free_ char *text = NULL;
  _cleanup_berr_ struct berth_error *e = NULL;
  if (read_file("/etc/os-release", &text, NULL, &e) < 0) return xstrdup("Linux");
  for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    if (strncmp(l, "PRETTY_NAME=", 12) != 0) continue;
    char *v = l + 12;
    size_t n = strlen(v);
    if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) return xstrndup(v + 1, n - 2);
    return xstrdup(v);
  }
  return xstrdup("Linux");
}

struct counts {
  int total, running, paused, stopped;
};

static int count_containers(struct daemon *d, struct counts *c, struct berth_error **err) {
  struct store_container **list = NULL;
  int r = store_container_list(d->store, &list, err);
  if (r < 0) return r;
  *c = (struct counts){0};
  for (size_t i = 0; list[i]; i++) {
    const char *st = list[i]->status;
    c->total++;
    if (strcmp(st, "running") == 0 || strcmp(st, "restarting") == 0) c->running++;
    else if (strcmp(st, "paused") == 0) c->paused++;
    else c->stopped++;
  }
  store_container_list_free(list);
  return 0;
}

static bool cgroup_v2(void) { return access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0; }

/* switch_on: a /proc/sys switch reads "1" (a missing file, e.g. br_netfilter not loaded, is off) */
static bool switch_on(const char *path) {
  _cleanup_free_ char *text = NULL;
  _cleanup_berr_ struct berth_error *e = NULL;
  return read_file(path, &text, NULL, &e) == 0 && text[0] == '1';
}

/* info_features: the kernel features Docker reports, as they are on this host, and moby's
 * warnings for the missing ones (docker 28 prints Warnings; 20.10 derives the same lines) */
static void info_features(json_t *j) {
  bool v2 = cgroup_v2();
  const struct {
    const char *key;
    bool on;
    const char *warning;
  } t[] = {
      {"MemoryLimit", true, NULL},
      /* without swap accounting (no memsw) the runtime drops swap limits, as runc does */
      {"SwapLimit", v2 || access("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", F_OK) == 0,
       "WARNING: No swap limit support"},
      /* kmem limits are ignored by the kernel since 5.16 and never written (runc 1.1 neither) */
      {"KernelMemory", false, NULL},
      {"KernelMemoryTCP", !v2 && access("/sys/fs/cgroup/memory/memory.kmem.tcp.limit_in_bytes", F_OK) == 0, NULL},
      {"CpuCfsPeriod", true, NULL},
      {"CpuCfsQuota", true, NULL},
      {"CPUShares", true, NULL},
      {"CPUSet", true, NULL},
      {"PidsLimit", true, NULL},
      {"OomKillDisable", !v2, NULL},
      {"IPv4Forwarding", switch_on("/proc/sys/net/ipv4/ip_forward"), "WARNING: IPv4 forwarding is disabled"},
      {"BridgeNfIptables", switch_on("/proc/sys/net/bridge/bridge-nf-call-iptables"),
       "WARNING: bridge-nf-call-iptables is disabled"},
      {"BridgeNfIp6tables", switch_on("/proc/sys/net/bridge/bridge-nf-call-ip6tables"),
       "WARNING: bridge-nf-call-ip6tables is disabled"},
  };
  json_t *warnings = json_array();
  for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
    json_object_set_new(j, t[i].key, json_boolean(t[i].on));
    if (!t[i].on && t[i].warning) json_array_append_new(warnings, json_string(t[i].warning));
  }
  json_object_set_new(j, "Warnings", json_array_size(warnings) ? warnings : json_null());
  if (!json_array_size(warnings)) json_decref(warnings);
}

static json_t *info_plugins(void) {
  return json_pack("{s:[s], s:[s,s,s], s:n, s:[s,s]}", "Volume", "local", "Network", "bridge", "host", "none",
                   "Authorization", "Log", "json-file", "none");
}

static json_t *info_registry(struct daemon *d) {
  /* loopback registries are plain HTTP, as Docker treats 127.0.0.0/8 */
  return json_pack("{s:[], s:[], s:[s], s:{s:{s:s, s:[], s:b, s:b}}, s:[]}", "AllowNondistributableArtifactsCIDRs",
                   "AllowNondistributableArtifactsHostnames", "InsecureRegistryCIDRs", "127.0.0.0/8", "IndexConfigs",
                   "docker.io", "Name", "docker.io", "Mirrors", "Secure", 1, "Official", 1, "Mirrors");
}

/* info_versions: the commits docker info shows as "containerd/runc/init version" (berth has no
 * containerd; its runtime and init are built with the daemon), the runtimes, and Swarm, which is off */
static void info_versions(struct daemon *d, json_t *j) {
  json_object_set_new(j, "ContainerdCommit", json_pack("{s:s, s:s}", "ID", "", "Expected", ""));
  json_object_set_new(j, "RuncCommit", json_pack("{s:s, s:s}", "ID", BERTH_VERSION, "Expected", BERTH_VERSION));
  json_object_set_new(j, "InitCommit", json_pack("{s:s, s:s}", "ID", BERTH_VERSION, "Expected", BERTH_VERSION));
  json_object_set_new(j, "InitBinary", json_string("berth-init"));
  /* the default runtime and those of --add-runtime NAME=PATH */
  json_t *rts = json_object_get(j, "Runtimes");
  for (char **rt = d->cfg.runtimes; rt && *rt; rt++) {
    const char *eq = strchr(*rt, '=');
    if (!eq) continue;
    _cleanup_free_ char *name = xstrndup(*rt, (size_t)(eq - *rt));
    json_object_set_new(rts, name, json_pack("{s:s}", "path", eq + 1));
  }
  json_object_set_new(j, "Swarm", json_pack("{s:s, s:s, s:s, s:b, s:s, s:n}", "NodeID", "", "NodeAddr", "",
                                            "LocalNodeState", "inactive", "ControlAvailable", 0, "Error", "",
                                            "RemoteManagers"));
}

int h_info(struct req *r, struct reply *out, struct berth_error **err) {
  struct daemon *d = r->d;
  struct counts c;
  int64_t nimages = 0;
  int rc = count_containers(d, &c, err);
  if (rc == 0) rc = image_count(d->images, &nimages, err);
  if (rc < 0) return rc;
  struct utsname u;
  uname(&u);
  struct sysinfo si;
  sysinfo(&si);
  char host[256] = "";
  gethostname(host, sizeof(host) - 1);
  char now[64];
  time_now_rfc3339nano(now, sizeof(now));
  _cleanup_free_ char *os = os_pretty_name();
  const char *index = d->cfg.default_registry ? d->cfg.default_registry : "https://index.docker.io/v1/";
  json_t *j = json_pack("{s:s, s:i, s:i, s:i, s:i, s:I, s:s, s:[[s,s]], s:s, s:o}", "ID", d->id, "Containers",
                        c.total, "ContainersRunning", c.running, "ContainersPaused", c.paused, "ContainersStopped",
                        c.stopped, "Images", (json_int_t)nimages, "Driver", storage_driver_name(d->storage),
                        "DriverStatus", "Backing Filesystem", storage_backing_fs(d->storage), "DockerRootDir",
                        d->cfg.data_root, "Plugins", info_plugins());
  info_features(j);
  json_t *k = json_pack("{s:b, s:i, s:i, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:i, s:I}",
                "Debug", 0, "NFd", 0, "NGoroutines", 0, "SystemTime", now, "LoggingDriver", "json-file", "CgroupDriver",
                cgroup_v2() ? "systemd" : "cgroupfs", "CgroupVersion", cgroup_v2() ? "2" : "1", "NEventsListener", 0,
                "KernelVersion", u.release, "OperatingSystem", os, "OSVersion", "", "OSType", "linux", "Architecture",
                u.machine, "IndexServerAddress", index, "RegistryConfig", info_registry(d), "NCPU",
                (int)sysconf(_SC_NPROCESSORS_ONLN), "MemTotal", (json_int_t)si.totalram * si.mem_unit);
  json_object_update(j, k);
  json_decref(k);
  k = json_pack("{s:n, s:s, s:s, s:s, s:s, s:[], s:b, s:s, s:{s:{s:s}}, s:s, s:b, s:s, s:[s]}",
                "GenericResources", "HttpProxy", "", "HttpsProxy", "", "NoProxy", "", "Name", host, "Labels",
                "ExperimentalBuild", 0, "ServerVersion", BERTH_VERSION, "Runtimes", "berth-runtime", "path",
                d->cfg.runtime_path, "DefaultRuntime", "berth-runtime", "LiveRestoreEnabled", 1, "Isolation", "",
                "SecurityOptions", "name=seccomp,profile=default");
  json_object_update(j, k);
  json_decref(k);
  info_versions(d, j);
  out->json = j;
  return 0;
}
