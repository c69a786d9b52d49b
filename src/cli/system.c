/* system.c - berth version and berth info, in docker's layouts */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "api/api.h"
#include "cli/cli.h"
#include "cli/format/format.h"
#include "common/xalloc.h"

#if defined(__x86_64__)
#define GOARCH "amd64"
#elif defined(__aarch64__)
#define GOARCH "arm64"
#elif defined(__arm__)
#define GOARCH "arm"
#elif defined(__i386__)
#define GOARCH "386"
#else
#define GOARCH "unknown"
#endif

static const char *jstr(json_t *o, const char *k) {
  json_t *v = json_object_get(o, k);
  return json_is_string(v) ? json_string_value(v) : "";
}

static long long jint(json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

/* line: " Key:" padded so values start in column 20, as docker's version template does */
static void line(const char *indent, const char *key, const char *val) {
  int n = printf("%s%s:", indent, key);
  printf("%*s%s\n", n < 20 ? 20 - n : 1, "", val);
}

static int format_json(const char *format, json_t *v, struct berth_error **err) {
  _cleanup_tmpl_ struct tmpl *t = NULL;
  _cleanup_buf_ struct buf b = {0};
  int r = tmpl_parse(format, &t, err);
  if (r == 0) r = tmpl_exec(t, v, &b, err);
  if (r < 0) return r;
  printf("%s\n", b.p ? b.p : "");
  return 0;
}

static int cmd_version(struct cli *cli, struct cli_opts *o, struct berth_error **err) {
  _cleanup_json_ json_t *srv = NULL;
  int r = cli_call(cli, "GET", "/version", NULL, &srv, NULL, err);
  const char *format = opt_str(o, "format");
  if (format) {
    if (r < 0) return r;
    _cleanup_json_ json_t *all = json_pack("{s:{s:s,s:s,s:s,s:s},s:O}", "Client", "Version", BERTH_VERSION,
                                           "ApiVersion", BERTH_API_VERSION, "Os", "linux", "Arch", GOARCH, "Server", srv);
    return format_json(format, all, err);
  }
  printf("Client:\n");
  line(" ", "Version", BERTH_VERSION);
  line(" ", "API version", BERTH_API_VERSION);
  line(" ", "Built", __DATE__ " " __TIME__);
  line(" ", "OS/Arch", "linux/" GOARCH);
  line(" ", "Context", "default");
  if (r < 0) return r;
  printf("\nServer:%s%s\n", *jstr(json_object_get(srv, "Platform"), "Name") ? " " : "",
         jstr(json_object_get(srv, "Platform"), "Name"));
  printf(" Engine:\n");
  line("  ", "Version", jstr(srv, "Version"));
  _cleanup_free_ char *api = *jstr(srv, "MinAPIVersion")
                                 ? xasprintf("%s (minimum version %s)", jstr(srv, "ApiVersion"), jstr(srv, "MinAPIVersion"))
                                 : xstrdup(jstr(srv, "ApiVersion"));
  line("  ", "API version", api);
  if (*jstr(srv, "GitCommit")) line("  ", "Git commit", jstr(srv, "GitCommit"));
  if (*jstr(srv, "BuildTime")) line("  ", "Built", jstr(srv, "BuildTime"));
  _cleanup_free_ char *osarch = xasprintf("%s/%s", jstr(srv, "Os"), jstr(srv, "Arch"));
  line("  ", "OS/Arch", osarch);
  line("  ", "Experimental", json_is_true(json_object_get(srv, "Experimental")) ? "true" : "false");
  size_t i;
  json_t *c;
  json_array_foreach(json_object_get(srv, "Components"), i, c) {
    if (strcmp(jstr(c, "Name"), "Engine") == 0) continue;
    printf(" %s:\n", jstr(c, "Name"));
    line("  ", "Version", jstr(c, "Version"));
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(c, "Details"), k, v) {
      line("  ", k, json_is_string(v) ? json_string_value(v) : "");
    }
  }
  return 0;
}

static void info_driver_status(json_t *info) {
  size_t i;
  json_t *kv;
  json_array_foreach(json_object_get(info, "DriverStatus"), i, kv) {
    printf("  %s: %s\n", json_string_value(json_array_get(kv, 0)), json_string_value(json_array_get(kv, 1)));
  }
}

static void info_plugins(json_t *info) {
  json_t *pl = json_object_get(info, "Plugins");
  if (!json_is_object(pl)) return;
  printf(" Plugins:\n");
  static const char *const kinds[] = {"Volume", "Network", "Log"};
  for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
    json_t *l = json_object_get(pl, kinds[k]);
    if (!json_is_array(l)) continue;
    printf("  %s:", kinds[k]);
    size_t i;
    json_t *v;
    json_array_foreach(l, i, v) printf(" %s", json_string_value(v));
    printf("\n");
  }
}

static void info_security(json_t *info) {
  json_t *so = json_object_get(info, "SecurityOptions");
  if (!json_array_size(so)) return;
  printf(" Security Options:\n");
  size_t i;
  json_t *v;
  json_array_foreach(so, i, v) { /* "name=seccomp,profile=default" */
    _cleanup_free_ char *s = xstrdup(json_string_value(v) ? json_string_value(v) : "");
    char *save = NULL;
    for (char *kvp = strtok_r(s, ",", &save); kvp; kvp = strtok_r(NULL, ",", &save)) {
      char *eq = strchr(kvp, '=');
      if (!eq) continue;
      *eq = 0;
      if (strcmp(kvp, "name") == 0) printf("  %s\n", eq + 1);
      else printf("   %c%s: %s\n", kvp[0] - 32 * (kvp[0] >= 'a' && kvp[0] <= 'z'), kvp + 1, eq + 1);
    }
  }
}

static void info_runtimes(json_t *info) {
  json_t *rt = json_object_get(info, "Runtimes");
  if (json_object_size(rt)) {
    printf(" Runtimes:");
    const char *k;
    json_t *v;
    json_object_foreach(rt, k, v) printf(" %s", k);
    printf("\n");
  }
  if (*jstr(info, "DefaultRuntime")) printf(" Default Runtime: %s\n", jstr(info, "DefaultRuntime"));
  if (*jstr(info, "InitBinary")) printf(" Init Binary: %s\n", jstr(info, "InitBinary"));
  /* docker prints these three whenever the daemon sends them, empty IDs included */
  static const struct {
    const char *name, *key;
  } commits[] = {{"containerd", "ContainerdCommit"}, {"runc", "RuncCommit"}, {"init", "InitCommit"}};
  for (size_t i = 0; i < ARRAY_SIZE(commits); i++) {
    json_t *c = json_object_get(info, commits[i].key);
    if (!json_is_object(c)) continue;
    printf(" %s version: %s", commits[i].name, jstr(c, "ID"));
    if (strcmp(jstr(c, "ID"), jstr(c, "Expected")) != 0) printf(" (expected: %s)", jstr(c, "Expected"));
    printf("\n");
  }
}

/* info_warnings: the daemon's warnings about this host, on stderr after the report as docker does */
static void info_warnings(json_t *info) {
  size_t i;
  json_t *w;
  json_array_foreach(json_object_get(info, "Warnings"), i, w) {
    if (json_is_string(w)) fprintf(stderr, "%s\n", json_string_value(w));
  }
}

static void info_server(json_t *info) {
  printf(" Containers: %lld\n  Running: %lld\n  Paused: %lld\n  Stopped: %lld\n", jint(info, "Containers"),
         jint(info, "ContainersRunning"), jint(info, "ContainersPaused"), jint(info, "ContainersStopped"));
  printf(" Images: %lld\n", jint(info, "Images"));
  printf(" Server Version: %s\n", jstr(info, "ServerVersion"));
  printf(" Storage Driver: %s\n", jstr(info, "Driver"));
  info_driver_status(info);
  printf(" Logging Driver: %s\n", jstr(info, "LoggingDriver"));
  printf(" Cgroup Driver: %s\n", jstr(info, "CgroupDriver"));
  if (*jstr(info, "CgroupVersion")) printf(" Cgroup Version: %s\n", jstr(info, "CgroupVersion"));
  info_plugins(info);
  json_t *swarm = json_object_get(info, "Swarm");
  if (*jstr(swarm, "LocalNodeState")) printf(" Swarm: %s\n", jstr(swarm, "LocalNodeState"));
  info_runtimes(info);
  info_security(info);
  printf(" Kernel Version: %s\n", jstr(info, "KernelVersion"));
  printf(" Operating System: %s\n", jstr(info, "OperatingSystem"));
  printf(" OSType: %s\n", jstr(info, "OSType"));
  printf(" Architecture: %s\n", jstr(info, "Architecture"));
  printf(" CPUs: %lld\n", jint(info, "NCPU"));
  char mem[32];
  fmt_bytes_size((double)jint(info, "MemTotal"), mem, sizeof(mem));
  printf(" Total Memory: %s\n", mem);
  printf(" Name: %s\n", jstr(info, "Name"));
  printf(" ID: %s\n", jstr(info, "ID"));
  printf(" Docker Root Dir: %s\n", jstr(info, "DockerRootDir"));
  printf(" Debug Mode: %s\n", json_is_true(json_object_get(info, "Debug")) ? "true" : "false");
  printf(" Experimental: %s\n", json_is_true(json_object_get(info, "ExperimentalBuild")) ? "true" : "false");
  json_t *insecure = json_object_get(json_object_get(info, "RegistryConfig"), "InsecureRegistryCIDRs");
  if (json_array_size(insecure)) {
    printf(" Insecure Registries:\n");
    size_t i;
    json_t *v;
    json_array_foreach(insecure, i, v) printf("  %s\n", json_string_value(v));
  }
  printf(" Live Restore Enabled: %s\n", json_is_true(json_object_get(info, "LiveRestoreEnabled")) ? "true" : "false");
}

static int cmd_info(struct cli *cli, struct cli_opts *o, struct berth_error **err) {
  _cleanup_json_ json_t *info = NULL;
  int r = cli_call(cli, "GET", "/info", NULL, &info, NULL, err);
  const char *format = opt_str(o, "format");
  if (format) return r < 0 ? r : format_json(format, info, err);
  printf("Client:\n Version:    %s\n Context:    default\n Debug Mode: false\n\nServer:\n", BERTH_VERSION);
  if (r < 0) {
    printf("ERROR: %s\nerrors pretty printing info\n", berr_msg(*err));
    berr_clear(err);
    return -EIO;
  }
  info_server(info);
  printf("\n");
  fflush(stdout);
  info_warnings(info);
  return 0;
}

static const struct cli_flag version_flags[] = {
    {'f', "format", FLAG_STRING, "Format the output using the given Go template", "string"},
};
static const struct cli_flag info_flags[] = {
    {'f', "format", FLAG_STRING, "Format the output using the given Go template", "string"},
};

const struct cli_cmd cli_system_cmds[] = {
    {"info", "[OPTIONS]", "Display system-wide information", cmd_info, CMD_FLAGS(info_flags), 0, 0, false, 1},
    {"version", "[OPTIONS]", "Show the Docker version information", cmd_version, CMD_FLAGS(version_flags), 0, 0, false, 1},
};
const size_t cli_system_ncmds = ARRAY_SIZE(cli_system_cmds);
